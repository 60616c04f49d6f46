// GPTQ's Hessian, accumulated batch by batch exactly as the reference's add_batch:
//   H = decay * H + scale * X^T X,   decay = n_old / n_new,  scale = 2 / n_new   (n counts sequences)
// X: [tokens, cols] (the input of a linear layer). Each invocation computes a 4x4 block of H.

struct Params {
  tokens: u32,
  cols: u32,
  decay: f32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> H: array<f32>;

@compute @workgroup_size(8, 8)
fn accumulate(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j0 = gid.x * 4u;
  let i0 = gid.y * 4u;
  let n = p.cols;
  if (i0 >= n || j0 >= n) { return; }
  var acc: array<vec4<f32>, 4>;
  let ci = vec4<u32>(min(i0, n - 1u), min(i0 + 1u, n - 1u), min(i0 + 2u, n - 1u), min(i0 + 3u, n - 1u));
  let cj = vec4<u32>(min(j0, n - 1u), min(j0 + 1u, n - 1u), min(j0 + 2u, n - 1u), min(j0 + 3u, n - 1u));
  for (var t = 0u; t < p.tokens; t++) {
    let o = t * n;
    let a = vec4<f32>(x[o + ci.x], x[o + ci.y], x[o + ci.z], x[o + ci.w]);
    let b = vec4<f32>(x[o + cj.x], x[o + cj.y], x[o + cj.z], x[o + cj.w]);
    acc[0] += a.x * b;
    acc[1] += a.y * b;
    acc[2] += a.z * b;
    acc[3] += a.w * b;
  }
  for (var r = 0u; r < 4u; r++) {
    let i = i0 + r;
    if (i >= n) { break; }
    for (var c = 0u; c < 4u; c++) {
      let j = j0 + c;
      if (j >= n) { break; }
      let o = i * n + j;
      H[o] = p.decay * H[o] + p.scale * acc[r][c];
    }
  }
}
