// Packing into the GPTQModel / AutoGPTQ checkpoint format. Each column's codes form one little-endian
// bitstream of `bits`-bit values in 32-bit words (for 3 bits, 32 values in 3 words, crossing word edges):
//   qweight [cols * bits / 32, rows]   packed along the input dim (cols), one stream per output row
//   qzeros  [groups, ceil(rows * bits / 32)]  packed along the output dim; v1 ("gptq") stores zero - 1
//   scales  [groups, rows] f16, two per u32 word (pack2x16float)

struct Params {
  rows: u32,
  cols: u32,
  bits: u32,
  groups: u32,
  zeroOffset: u32, // 1 for checkpoint_format "gptq" (v1), 0 for "gptq_v2"
  words: u32,      // words per stream
  _a: u32,
  _b: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> codes: array<u32>;   // [rows, cols]
@group(0) @binding(2) var<storage, read_write> qweight: array<u32>;
@group(0) @binding(1) var<storage, read> zeros: array<f32>;   // [groups, rows]
@group(0) @binding(2) var<storage, read_write> qzeros: array<u32>;
@group(0) @binding(1) var<storage, read> scales: array<f32>;  // [groups, rows]
@group(0) @binding(2) var<storage, read_write> qscales: array<u32>;

/** Bits of value k (`bits` wide) that fall in word w of a stream. */
fn place(v: u32, k: u32, w: u32) -> u32 {
  let pos = i32(p.bits * k) - i32(32u * w);
  if (pos < 0) { return v >> u32(-pos); }
  return v << u32(pos);
}

fn first_value(w: u32) -> u32 { return (32u * w) / p.bits; }
fn end_value(w: u32, n: u32) -> u32 { return min(n, (32u * w + 31u) / p.bits + 1u); }

@compute @workgroup_size(64)
fn pack_weight(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= p.words * p.rows) { return; }
  let w = e / p.rows;
  let n = e % p.rows;
  let mask = (1u << p.bits) - 1u;
  var word = 0u;
  for (var k = first_value(w); k < end_value(w, p.cols); k++) { word |= place(codes[n * p.cols + k] & mask, k, w); }
  qweight[e] = word;
}

@compute @workgroup_size(64)
fn pack_zeros(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= p.words * p.groups) { return; }
  let g = e / p.words;
  let w = e % p.words;
  let mask = (1u << p.bits) - 1u;
  var word = 0u;
  for (var n = first_value(w); n < end_value(w, p.rows); n++) {
    word |= place((u32(zeros[g * p.rows + n]) - p.zeroOffset) & mask, n, w);
  }
  qzeros[e] = word;
}

@compute @workgroup_size(64)
fn pack_scales(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 64u;
  let n = p.groups * p.rows;
  if (2u * e >= n) { return; }
  let b = select(0.0, scales[min(2u * e + 1u, n - 1u)], 2u * e + 1u < n);
  qscales[e] = pack2x16float(vec2<f32>(scales[2u * e], b));
}
