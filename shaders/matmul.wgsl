// Dense f32 matmul of the linear layers: y[M, N] = x[M, K] * W[N, K]^T (+ bias[N]) (+ y if accumulating).
// W is in the Hugging Face nn.Linear layout [out, in], so both operands are contiguous along K.
// Each invocation computes a 4x4 block of y; `main` loads quads along K (K % 4 == 0), `main_scalar` any K (f32 W).
// M = 1: gemv / gemv_subgroups, and gemv_swiglu(_subgroups) for an MLP's gate, up and SwiGLU in one dispatch;
// each may apply the RMSNorm in front of it (input_norm.wgsl).
// @include input_norm
// @include gemm_store

struct Params {
  M: u32,
  N: u32,
  K: u32,
  flags: u32, // bit 0: add bias; bit 1: accumulate into y (residual add); bit 2: split-K partial sums
  nq: u32,    // gemv_qkv: rows of W_q, then nk rows of W_k, then the rest W_v
  nk: u32,
  eps: f32,   // the GEMVs' input norm (define input_norm: input_norm.wgsl)
  _b: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> x1: array<f32>;
@group(0) @binding(2) var<storage, read> w1: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
// W is read a quad of 4 columns at a time through wq(i), as f32. The weights_f16 variant stores W in f16 (two
// halves per u32: half the memory and the bytes read) and widens it with unpack2x16float, a core builtin: the
// arithmetic stays f32 and no shader-f16 is needed. gemv_swiglu reads the up projection from binding 5.
// gemv_qkv reads W_k from binding 5 and W_v from binding 6 and writes y_k, y_v to bindings 7, 8.
// @if weights_f16
@group(0) @binding(2) var<storage, read> w4: array<vec2<u32>>;
@group(0) @binding(5) var<storage, read> w4_up: array<vec2<u32>>;
@group(0) @binding(5) var<storage, read> w4_k: array<vec2<u32>>;
@group(0) @binding(6) var<storage, read> w4_v: array<vec2<u32>>;
fn wq(i: u32) -> vec4<f32> {
  let v = w4[i];
  return vec4<f32>(unpack2x16float(v.x), unpack2x16float(v.y));
}
@group(0) @binding(2) var<storage, read> wh: array<u32>; // W as f16 pairs (the tiled GEMM's staging)
// @else
@group(0) @binding(2) var<storage, read> w4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> w4_up: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> w4_k: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> w4_v: array<vec4<f32>>;
fn wq(i: u32) -> vec4<f32> {
  return w4[i];
}
// @endif

override WG_X: u32 = 8;
override WG_Y: u32 = 8;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  if (n0 >= p.N || m0 >= p.M) { return; }
  let K4 = p.K / 4u;
  // Out-of-range rows re-read the last row (results discarded by store_rows): no branches in the loop.
  let r0 = min(m0, p.M - 1u) * K4;
  let r1 = min(m0 + 1u, p.M - 1u) * K4;
  let r2 = min(m0 + 2u, p.M - 1u) * K4;
  let r3 = min(m0 + 3u, p.M - 1u) * K4;
  let c0 = min(n0, p.N - 1u) * K4;
  let c1 = min(n0 + 1u, p.N - 1u) * K4;
  let c2 = min(n0 + 2u, p.N - 1u) * K4;
  let c3 = min(n0 + 3u, p.N - 1u) * K4;
  var acc: array<vec4<f32>, 4>;
  for (var k = 0u; k < K4; k++) {
    let b0 = wq(c0 + k);
    let b1 = wq(c1 + k);
    let b2 = wq(c2 + k);
    let b3 = wq(c3 + k);
    let a0 = x4[r0 + k];
    acc[0] += vec4<f32>(dot(a0, b0), dot(a0, b1), dot(a0, b2), dot(a0, b3));
    let a1 = x4[r1 + k];
    acc[1] += vec4<f32>(dot(a1, b0), dot(a1, b1), dot(a1, b2), dot(a1, b3));
    let a2 = x4[r2 + k];
    acc[2] += vec4<f32>(dot(a2, b0), dot(a2, b1), dot(a2, b2), dot(a2, b3));
    let a3 = x4[r3 + k];
    acc[3] += vec4<f32>(dot(a3, b0), dot(a3, b1), dot(a3, b2), dot(a3, b3));
  }
  store_rows(acc, m0, n0);
}

// ---- tiled GEMM (M > 1 on GPUs: prefill, evaluation, GPTQ calibration): 64 x 64 output tiles, 16 x 16
// invocations each computing 4 rows x 4 outputs. Per 32-column chunk of K the workgroup stages x [32][64 rows]
// and W [32][64 outputs] in workgroup memory, each element read once per tile, then runs 32 rank-1 updates from
// there. The loads are those of the packed GEMM (qgemm.wgsl).
// Split-K (flag bit 2): with too few tiles to fill the GPU, workgroup z of nwg.z takes one slice of the chunks
// and writes its raw sums to `part`; split_reduce adds the slices up (and the bias, and y when accumulating).
@group(0) @binding(6) var<storage, read_write> part: array<f32>;
var<workgroup> xt: array<vec4<f32>, 512>; // xt[k * 16 + q]: rows 4q .. 4q+3 of the tile at chunk column k
var<workgroup> wt: array<vec4<f32>, 512>; // wt[k * 16 + q]: outputs 4q .. 4q+3 of the tile at chunk column k

@compute @workgroup_size(16, 16)
fn tiled(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
  let nt = wg.x * 64u;
  let mt = wg.y * 64u;
  let chunks = (p.K + 31u) / 32u;
  let per = (chunks + nwg.z - 1u) / nwg.z;
  let c0 = wg.z * per;
  let c1 = min(chunks, c0 + per);
  // four named accumulators, not an array: an array indexed in loops may live in local memory
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var c = c0; c < c1; c++) {
    // invocation li fills chunk column k = li % 32 of the input's row quads q = li / 32 and li / 32 + 8: a warp
    // reads 32 consecutive elements of a row (coalesced) and writes whole vec4s to workgroup memory
    let k = li % 32u;
    let col = c * 32u + k;
    for (var h = 0u; h < 2u; h++) {
      let q = li / 32u + 8u * h;
      var xv = vec4<f32>(0.0);
      if (col < p.K) {
        let i = quad_at(mt + 4u * q, p.M, col);
        xv = vec4<f32>(x1[i.x], x1[i.y], x1[i.z], x1[i.w]);
      }
      xt[k * 16u + q] = xv;
    }
    stage_weights(li, nt, c * 32u);
    workgroupBarrier();
    for (var kk = 0u; kk < 32u; kk++) {
      let a = xt[kk * 16u + lid.y];
      let b = wt[kk * 16u + lid.x];
      acc0 += a.x * b;
      acc1 += a.y * b;
      acc2 += a.z * b;
      acc3 += a.w * b;
    }
    workgroupBarrier();
  }
  let acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  let m0 = mt + 4u * lid.y;
  let n0 = nt + 4u * lid.x;
  if ((p.flags & 4u) != 0u) {
    store_parts(wg.z, acc, m0, n0);
    return;
  }
  store_rows(acc, m0, n0);
}

// The tile's weights for the 32 columns from k0: wt[k * 16 + q] = W[nt + 4q .. nt + 4q + 3, k0 + k] (zeros past
// the edges). f16 weights: each invocation reads one u32 (columns 2kp, 2kp + 1) of four rows, half the loads of
// one element at a time (measured: the Qwen3-0.6B float prefill's GPU time 29.3 against 32.0 ms on an H100).
// @if weights_f16
fn stage_weights(li: u32, nt: u32, k0: u32) {
  let kp = li % 16u;
  let q = li / 16u;
  let col = k0 + 2u * kp; // even; K % 4 == 0, so both columns are in range together
  var lo = vec4<f32>(0.0);
  var hi = vec4<f32>(0.0);
  if (col < p.K) {
    let n1 = p.N - 1u;
    let n = nt + 4u * q;
    let v0 = unpack2x16float(wh[(min(n, n1) * p.K + col) >> 1u]);
    let v1 = unpack2x16float(wh[(min(n + 1u, n1) * p.K + col) >> 1u]);
    let v2 = unpack2x16float(wh[(min(n + 2u, n1) * p.K + col) >> 1u]);
    let v3 = unpack2x16float(wh[(min(n + 3u, n1) * p.K + col) >> 1u]);
    lo = vec4<f32>(v0.x, v1.x, v2.x, v3.x);
    hi = vec4<f32>(v0.y, v1.y, v2.y, v3.y);
  }
  wt[(2u * kp) * 16u + q] = lo;
  wt[(2u * kp + 1u) * 16u + q] = hi;
}
// @else
fn stage_weights(li: u32, nt: u32, k0: u32) {
  let k = li % 32u;
  let col = k0 + k;
  for (var h = 0u; h < 2u; h++) {
    let q = li / 32u + 8u * h;
    var wv = vec4<f32>(0.0);
    if (col < p.K) {
      let i = quad_at(nt + 4u * q, p.N, col);
      wv = vec4<f32>(w1[i.x], w1[i.y], w1[i.z], w1[i.w]);
    }
    wt[k * 16u + q] = wv;
  }
}
// @endif

/** Flat indices of column `col` in rows r .. r + 3 of a [rows, K] matrix, rows past the last clamped to it. */
fn quad_at(r: u32, rows: u32, col: u32) -> vec4<u32> {
  let last = rows - 1u;
  return vec4<u32>(min(r, last), min(r + 1u, last), min(r + 2u, last), min(r + 3u, last)) * p.K + col;
}

// ---- the tiled GEMM on matrix units (f16 weights, K % 32 == 0): mma_tile.wgsl's tile, split-K as `tiled`
// @if subgroup_matrix
// @include mma_tile
@group(0) @binding(2) var<storage, read> wh8: array<vec4<u32>>; // W as f16, 8 to a load
fn mma_x4(m: u32, k: u32) -> vec4<f32> {
  return x4[(m * p.K + k) / 4u];
}
fn mma_split() -> bool {
  return (p.flags & 4u) != 0u;
}
fn mma_stage_w(t: u32, nt: u32, k0: u32) {
  // 64 outputs x 4 loads of 8 columns: two per invocation
  for (var i = t; i < 256u; i += 128u) {
    let r = i / 4u;
    let e = i % 4u;
    var v = vec4<u32>(0u);
    if (nt + r < p.N) { v = wh8[((nt + r) * p.K + k0) / 8u + e]; }
    let o = r * 32u + 8u * e;
    for (var j = 0u; j < 4u; j++) {
      let h = bitcast<vec2<f16>>(v[j]);
      wt_h[o + 2u * j] = h.x;
      wt_h[o + 2u * j + 1u] = h.y;
    }
  }
}
@compute @workgroup_size(128)
fn tiled_mma(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32,
             @builtin(subgroup_id) sg: u32, @builtin(subgroup_invocation_id) lane: u32) {
  mma_tile(wg, nwg, t, sg, lane);
}
// @endif

// y[m, n] = sum over the splits of part[z, m, n] (+ bias) (+ y); p.K holds the number of splits here
@compute @workgroup_size(256)
fn split_reduce(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 256u;
  if (e >= p.M * p.N) { return; }
  var s = 0.0;
  for (var z = 0u; z < p.K; z++) { s += part[z * p.M * p.N + e]; }
  if ((p.flags & 1u) != 0u) { s += bias[e % p.N]; }
  if ((p.flags & 2u) != 0u) { s += y[e]; }
  y[e] = s;
}

@compute @workgroup_size(WG_X, WG_Y)
fn main_scalar(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  if (n0 >= p.N || m0 >= p.M) { return; }
  var acc: array<vec4<f32>, 4>;
  for (var i = 0u; i < 4u; i++) {
    let m = min(m0 + i, p.M - 1u);
    for (var j = 0u; j < 4u; j++) {
      let n = min(n0 + j, p.N - 1u);
      var s = 0.0;
      for (var k = 0u; k < p.K; k++) { s += x1[m * p.K + k] * w1[n * p.K + k]; }
      acc[i][j] = s;
    }
  }
  store_rows(acc, m0, n0);
}

// ---- GEMV (M = 1) for GPUs: ROWS rows per workgroup of 256, vec4 loads strided across the workgroup so
// that consecutive invocations read consecutive bytes; the partial sums are reduced in workgroup memory
// (gemv: a tree), or across each subgroup first (gemv_subgroups: one subgroupAdd, then one slot per subgroup).
override ROWS: u32 = 2u;
var<workgroup> red: array<f32, 256>;

/** The row whose dot product invocation `li` of workgroup `wg` shares (may be past the last row). */
fn gemv_row(wg: vec3<u32>, li: u32) -> u32 {
  return (wg.x + wg.y * 65535u) * ROWS + li / (256u / ROWS);
}

/** This invocation's share of its row's dot product (the last row's for invocations past it). */
fn gemv_part(wg: vec3<u32>, li: u32) -> f32 {
  return row_part(min(gemv_row(wg, li), p.N - 1u), li);
}

/** This invocation's share of the dot product of x with row n of W. */
fn row_part(n: u32, li: u32) -> f32 {
  let K4 = p.K / 4u;
  var s = 0.0;
  for (var k = li % (256u / ROWS); k < K4; k += 256u / ROWS) { s += dot(normed4(k, x4[k]), wq(n * K4 + k)); }
  return s;
}

fn gemv_store(wg: vec3<u32>, li: u32, v: f32) {
  let n = gemv_row(wg, li);
  if (n >= p.N) { return; }
  var r = v;
  if ((p.flags & 1u) != 0u) { r += bias[n]; }
  if ((p.flags & 2u) != 0u) { r += y[n]; }
  y[n] = r;
}

/** The sum of `part` over the 256 / ROWS invocations of li's row, valid in the row's first invocation (a tree in
 *  workgroup memory). Called from uniform control flow by every invocation (it holds barriers). */
fn row_sum(part: f32, li: u32) -> f32 {
  let per = 256u / ROWS;
  red[li] = part;
  workgroupBarrier();
  for (var h = per / 2u; h > 0u; h >>= 1u) {
    if (li % per < h) { red[li] += red[li + h]; }
    workgroupBarrier();
  }
  return red[li];
}

@compute @workgroup_size(256)
fn gemv(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  input_norm_begin4(li, 256u);
  let s = row_sum(gemv_part(wg, li), li);
  if (li % (256u / ROWS) == 0u) { gemv_store(wg, li, s); }
}

// ---- gate, up and SwiGLU of an MLP in one dispatch (M = 1): y = silu(W_gate x) * (W_up x), each row's two dot
// products in the same invocations (x read once for both). gemv_part_up is gemv_part on w4_up (shader loader).
// @clone _up w4 wq gemv_part row_part
var<workgroup> red_up: array<f32, 256>;

fn swiglu_store(wg: vec3<u32>, li: u32, g: f32, u: f32) {
  let n = gemv_row(wg, li);
  if (n < p.N) { y[n] = g / (1.0 + exp(-g)) * u; }
}

@compute @workgroup_size(256)
fn gemv_swiglu(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  input_norm_begin4(li, 256u);
  let per = 256u / ROWS;
  red[li] = gemv_part(wg, li);
  red_up[li] = gemv_part_up(wg, li);
  workgroupBarrier();
  for (var h = per / 2u; h > 0u; h >>= 1u) {
    if (li % per < h) {
      red[li] += red[li + h];
      red_up[li] += red_up[li + h];
    }
    workgroupBarrier();
  }
  if (li % per == 0u) { swiglu_store(wg, li, red[li], red_up[li]); }
}

// ---- q, k and v of one input in one dispatch (M = 1): rows [0, nq) of W_q, then nk of W_k, then W_v, each
// workgroup's ROWS rows inside one of them (nq, nk multiples of ROWS); row_part_k / _v are row_part on W_k / W_v.
// @clone _k w4 wq row_part
// @clone _v w4 wq row_part
@group(0) @binding(7) var<storage, read_write> y_k: array<f32>;
@group(0) @binding(8) var<storage, read_write> y_v: array<f32>;

/** The workgroup's part of row n of [W_q; W_k; W_v] x, with n taken relative to its matrix. */
fn qkv_part(wg: vec3<u32>, li: u32) -> f32 {
  let n = min(gemv_row(wg, li), p.N - 1u);
  if (n < p.nq) { return row_part(n, li); }
  if (n < p.nq + p.nk) { return row_part_k(n - p.nq, li); }
  return row_part_v(n - p.nq - p.nk, li);
}

fn qkv_store(wg: vec3<u32>, li: u32, v: f32) {
  let n = gemv_row(wg, li);
  if (n >= p.N) { return; }
  var r = v;
  if ((p.flags & 1u) != 0u) { r += bias[n]; }
  if (n < p.nq) { y[n] = r; } else if (n < p.nq + p.nk) { y_k[n - p.nq] = r; } else { y_v[n - p.nq - p.nk] = r; }
}

@compute @workgroup_size(256)
fn gemv_qkv(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  input_norm_begin4(li, 256u);
  let s = row_sum(qkv_part(wg, li), li);
  if (li % (256u / ROWS) == 0u) { qkv_store(wg, li, s); }
}

// @if subgroups
// Needs subgroups laid out as aligned runs of consecutive invocations (Gpu.subgroupReduce) no longer than a
// row's 256 / ROWS invocations, so that no subgroup spans two rows.
/** row_sum across each subgroup first (one subgroupAdd), then one slot per subgroup. */
fn row_sum_subgroups(part: f32, li: u32, lane: u32, size: u32) -> f32 {
  let sum = subgroupAdd(part);
  if (lane == 0u) { red[li / size] = sum; }
  workgroupBarrier();
  let per = 256u / ROWS;
  var s = 0.0;
  if (li % per == 0u) {
    for (var j = li / size; j < (li + per) / size; j++) { s += red[j]; }
  }
  return s;
}

@compute @workgroup_size(256)
fn gemv_subgroups(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
  input_norm_begin4(li, 256u);
  let s = row_sum_subgroups(gemv_part(wg, li), li, lane, size);
  if (li % (256u / ROWS) == 0u) { gemv_store(wg, li, s); }
}

@compute @workgroup_size(256)
fn gemv_qkv_subgroups(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
  input_norm_begin4(li, 256u);
  let s = row_sum_subgroups(qkv_part(wg, li), li, lane, size);
  if (li % (256u / ROWS) == 0u) { qkv_store(wg, li, s); }
}

@compute @workgroup_size(256)
fn gemv_swiglu_subgroups(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
  input_norm_begin4(li, 256u);
  let g = subgroupAdd(gemv_part(wg, li));
  let u = subgroupAdd(gemv_part_up(wg, li));
  // subgroups of >= 4 invocations leave <= 64 sums each: gate's at red[0 ..], up's at red[128 ..]
  if (lane == 0u) {
    red[li / size] = g;
    red[128u + li / size] = u;
  }
  workgroupBarrier();
  let per = 256u / ROWS;
  if (li % per == 0u) {
    var gs = 0.0;
    var us = 0.0;
    for (var j = li / size; j < (li + per) / size; j++) {
      gs += red[j];
      us += red[128u + j];
    }
    swiglu_store(wg, li, gs, us);
  }
}
// @endif
