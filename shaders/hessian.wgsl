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

// ---- accumulate_tiled (GPUs): the same update as a GEMM, X^T X in 64 x 64 tiles of H, 16 x 16 invocations each
// owning a 4 x 4 block. Per chunk of 32 tokens the workgroup stages X[t, i0 .. i0+64] and X[t, j0 .. j0+64] in
// workgroup memory (contiguous vec4 loads: a token's row), then runs 32 rank-1 updates. H is symmetric: only the
// tiles with ti <= tj are computed (the others exit at once) and each writes its mirror too. cols % 4 == 0.
// The staging and the 4 x 4 register tile are matmul.wgsl's `tiled` kernel's, kept as a copy: here both operands are
// columns of one X (a transposed read), and the output is a running average written twice.
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
var<workgroup> xa: array<vec4<f32>, 512>; // xa[t * 16 + q]: columns i0 + 4q .. +3 of chunk token t
var<workgroup> xb: array<vec4<f32>, 512>;

@compute @workgroup_size(16, 16)
fn accumulate_tiled(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
                    @builtin(local_invocation_index) li: u32) {
  let ti = wg.y;
  let tj = wg.x;
  if (ti > tj) { return; }
  let n = p.cols;
  let n4 = n / 4u;
  let i0 = ti * 64u;
  let j0 = tj * 64u;
  var acc: array<vec4<f32>, 4>;
  for (var t0 = 0u; t0 < p.tokens; t0 += 32u) {
    for (var h = 0u; h < 2u; h++) {
      let e = li + 256u * h; // entry t * 16 + q
      let t = t0 + e / 16u;
      let q = e % 16u;
      var a = vec4<f32>(0.0);
      var b = vec4<f32>(0.0);
      if (t < p.tokens) {
        if (i0 / 4u + q < n4) { a = x4[t * n4 + i0 / 4u + q]; }
        if (j0 / 4u + q < n4) { b = x4[t * n4 + j0 / 4u + q]; }
      }
      xa[e] = a;
      xb[e] = b;
    }
    workgroupBarrier();
    for (var tt = 0u; tt < 32u; tt++) {
      let a = xa[tt * 16u + lid.y];
      let b = xb[tt * 16u + lid.x];
      acc[0] += a.x * b;
      acc[1] += a.y * b;
      acc[2] += a.z * b;
      acc[3] += a.w * b;
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let i = i0 + 4u * lid.y + r;
    if (i >= n) { break; }
    for (var c = 0u; c < 4u; c++) {
      let j = j0 + 4u * lid.x + c;
      if (j >= n) { break; }
      let v = p.decay * H[i * n + j] + p.scale * acc[r][c];
      H[i * n + j] = v;
      if (ti != tj) { H[j * n + i] = v; }
    }
  }
}
