// Matmul reading GPTQ-packed weights directly (no dequantized copy of the matrix):
//   y[m, n] = sum_k x[m, col(k)] * scale[g, n] * (q[k, n] - zero[g, n])   (+ bias) (+ y)
// Weights are in "kernel order": column k of a row's packed stream is input column col(k) = xidx[k] (the
// act-order permutation; identity without the flag), and groups are G consecutive columns, G % 32 == 0.
// A chunk of 32 columns thus lies in one group, and its scale and zero leave the inner loop:
//   acc[n] += scale[n] * (sum_k x[k] q[k, n] - zero[n] * sum_k x[k])
// q[k, n]: bits [BITS*k, BITS*k + BITS) of row n's stream in qweight [K*BITS/32, N]; a chunk is BITS words,
// decoded 8 codes at a time (8*BITS bits: one word for 2 and 4 bits, a straddled word pair for 3, two words
// for 8). Zeros: packed qzeros (+ zeroOffset for checkpoint_format "gptq"); scales: f16 pairs.
// Each invocation computes 4 rows (m) x 4 outputs (n): acc_i holds row m0+i for outputs n0..n0+3.

struct Params {
  M: u32,
  N: u32,       // rows of the weight (out features)
  K: u32,       // cols (in features), multiple of 32
  G: u32,       // columns per group, multiple of 32
  zwords: u32,  // words per qzeros row
  zeroOffset: u32,
  flags: u32,   // bit 0 bias, bit 1 accumulate, bit 2 permuted input (xidx)
  _pad: u32,
}

override BITS: u32 = 4u;
override MASK: u32 = (1u << BITS) - 1u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> qweight: array<u32>;
@group(0) @binding(3) var<storage, read> qzeros: array<u32>;
@group(0) @binding(4) var<storage, read> scales: array<u32>; // f16 pairs
@group(0) @binding(5) var<storage, read> xidx: array<u32>;
@group(0) @binding(6) var<storage, read> bias: array<f32>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;
// gemv4: the same buffers seen as vec4s (4 adjacent outputs per load)
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> qweight4: array<vec4<u32>>;
@group(0) @binding(7) var<storage, read_write> y4: array<vec4<f32>>;

struct Eight {
  a: vec4<f32>,
  b: vec4<f32>,
}

fn zero_code(g: u32, n: u32) -> u32 {
  let bit = BITS * n;
  let w = g * p.zwords + (bit >> 5u);
  let s = bit & 31u;
  var v = qzeros[w] >> s;
  if (s + BITS > 32u) { v |= qzeros[w + 1u] << (32u - s); }
  return v & MASK;
}

fn scale_at(i: u32) -> f32 {
  let pair = unpack2x16float(scales[i >> 1u]);
  return select(pair.x, pair.y, (i & 1u) == 1u);
}

/** Codes 8i .. 8i+7 of the chunk whose first word is `wbase`, for output row n. */
fn codes8(n: u32, wbase: u32, i: u32) -> Eight {
  let sh = vec4<u32>(0u, 1u, 2u, 3u) * BITS;
  if (BITS == 8u) {
    let w0 = qweight[(wbase + 2u * i) * p.N + n];
    let w1 = qweight[(wbase + 2u * i + 1u) * p.N + n];
    return Eight(vec4<f32>((vec4<u32>(w0) >> sh) & vec4<u32>(255u)), vec4<f32>((vec4<u32>(w1) >> sh) & vec4<u32>(255u)));
  }
  let start = 8u * BITS * i;
  let w = start >> 5u;
  let s = start & 31u;
  var v = qweight[(wbase + w) * p.N + n] >> s;
  if (s + 8u * BITS > 32u) { v |= qweight[(wbase + w + 1u) * p.N + n] << ((32u - s) & 31u); }
  let m = vec4<u32>(MASK);
  return Eight(vec4<f32>((vec4<u32>(v) >> sh) & m), vec4<f32>((vec4<u32>(v >> ((4u * BITS) & 31u)) >> sh) & m));
}

/** Inputs k .. k+7 of row m (through xidx when the input is permuted). */
fn inputs8(m: u32, k: u32) -> Eight {
  let o = m * p.K;
  if ((p.flags & 4u) != 0u) {
    return Eight(vec4<f32>(x[o + xidx[k]], x[o + xidx[k + 1u]], x[o + xidx[k + 2u]], x[o + xidx[k + 3u]]),
                 vec4<f32>(x[o + xidx[k + 4u]], x[o + xidx[k + 5u]], x[o + xidx[k + 6u]], x[o + xidx[k + 7u]]));
  }
  return Eight(vec4<f32>(x[o + k], x[o + k + 1u], x[o + k + 2u], x[o + k + 3u]),
               vec4<f32>(x[o + k + 4u], x[o + k + 5u], x[o + k + 6u], x[o + k + 7u]));
}

fn dot8(a: Eight, b: Eight) -> f32 {
  return dot(a.a, b.a) + dot(a.b, b.b);
}

fn sum8(a: Eight) -> f32 {
  return dot(a.a + a.b, vec4<f32>(1.0));
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  if (n0 >= p.N || m0 >= p.M) { return; }
  let n1 = min(n0 + 1u, p.N - 1u);
  let n2 = min(n0 + 2u, p.N - 1u);
  let n3 = min(n0 + 3u, p.N - 1u);
  let r0 = m0;
  let r1 = min(m0 + 1u, p.M - 1u);
  let r2 = min(m0 + 2u, p.M - 1u);
  let r3 = min(m0 + 3u, p.M - 1u);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var kc = 0u; kc < p.K; kc += 32u) {
    let wbase = (kc / 32u) * BITS;
    var d0 = vec4<f32>(0.0);
    var d1 = vec4<f32>(0.0);
    var d2 = vec4<f32>(0.0);
    var d3 = vec4<f32>(0.0);
    var xs = vec4<f32>(0.0); // sum of this chunk's inputs, per row
    for (var i = 0u; i < 4u; i++) {
      let k = kc + 8u * i;
      let c0 = codes8(n0, wbase, i);
      let c1 = codes8(n1, wbase, i);
      let c2 = codes8(n2, wbase, i);
      let c3 = codes8(n3, wbase, i);
      let x0 = inputs8(r0, k);
      let x1 = inputs8(r1, k);
      let x2 = inputs8(r2, k);
      let x3 = inputs8(r3, k);
      d0 += vec4<f32>(dot8(x0, c0), dot8(x0, c1), dot8(x0, c2), dot8(x0, c3));
      d1 += vec4<f32>(dot8(x1, c0), dot8(x1, c1), dot8(x1, c2), dot8(x1, c3));
      d2 += vec4<f32>(dot8(x2, c0), dot8(x2, c1), dot8(x2, c2), dot8(x2, c3));
      d3 += vec4<f32>(dot8(x3, c0), dot8(x3, c1), dot8(x3, c2), dot8(x3, c3));
      xs += vec4<f32>(sum8(x0), sum8(x1), sum8(x2), sum8(x3));
    }
    let g = kc / p.G;
    let s = vec4<f32>(scale_at(g * p.N + n0), scale_at(g * p.N + n1), scale_at(g * p.N + n2), scale_at(g * p.N + n3));
    let z = vec4<f32>(vec4<u32>(zero_code(g, n0), zero_code(g, n1), zero_code(g, n2), zero_code(g, n3)) + vec4<u32>(p.zeroOffset));
    acc0 += s * (d0 - z * xs.x);
    acc1 += s * (d1 - z * xs.y);
    acc2 += s * (d2 - z * xs.z);
    acc3 += s * (d3 - z * xs.w);
  }
  store(m0, n0, acc0);
  store(m0 + 1u, n0, acc1);
  store(m0 + 2u, n0, acc2);
  store(m0 + 3u, n0, acc3);
}

fn store(m: u32, n0: u32, v: vec4<f32>) {
  if (m >= p.M) { return; }
  for (var c = 0u; c < 4u; c++) {
    let n = n0 + c;
    if (n >= p.N) { return; }
    var r = v[c];
    if ((p.flags & 1u) != 0u) { r += bias[n]; }
    let o = m * p.N + n;
    if ((p.flags & 2u) != 0u) { r += y[o]; }
    y[o] = r;
  }
}

// ---- GEMV (one token, M = 1): 32 outputs per workgroup along x (coalesced qweight rows), KSLICES slices of
// the K chunks along y, partial sums reduced in workgroup memory. The decode-time kernel.
override KSLICES: u32 = 8u;
var<workgroup> partial: array<f32, 1024>;

@compute @workgroup_size(32, KSLICES)
fn gemv(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let n = wg.x * 32u + lid.x;
  let nc = min(n, p.N - 1u);
  var acc = 0.0;
  for (var c = lid.y; c < p.K / 32u; c += KSLICES) {
    let kc = c * 32u;
    let wbase = c * BITS;
    var d = 0.0;
    var xs = 0.0;
    for (var i = 0u; i < 4u; i++) {
      let xv = inputs8(0u, kc + 8u * i);
      d += dot8(xv, codes8(nc, wbase, i));
      xs += sum8(xv);
    }
    let g = kc / p.G;
    acc += scale_at(g * p.N + nc) * (d - f32(zero_code(g, nc) + p.zeroOffset) * xs);
  }
  partial[lid.y * 32u + lid.x] = acc;
  workgroupBarrier();
  if (lid.y == 0u && n < p.N) {
    var s = 0.0;
    for (var j = 0u; j < KSLICES; j++) { s += partial[j * 32u + lid.x]; }
    if ((p.flags & 1u) != 0u) { s += bias[n]; }
    if ((p.flags & 2u) != 0u) { s += y[n]; }
    y[n] = s;
  }
}

// ---- GEMV with 4 adjacent outputs per invocation (N % 4 == 0): each qweight load is a vec4<u32> (one word of
// 4 rows' streams), and the codes of the 4 rows sit at the same bit positions, so decoding and FMAs are vec4
// operations; the chunk's 32 inputs are loaded once for all 4 outputs. 32 invocations x 4 = 128 outputs per
// workgroup along x; KSLICES slices of the K chunks along y, reduced in workgroup memory.
var<workgroup> partial4: array<vec4<f32>, 1024>;

fn chunk4(n0: u32, c: u32, xs: array<f32, 32>, xsum: f32) -> vec4<f32> {
  let wbase = c * BITS;
  var words: array<vec4<u32>, 8>;
  for (var w = 0u; w < BITS; w++) { words[w] = qweight4[((wbase + w) * p.N + n0) / 4u]; }
  var d = vec4<f32>(0.0);
  for (var j = 0u; j < 32u; j++) {
    let bit = BITS * j;
    let w = bit >> 5u;
    let s = bit & 31u;
    var v = words[w] >> vec4<u32>(s);
    if (s + BITS > 32u) { v |= words[w + 1u] << vec4<u32>((32u - s) & 31u); }
    d += xs[j] * vec4<f32>(v & vec4<u32>(MASK));
  }
  let g = (c * 32u) / p.G;
  let sc = vec4<f32>(scale_at(g * p.N + n0), scale_at(g * p.N + n0 + 1u), scale_at(g * p.N + n0 + 2u), scale_at(g * p.N + n0 + 3u));
  let zr = vec4<f32>(vec4<u32>(zero_code(g, n0), zero_code(g, n0 + 1u), zero_code(g, n0 + 2u), zero_code(g, n0 + 3u)) + vec4<u32>(p.zeroOffset));
  return sc * (d - zr * xsum);
}

fn gemv4_finish(lid: vec3<u32>, n0: u32, acc: vec4<f32>) {
  partial4[lid.y * 32u + lid.x] = acc;
  workgroupBarrier();
  if (lid.y == 0u && n0 < p.N) {
    var s = vec4<f32>(0.0);
    for (var j = 0u; j < KSLICES; j++) { s += partial4[j * 32u + lid.x]; }
    if ((p.flags & 1u) != 0u) { s += vec4<f32>(bias[n0], bias[n0 + 1u], bias[n0 + 2u], bias[n0 + 3u]); }
    if ((p.flags & 2u) != 0u) { s += y4[n0 / 4u]; }
    y4[n0 / 4u] = s;
  }
}

@compute @workgroup_size(32, KSLICES)
fn gemv4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let n0 = min((wg.x * 32u + lid.x) * 4u, p.N - 4u);
  var acc = vec4<f32>(0.0);
  for (var c = lid.y; c < p.K / 32u; c += KSLICES) {
    var xs: array<f32, 32>;
    var xsum = 0.0;
    for (var q = 0u; q < 8u; q++) {
      let v = x4[c * 8u + q];
      xs[4u * q] = v.x;
      xs[4u * q + 1u] = v.y;
      xs[4u * q + 2u] = v.z;
      xs[4u * q + 3u] = v.w;
      xsum += v.x + v.y + v.z + v.w;
    }
    acc += chunk4(n0, c, xs, xsum);
  }
  gemv4_finish(lid, (wg.x * 32u + lid.x) * 4u, acc);
}

@compute @workgroup_size(32, KSLICES)
fn gemv4_perm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let n0 = min((wg.x * 32u + lid.x) * 4u, p.N - 4u);
  var acc = vec4<f32>(0.0);
  for (var c = lid.y; c < p.K / 32u; c += KSLICES) {
    var xs: array<f32, 32>;
    var xsum = 0.0;
    for (var j = 0u; j < 32u; j++) {
      let v = x[xidx[c * 32u + j]];
      xs[j] = v;
      xsum += v;
    }
    acc += chunk4(n0, c, xs, xsum);
  }
  gemv4_finish(lid, (wg.x * 32u + lid.x) * 4u, acc);
}
