// GPTQ's column solve (Frantar et al. 2022) with the reference's conventions (src/quant/reference.ts):
//   group_params   scale/zero per (group, row) from min/max (static groups, per-channel, and RTN)
//   permute_cols   Wp[r, j] = W[r, perm[j]], dead columns (H_ii = 0) zeroed
//   quantize_block one invocation per row walks a block of <= 128 columns: quantize, error, in-block update
//   trailing       the lazy batch update of the columns after the block: Wp[:, i2:] -= Err . U[i1:i2, i2:]
//   rtn            round-to-nearest with the same grouping (the baseline)
//   dequant        What[r, c] = scale[g_idx[c], r] * (code[r, c] - zero[g_idx[c], r]); dequant_diff: Wref - What
//                  (dequant_diff reads codes in kernel order: its `gidx` binding holds the column order)
//   take_diag      the diagonal of H
//   rowdot         out[r] = sum_c a[r, c] * b[r, c]   (reconstruction error ||dW X||^2 = rowdot(dW H, dW))
// Layouts: W [rows, cols] row-major (nn.Linear [out, in]); U [cols, cols] upper, U^T U = H^-1 (permuted);
// scales/zeros [groups, rows]; codes [rows, cols] u32.

struct Params {
  rows: u32,
  cols: u32,
  i1: u32,        // block start
  i2: u32,        // block end
  groupSize: u32, // columns per group (cols for per-channel)
  mode: u32,      // quantize_block: 0 dynamic groups, 1 static groups (via perm), 2 one group per row
  maxq: f32,
  sym: u32,
}

const BLOCK: u32 = 128u;

@group(0) @binding(0) var<uniform> p: Params;
// group_params / rtn / permute_cols / quantize_block / trailing
@group(0) @binding(1) var<storage, read_write> W: array<f32>;
@group(0) @binding(2) var<storage, read_write> scales: array<f32>;
@group(0) @binding(3) var<storage, read_write> zeros: array<f32>;
@group(0) @binding(4) var<storage, read_write> codes: array<u32>;
@group(0) @binding(5) var<storage, read> U: array<f32>;
@group(0) @binding(6) var<storage, read_write> err: array<f32>;
@group(0) @binding(7) var<storage, read_write> loss: array<f32>;
@group(0) @binding(8) var<storage, read> perm: array<u32>;
@group(0) @binding(9) var<storage, read> dead: array<u32>;
@group(0) @binding(10) var<storage, read> Wsrc: array<f32>;
@group(0) @binding(11) var<storage, read> permCodes: array<u32>;
// dequant
@group(0) @binding(1) var<storage, read> qcodes: array<u32>;
@group(0) @binding(2) var<storage, read> qscales: array<f32>;
@group(0) @binding(3) var<storage, read> qzeros: array<f32>;
@group(0) @binding(4) var<storage, read> gidx: array<u32>;
@group(0) @binding(5) var<storage, read_write> What: array<f32>;
@group(0) @binding(6) var<storage, read> Wref: array<f32>;
// rowdot
@group(0) @binding(1) var<storage, read> ra: array<f32>;
@group(0) @binding(2) var<storage, read> rb: array<f32>;
@group(0) @binding(3) var<storage, read_write> rout: array<f32>;

/** min/max quantizer of gptq.py: returns (scale, zero). */
fn find_params(xmin_in: f32, xmax_in: f32) -> vec2<f32> {
  var xmin = min(xmin_in, 0.0);
  var xmax = max(xmax_in, 0.0);
  if (p.sym != 0u) {
    xmax = max(abs(xmin), xmax);
    if (xmin < 0.0) { xmin = -xmax; }
  }
  if (xmin == 0.0 && xmax == 0.0) { xmin = -1.0; xmax = 1.0; }
  let scale = (xmax - xmin) / p.maxq;
  var zero: f32;
  if (p.sym != 0u) { zero = (p.maxq + 1.0) / 2.0; } else { zero = round(-xmin / scale); }
  return vec2<f32>(scale, zero);
}

fn code_of(w: f32, sz: vec2<f32>) -> f32 {
  return clamp(round(w / sz.x) + sz.y, 0.0, p.maxq);
}

fn row_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 64u;
}

/** Scale and zero of row r's group g of Wsrc (dead columns count as zero), stored and returned. */
fn set_group_params(r: u32, g: u32) -> vec2<f32> {
  var lo = 0.0;
  var hi = 0.0;
  let c1 = min(p.cols, (g + 1u) * p.groupSize);
  for (var c = g * p.groupSize; c < c1; c++) {
    var w = Wsrc[r * p.cols + c];
    if (dead[c] != 0u) { w = 0.0; }
    lo = min(lo, w);
    hi = max(hi, w);
  }
  let sz = find_params(lo, hi);
  scales[g * p.rows + r] = sz.x;
  zeros[g * p.rows + r] = sz.y;
  return sz;
}

// ---- scale/zero of every (group, row) of Wsrc; dead columns count as zero (an all-zero mask for none)
@compute @workgroup_size(64)
fn group_params(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = row_index(gid, nwg);
  if (r >= p.rows) { return; }
  for (var g = 0u; g < (p.cols + p.groupSize - 1u) / p.groupSize; g++) { set_group_params(r, g); }
}

// ---- W[r, j] = Wsrc[r, perm[j]], zero where that column is dead
@compute @workgroup_size(64)
fn permute_cols(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= p.rows * p.cols) { return; }
  let r = e / p.cols;
  let c = perm[e % p.cols];
  W[e] = select(Wsrc[r * p.cols + c], 0.0, dead[c] != 0u);
}

// ---- one block of columns [i1, i2), one invocation per row
@compute @workgroup_size(64)
fn quantize_block(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = row_index(gid, nwg);
  if (r >= p.rows) { return; }
  let nb = p.i2 - p.i1;
  let G = p.groupSize;
  var w1: array<f32, BLOCK>;
  let wo = r * p.cols;
  for (var k = 0u; k < nb; k++) { w1[k] = W[wo + p.i1 + k]; }
  var sz = vec2<f32>(1.0, 0.0);
  if (p.mode == 2u) {
    sz = vec2<f32>(scales[r], zeros[r]);
  } else if (p.mode == 0u && p.i1 % G != 0u) {
    let g = p.i1 / G; // the group began in an earlier block
    sz = vec2<f32>(scales[g * p.rows + r], zeros[g * p.rows + r]);
  }
  var acc = 0.0;
  for (var k = 0u; k < nb; k++) {
    let i = p.i1 + k;
    if (p.mode == 0u && i % G == 0u) {
      // parameters from W, the block's state before its in-block updates (as the reference does)
      var lo = 0.0;
      var hi = 0.0;
      let c1 = min(p.cols, i + G);
      for (var c = i; c < c1; c++) { let v = W[wo + c]; lo = min(lo, v); hi = max(hi, v); }
      sz = find_params(lo, hi);
      let g = i / G;
      scales[g * p.rows + r] = sz.x;
      zeros[g * p.rows + r] = sz.y;
    } else if (p.mode == 1u) {
      let g = perm[i] / G;
      sz = vec2<f32>(scales[g * p.rows + r], zeros[g * p.rows + r]);
    }
    let w = w1[k];
    let q = code_of(w, sz);
    let deq = sz.x * (q - sz.y);
    codes[wo + i] = u32(q);
    let uo = i * p.cols;
    let d = U[uo + i];
    let e = (w - deq) / d;
    acc += (w - deq) * (w - deq) / (d * d) / 2.0;
    err[r * BLOCK + k] = e;
    for (var j = k + 1u; j < nb; j++) { w1[j] -= e * U[uo + p.i1 + j]; }
  }
  loss[r] += acc;
}

// ---- W[r, j] -= sum_k err[r, k] * U[i1 + k, j] for j >= i2; 4x4 outputs per invocation
@compute @workgroup_size(8, 8)
fn trailing(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j0 = p.i2 + gid.x * 4u;
  let r0 = gid.y * 4u;
  if (j0 >= p.cols || r0 >= p.rows) { return; }
  let nb = p.i2 - p.i1;
  var acc: array<vec4<f32>, 4>;
  let jc = vec4<u32>(j0, min(j0 + 1u, p.cols - 1u), min(j0 + 2u, p.cols - 1u), min(j0 + 3u, p.cols - 1u));
  let rr = vec4<u32>(r0, min(r0 + 1u, p.rows - 1u), min(r0 + 2u, p.rows - 1u), min(r0 + 3u, p.rows - 1u));
  for (var k = 0u; k < nb; k++) {
    let uo = (p.i1 + k) * p.cols;
    let u = vec4<f32>(U[uo + jc.x], U[uo + jc.y], U[uo + jc.z], U[uo + jc.w]);
    acc[0] += err[rr.x * BLOCK + k] * u;
    acc[1] += err[rr.y * BLOCK + k] * u;
    acc[2] += err[rr.z * BLOCK + k] * u;
    acc[3] += err[rr.w * BLOCK + k] * u;
  }
  for (var a = 0u; a < 4u; a++) {
    let r = r0 + a;
    if (r >= p.rows) { break; }
    for (var b = 0u; b < 4u; b++) {
      let j = j0 + b;
      if (j >= p.cols) { break; }
      W[r * p.cols + j] -= acc[a][b];
    }
  }
}

// ---- round to nearest, groups of consecutive columns (an all-zero dead mask); codes in the original column order
@compute @workgroup_size(64)
fn rtn(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = row_index(gid, nwg);
  if (r >= p.rows) { return; }
  for (var g = 0u; g < (p.cols + p.groupSize - 1u) / p.groupSize; g++) {
    let sz = set_group_params(r, g);
    for (var c = g * p.groupSize; c < min(p.cols, (g + 1u) * p.groupSize); c++) { codes[r * p.cols + c] = u32(code_of(Wsrc[r * p.cols + c], sz)); }
  }
}

@compute @workgroup_size(64)
fn dequant(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= p.rows * p.cols) { return; }
  let r = e / p.cols;
  let g = gidx[e % p.cols];
  What[e] = qscales[g * p.rows + r] * (f32(qcodes[e]) - qzeros[g * p.rows + r]);
}

@compute @workgroup_size(64)
fn rowdot(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = row_index(gid, nwg);
  if (r >= p.rows) { return; }
  var s = 0.0;
  for (var c = 0u; c < p.cols; c++) { s += ra[r * p.cols + c] * rb[r * p.cols + c]; }
  rout[r] = s;
}

// ---- the diagonal of a [cols, cols] matrix (ra) into rout
@compute @workgroup_size(64)
fn take_diag(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = row_index(gid, nwg);
  if (i >= p.cols) { return; }
  rout[i] = ra[i * p.cols + i];
}

// ---- the quantization error in the original column order, codes in kernel order (column k is input column
// korder[k], group k / groupSize): What[r, korder[k]] = Wref[r, korder[k]] - scale * (code - zero)
@compute @workgroup_size(64)
fn dequant_diff(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= p.rows * p.cols) { return; }
  let r = e / p.cols;
  let k = e % p.cols;
  let g = k / p.groupSize;
  let o = r * p.cols + gidx[k];
  What[o] = Wref[o] - qscales[g * p.rows + r] * (f32(qcodes[e]) - qzeros[g * p.rows + r]);
}

// ---- codes[r, perm[j]] = permCodes[r, j]: back to the original column order after an act-order solve
@compute @workgroup_size(64)
fn unpermute(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= p.rows * p.cols) { return; }
  let r = e / p.cols;
  codes[r * p.cols + perm[e % p.cols]] = permCodes[e];
}
