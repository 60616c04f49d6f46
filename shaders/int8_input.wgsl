// An experiment, run only by the benchmark (quantlab bench --i8-experiment; docs/experiments.md, "int8
// inputs"): the 4-bit GEMV on an input rounded to int8. quantize_x8 turns the input into int8 per 32-column
// chunk (absmax scale), 12 words per chunk: words 2w and 2w + 1 hold inputs 8w + 2j and 8w + 2j + 1 (j = 0..3,
// a byte each), the lanes that a 4-bit word's even and odd nibbles meet under dot4I8Packed; word 8 the chunk's
// sum of int8 inputs, word 9 its scale. gemv4_i8 (BITS = 4) then sums code * input in integers, 2 dot4I8Packed
// per word and output. It reuses the packed GEMV's bindings, readers and workgroup sums (qgemv.wgsl, below
// this file's last line once included); chunk_i8's up-projection copy reads the up projection's bindings.
// @include qgemv
// @clone _up chunk_i8 zeros4 qzeros scales4
@group(0) @binding(7) var<storage, read_write> xqw: array<u32>;
@group(0) @binding(1) var<storage, read> xq4: array<vec4<u32>>;

@compute @workgroup_size(64)
fn quantize_x8(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.K / 32u) { return; }
  var m = 0.0;
  for (var i = 0u; i < 32u; i++) { m = max(m, abs(x[c * 32u + i])); }
  let inv = select(0.0, 127.0 / m, m > 0.0);
  var sum = 0i;
  for (var w = 0u; w < 4u; w++) {
    var e = 0u;
    var o = 0u;
    for (var j = 0u; j < 4u; j++) {
      let qe = i32(round(x[c * 32u + 8u * w + 2u * j] * inv));
      let qo = i32(round(x[c * 32u + 8u * w + 2u * j + 1u] * inv));
      sum += qe + qo;
      e |= (bitcast<u32>(qe) & 0xFFu) << (8u * j);
      o |= (bitcast<u32>(qo) & 0xFFu) << (8u * j);
    }
    xqw[c * 12u + 2u * w] = e;
    xqw[c * 12u + 2u * w + 1u] = o;
  }
  xqw[c * 12u + 8u] = bitcast<u32>(sum);
  xqw[c * 12u + 9u] = bitcast<u32>(m / 127.0);
}

fn chunk_i8(n0: u32, c: u32, words: array<vec4<u32>, 8>) -> vec4<f32> {
  let a = xq4[c * 3u];
  let b = xq4[c * 3u + 1u];
  let t = xq4[c * 3u + 2u];
  let xs = array<u32, 8>(a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w);
  let g = (c * 32u) / p.G;
  let z = zeros4(g, n0);
  let sp = scales4[(g * p.N + n0) / 4u];
  let sc = vec4<f32>(unpack2x16float(sp.x), unpack2x16float(sp.y)) * bitcast<f32>(t.y);
  var d = vec4<i32>(0);
  for (var w = 0u; w < 4u; w++) {
    let u = words[w];
    let lo = u & vec4<u32>(0x0F0F0F0Fu);
    let hi = (u >> vec4<u32>(4u)) & vec4<u32>(0x0F0F0F0Fu);
    d += vec4<i32>(dot4I8Packed(lo.x, xs[2u * w]), dot4I8Packed(lo.y, xs[2u * w]), dot4I8Packed(lo.z, xs[2u * w]), dot4I8Packed(lo.w, xs[2u * w]))
       + vec4<i32>(dot4I8Packed(hi.x, xs[2u * w + 1u]), dot4I8Packed(hi.y, xs[2u * w + 1u]), dot4I8Packed(hi.z, xs[2u * w + 1u]), dot4I8Packed(hi.w, xs[2u * w + 1u]));
  }
  return sc * (vec4<f32>(d) - z * f32(bitcast<i32>(t.x)));
}

// gemv4's loop with the int8 decode (WGSL cannot pass the decode as a parameter; see gemv4_perm)
@compute @workgroup_size(XW, KSLICES)
fn gemv4_i8(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let n0 = min((wg.x * XW + lid.x) * 4u, p.N - 4u);
  let chunks = p.K / 32u;
  var acc = vec4<f32>(0.0);
  var c = lid.y;
  for (; c + KSLICES < chunks; c += 2u * KSLICES) {
    let wa = words4(n0, c);
    let wb = words4(n0, c + KSLICES);
    acc += chunk_i8(n0, c, wa) + chunk_i8(n0, c + KSLICES, wb);
  }
  if (c < chunks) { acc += chunk_i8(n0, c, words4(n0, c)); }
  gemv4_finish(lid, (wg.x * XW + lid.x) * 4u, acc);
}

// gemv4_swiglu on an int8 input (experiment)
@compute @workgroup_size(XW, KSLICES)
fn gemv4_swiglu_i8(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let n0 = min((wg.x * XW + lid.x) * 4u, p.N - 4u);
  var gate = vec4<f32>(0.0);
  var up = vec4<f32>(0.0);
  for (var c = lid.y; c < p.K / 32u; c += KSLICES) {
    let wgate = words4(n0, c);
    let wup = words4_up(n0, c);
    gate += chunk_i8(n0, c, wgate);
    up += chunk_i8_up(n0, c, wup);
  }
  gemv4_swiglu_finish(wg, lid, gate, up);
}
