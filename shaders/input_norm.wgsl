// The RMSNorm in front of a one-token GEMV, applied by the GEMV itself (define input_norm): a decode step then
// skips the norm's dispatch (a step's fixed cost is its dispatch count). Every workgroup sums the squares of
// the K raw inputs (one token's hidden state, a few KiB read from cache) before its loop, and the input
// readers return x * rsqrt(mean(x^2) + eps) * weight, as rmsnorm.wgsl writes it; the norm's weight is binding
// 12, eps in the including kernel's Params. Without the define the readers return x and the prologue is empty.
// Included by matmul.wgsl and qgemv.wgsl, whose inputs are x4 (binding 1, vec4).
// @if input_norm
@group(0) @binding(12) var<storage, read> norm_w4: array<vec4<f32>>;
@group(0) @binding(12) var<storage, read> norm_w1: array<f32>;
var<workgroup> norm_red: array<f32, 64>;
var<private> norm_inv: f32;

/** Sets norm_inv from the sums of squares `part` of the first m <= 64 invocations (li: the invocation's index in
 *  its workgroup). Every invocation calls it, in uniform control flow (it holds barriers). */
fn input_norm_total(li: u32, m: u32, part: f32) {
  if (li < m) { norm_red[li] = part; }
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (li < s && li + s < m) { norm_red[li] += norm_red[li + s]; }
    workgroupBarrier();
  }
  norm_inv = inverseSqrt(norm_red[0] / f32(p.K) + p.eps);
}

/** The prologue of a kernel reading x4: n invocations in the workgroup. */
fn input_norm_begin4(li: u32, n: u32) {
  let m = min(n, 64u);
  var ss = 0.0;
  if (li < m) {
    for (var k = li; k < p.K / 4u; k += m) { ss += dot(x4[k], x4[k]); }
  }
  input_norm_total(li, m, ss);
}

fn normed4(k: u32, v: vec4<f32>) -> vec4<f32> {
  return v * norm_inv * norm_w4[k];
}

fn normed1(k: u32, v: f32) -> f32 {
  return v * norm_inv * norm_w1[k];
}
// @else
fn input_norm_begin4(li: u32, n: u32) {}

fn normed4(k: u32, v: vec4<f32>) -> vec4<f32> {
  return v;
}

fn normed1(k: u32, v: f32) -> f32 {
  return v;
}
// @endif
