// Row gathers and elementwise steps of the forward pass.

struct Params {
  rows: u32,  // gather: rows to write; swiglu: elements
  cols: u32,  // gather: row length
  _a: u32,
  _b: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// ---- gather_rows: out[i, :] = src[idx[i], :]  (token embedding lookup; picking rows for the LM head)
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn gather_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = wg.x + wg.y * 65535u;
  if (i >= p.rows) { return; }
  let s = idx[i] * p.cols;
  let o = i * p.cols;
  for (var c = lid.x; c < p.cols; c += 64u) { out[o + c] = src[s + c]; }
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
