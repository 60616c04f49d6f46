// RMSNorm over the last dimension, in f32 as transformers computes it:
//   y = x * rsqrt(mean(x^2) + eps) * weight
// One workgroup per row. Rows are tokens (input/post/final norms) or tokens x heads (Qwen3 q_norm/k_norm,
// applied in place over head_dim).

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read_write> xy: array<f32>;

// 64 invocations for head-sized rows (q/k norms), 256 for a whole hidden state (one token's row in decode)
override WG: u32 = 64u;
var<workgroup> partial: array<f32, 256>;

fn reduce(lid: u32, v: f32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  return partial[0];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = wg.x + wg.y * 65535u;
  if (r >= p.rows) { return; }
  let o = r * p.cols;
  var ss = 0.0;
  for (var c = lid.x; c < p.cols; c += WG) { let v = x[o + c]; ss += v * v; }
  let inv = inverseSqrt(reduce(lid.x, ss) / f32(p.cols) + p.eps);
  for (var c = lid.x; c < p.cols; c += WG) { y[o + c] = x[o + c] * inv * weight[c]; }
}

@compute @workgroup_size(WG)
fn in_place(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = wg.x + wg.y * 65535u;
  if (r >= p.rows) { return; }
  let o = r * p.cols;
  var ss = 0.0;
  for (var c = lid.x; c < p.cols; c += WG) { let v = xy[o + c]; ss += v * v; }
  let inv = inverseSqrt(reduce(lid.x, ss) / f32(p.cols) + p.eps);
  workgroupBarrier();
  for (var c = lid.x; c < p.cols; c += WG) { xy[o + c] = xy[o + c] * inv * weight[c]; }
}

// ---- one invocation per row, no barriers: for CPU adapters (SwiftShader), where barriers are costly
@compute @workgroup_size(64)
fn serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * 64u;
  if (r >= p.rows) { return; }
  let o = r * p.cols;
  var ss = 0.0;
  for (var c = 0u; c < p.cols; c++) { let v = x[o + c]; ss += v * v; }
  let inv = inverseSqrt(ss / f32(p.cols) + p.eps);
  for (var c = 0u; c < p.cols; c++) { y[o + c] = x[o + c] * inv * weight[c]; }
}

@compute @workgroup_size(64)
fn serial_in_place(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * 64u;
  if (r >= p.rows) { return; }
  let o = r * p.cols;
  var ss = 0.0;
  for (var c = 0u; c < p.cols; c++) { let v = xy[o + c]; ss += v * v; }
  let inv = inverseSqrt(ss / f32(p.cols) + p.eps);
  for (var c = 0u; c < p.cols; c++) { xy[o + c] = xy[o + c] * inv * weight[c]; }
}
