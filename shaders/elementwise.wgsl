// Row gathers and elementwise steps of the forward pass.

struct Params {
  rows: u32,  // gather: rows to write; swiglu: elements
  cols: u32,  // gather: row length
  _a: u32,
  _b: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// ---- gather_rows: out[i, :] = src[idx[i], :]  (token embedding lookup; picking rows for the LM head).
// weights_f16: src holds f16 pairs (an embedding stored in f16; cols even), widened to f32.
// @if weights_f16
@group(0) @binding(1) var<storage, read> src: array<u32>;
fn src_at(i: u32) -> f32 {
  let v = unpack2x16float(src[i >> 1u]);
  return select(v.x, v.y, (i & 1u) == 1u);
}
// @else
@group(0) @binding(1) var<storage, read> src: array<f32>;
fn src_at(i: u32) -> f32 {
  return src[i];
}
// @endif
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn gather_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = wg.x + wg.y * 65535u;
  if (i >= p.rows) { return; }
  let s = idx[i] * p.cols;
  let o = i * p.cols;
  for (var c = lid.x; c < p.cols; c += 64u) { out[o + c] = src_at(s + c); }
}

// ---- swiglu: gate = silu(gate) * up, as LlamaMLP / Qwen3MLP: act_fn(gate_proj(x)) * up_proj(x)
@group(0) @binding(1) var<storage, read_write> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;

@compute @workgroup_size(256)
fn swiglu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.rows) { return; }
  let g = gate[i];
  gate[i] = g / (1.0 + exp(-g)) * up[i];
}

// ---- widen_f16: dst[i] = src[i] for f16 values stored two per u32 (rows = pairs): float weights kept in f16,
// widened where a kernel reads f32 (the GPTQ solve)
@group(0) @binding(1) var<storage, read> halves: array<u32>;
@group(0) @binding(2) var<storage, read_write> widened: array<vec2<f32>>;

@compute @workgroup_size(256)
fn widen_f16(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.rows) { return; }
  widened[i] = unpack2x16float(halves[i]);
}
