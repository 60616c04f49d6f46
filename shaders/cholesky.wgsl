// Dense linear algebra for GPTQ's inverse Hessian, in blocks of NB columns:
//   gather    A[i, j] = H[idx[i], idx[j]] (+ damp on the diagonal, dead H_ii := 1): act-order permutation and
//             reversal in one copy
//   potrf     lower Cholesky of one diagonal block, in workgroup memory (status > 0 flags a bad pivot)
//   trsm      the panel below it: L[i, blk] = A[i, blk] * L_blk^-T
//   syrk      the trailing update: A[i, j] -= L[i, blk] . L[j, blk] for i >= j past the block
//   trtri_*   the inverse of a lower-triangular matrix, one block row at a time
// The upper Cholesky factor of H^-1 that GPTQ needs is U = P (chol(P H P))^-1 P, P the reversal: with
// P H P = L L^T, H = (P L P)(P L P)^T and U = (P L P)^-1 is upper with U^T U = H^-1.

struct Params {
  n: u32,
  k0: u32,     // first column of the current block
  damp: f32,
  _pad: u32,
}

const NB: u32 = 32u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> A: array<f32>;
@group(0) @binding(2) var<storage, read_write> status: array<atomic<u32>>;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(1) var<storage, read> L: array<f32>;
@group(0) @binding(2) var<storage, read_write> X: array<f32>;

var<workgroup> blk: array<f32, NB * NB>;

// ---- gather: dst[i, j] = src[idx[i], idx[j]] + damp * (i == j); idx = act-order permutation, then reversed
@compute @workgroup_size(16, 16)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y;
  let j = gid.x;
  if (i >= p.n || j >= p.n) { return; }
  var v = src[idx[i] * p.n + idx[j]];
  if (i == j) {
    if (v == 0.0) { v = 1.0; } // a dead column (no activation ever): H_ii := 1, as the reference does
    v += p.damp;
  }
  dst[i * p.n + j] = v;
}

// ---- potrf: factor the diagonal block A[k0:k0+nb, k0:k0+nb] in place (lower); upper part of the block zeroed
@compute @workgroup_size(NB)
fn potrf(@builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let nb = min(NB, p.n - p.k0);
  let base = p.k0 * p.n + p.k0;
  for (var r = 0u; r < nb; r++) {
    if (t < nb) { blk[r * NB + t] = A[base + r * p.n + t]; }
  }
  workgroupBarrier();
  for (var j = 0u; j < nb; j++) {
    if (t == 0u) {
      let d = blk[j * NB + j];
      if (!(d > 0.0)) { atomicMax(&status[0], p.k0 + j + 1u); }
      blk[j * NB + j] = sqrt(max(d, 1e-30));
    }
    workgroupBarrier();
    let ljj = blk[j * NB + j];
    if (t > j && t < nb) { blk[t * NB + j] = blk[t * NB + j] / ljj; }
    workgroupBarrier();
    // right-looking update of the block's trailing part, column t
    if (t > j && t < nb) {
      let ltj = blk[t * NB + j];
      for (var r = t; r < nb; r++) { blk[r * NB + t] -= blk[r * NB + j] * ltj; }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < nb; r++) {
    if (t < nb) { A[base + r * p.n + t] = select(0.0, blk[r * NB + t], t <= r); }
  }
}

// ---- trsm: rows below the block, one invocation per row, forward substitution against L_blk^T
@compute @workgroup_size(64)
fn trsm(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let nb = min(NB, p.n - p.k0);
  for (var e = lid.x; e < NB * NB; e += 64u) {
    let r = e / NB;
    let c = e % NB;
    blk[e] = select(0.0, A[(p.k0 + r) * p.n + p.k0 + c], r < nb && c < nb);
  }
  workgroupBarrier();
  let i = p.k0 + nb + gid.x;
  if (i >= p.n) { return; }
  let o = i * p.n + p.k0;
  for (var j = 0u; j < nb; j++) {
    var s = A[o + j];
    for (var m = 0u; m < j; m++) { s -= A[o + m] * blk[j * NB + m]; }
    A[o + j] = s / blk[j * NB + j];
    A[(p.k0 + j) * p.n + i] = 0.0; // the mirrored upper entry: the result is a clean lower factor
  }
}

// ---- syrk: A[i, j] -= sum_m L[i, k0+m] * L[j, k0+m], for i >= j >= k0 + nb; 4x4 outputs per invocation
@compute @workgroup_size(8, 8)
fn syrk(@builtin(global_invocation_id) gid: vec3<u32>) {
  let nb = min(NB, p.n - p.k0);
  let start = p.k0 + nb;
  let j0 = start + gid.x * 4u;
  let i0 = start + gid.y * 4u;
  if (i0 >= p.n || j0 >= p.n || j0 > i0 + 3u) { return; }
  var acc: array<vec4<f32>, 4>;
  for (var m = 0u; m < nb; m++) {
    let c = p.k0 + m;
    var a: vec4<f32>;
    var b: vec4<f32>;
    for (var r = 0u; r < 4u; r++) {
      a[r] = A[min(i0 + r, p.n - 1u) * p.n + c];
      b[r] = A[min(j0 + r, p.n - 1u) * p.n + c];
    }
    acc[0] += a.x * b;
    acc[1] += a.y * b;
    acc[2] += a.z * b;
    acc[3] += a.w * b;
  }
  for (var r = 0u; r < 4u; r++) {
    let i = i0 + r;
    if (i >= p.n) { break; }
    for (var c = 0u; c < 4u; c++) {
      let j = j0 + c;
      if (j >= p.n || j > i) { continue; }
      A[i * p.n + j] -= acc[r][c];
    }
  }
}

// ---- trtri: X = L^-1 (both lower), block row by block row (k0 = first row of the block row).
// Step 1, for columns c < k0: X[k0 + r, c] = -sum_{m = c}^{k0 - 1} L[k0 + r, m] * X[m, c]
@compute @workgroup_size(64)
fn trtri_gemm(@builtin(global_invocation_id) gid: vec3<u32>) {
  let nb = min(NB, p.n - p.k0);
  let c = gid.x;
  let r = gid.y;
  if (c >= p.k0 || r >= nb) { return; }
  let row = (p.k0 + r) * p.n;
  var s = 0.0;
  for (var m = c; m < p.k0; m++) { s += L[row + m] * X[m * p.n + c]; }
  X[row + c] = -s;
}

// Step 2, per column c < k0 + nb: solve L_blk y = t in place, t = X[k0:k0+nb, c] (c < k0) or the unit vector.
@compute @workgroup_size(64)
fn trtri_solve(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let nb = min(NB, p.n - p.k0);
  for (var e = lid.x; e < NB * NB; e += 64u) {
    let r = e / NB;
    let cc = e % NB;
    blk[e] = select(0.0, L[(p.k0 + r) * p.n + p.k0 + cc], r < nb && cc < nb && cc <= r);
  }
  workgroupBarrier();
  let c = gid.x;
  if (c >= p.k0 + nb) { return; }
  for (var r = 0u; r < nb; r++) {
    let row = (p.k0 + r) * p.n;
    var s: f32;
    if (c < p.k0) { s = X[row + c]; } else { s = select(0.0, 1.0, c == p.k0 + r); }
    for (var m = 0u; m < r; m++) {
      if (p.k0 + m >= c) { s -= blk[r * NB + m] * X[(p.k0 + m) * p.n + c]; }
    }
    X[row + c] = select(0.0, s / blk[r * NB + r], p.k0 + r >= c);
  }
}
