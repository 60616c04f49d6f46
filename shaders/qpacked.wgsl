// GPTQ-packed weights as the packed matmuls read them (no dequantized copy of the matrix), shared by the GEMM
// (qgemm.wgsl) and the GEMVs (qgemv.wgsl), which include this file:
//   y[m, n] = sum_k x[m, col(k)] * scale[g, n] * (q[k, n] - zero[g, n])   (+ bias) (+ y)
// Weights are in "kernel order": column k of a row's packed stream is input column col(k) = xidx[k] (the
// act-order permutation; identity without the flag), and groups are G consecutive columns, G % 32 == 0.
// A chunk of 32 columns thus lies in one group, and its scale and zero leave the inner loop:
//   acc[n] += scale[n] * (sum_k x[k] q[k, n] - zero[n] * sum_k x[k])
// q[k, n]: bits [BITS*k, BITS*k + BITS) of row n's stream in qweight [K*BITS/32, N]; a chunk is BITS words,
// decoded 8 codes at a time (8*BITS bits: one word for 2 and 4 bits, a straddled word pair for 3, two words
// for 8: the formats' f32Decode in src/model/formats.ts). Zeros: packed qzeros (+ zeroOffset for
// checkpoint_format "gptq"); scales: f16 pairs. Here: the uniforms and bindings, the decoders of 8 codes at a
// time, and gather_input (an act-order input put in kernel order, for either family).

struct Params {
  M: u32,
  N: u32,       // rows of the weight (out features)
  K: u32,       // cols (in features), multiple of 32
  G: u32,       // columns per group, multiple of 32
  zwords: u32,  // words per qzeros row
  zeroOffset: u32,
  flags: u32,   // bit 0 bias, bit 1 accumulate, bit 2 permuted input (xidx), bit 3 split-K partials
  splits: u32,  // split_reduce: how many partial sums to add
  eps: f32,     // the GEMVs' input norm (define input_norm: input_norm.wgsl)
  nq: u32,      // gemv4_qkv: rows of q, then nk rows of k, then v (N in all)
  nk: u32,
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

// Codes become floats without an integer-to-float conversion (a quarter-rate instruction on NVIDIA, and the
// bottleneck of a decode-bound kernel): OR-ing a code into the low mantissa bits of 2^23 gives 2^23 + code
// exactly, and one subtraction leaves the code.
const MAGIC: u32 = 0x4B000000u;
fn to_f32(c: vec4<u32>) -> vec4<f32> {
  return bitcast<vec4<f32>>(c | vec4<u32>(MAGIC)) - vec4<f32>(8388608.0);
}

// A code at bits [s, s + BITS) of a word with s + BITS <= 23 becomes a float without being shifted down: masked
// in place under the exponent of 2^(23 - s), the float is 2^(23 - s) + code exactly, and one subtraction leaves
// the code (one integer op per code where shift-then-mask takes two, and NVIDIA GPUs issue integer ops at half
// rate; measured in docs/performance.md, "Cheaper decode").
fn code_in_place(w: vec4<u32>, s: u32) -> vec4<f32> {
  let e = (150u - s) << 23u; // the bits of 2^(23 - s)
  return bitcast<vec4<f32>>((w & vec4<u32>(MASK << s)) | vec4<u32>(e)) - vec4<f32>(bitcast<f32>(e));
}

/** Codes 8i .. 8i+7 of the chunk whose first word is `wbase`, for output row n. */
fn codes8(n: u32, wbase: u32, i: u32) -> Eight {
  let sh = vec4<u32>(0u, 1u, 2u, 3u) * BITS;
  if (BITS == 8u) {
    let w0 = qweight[(wbase + 2u * i) * p.N + n];
    let w1 = qweight[(wbase + 2u * i + 1u) * p.N + n];
    return Eight(to_f32((vec4<u32>(w0) >> sh) & vec4<u32>(255u)), to_f32((vec4<u32>(w1) >> sh) & vec4<u32>(255u)));
  }
  let start = 8u * BITS * i;
  let w = start >> 5u;
  let s = start & 31u;
  var v = qweight[(wbase + w) * p.N + n] >> s;
  if (s + 8u * BITS > 32u) { v |= qweight[(wbase + w + 1u) * p.N + n] << ((32u - s) & 31u); }
  let m = vec4<u32>(MASK);
  return Eight(to_f32((vec4<u32>(v) >> sh) & m), to_f32((vec4<u32>(v >> ((4u * BITS) & 31u)) >> sh) & m));
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

// y[m, k] = x[m, xidx[k]]: an act-order input in kernel order, so that the GEMM (and the GEMV of large
// matrices) read it contiguously rather than gathering it in every workgroup. p.M rows of p.K.
@compute @workgroup_size(256)
fn gather_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 256u;
  if (e >= p.M * p.K) { return; }
  let m = e / p.K;
  y[e] = x[m * p.K + xidx[e - m * p.K]];
}
