// A GEMM's 64 x 64 output tile on the GPU's matrix units (Dawn's chromium_experimental_subgroup_matrix: f16
// inputs, f32 sums; Vulkan's cooperative matrices), for the GEMMs of matmul.wgsl (f16 weights) and qgemm.wgsl
// (packed weights), which include this file inside their `// @if subgroup_matrix` blocks and define:
//   mma_x4(m, k) -> vec4<f32>      inputs x[m, k .. k + 3]
//   mma_stage_w(t, nt, k0)         the tile's weights for columns k0 .. k0 + 31 into wt_h[n * 32 + k] (0 past N)
//   mma_split() -> bool            whether to write raw partial sums (split-K) rather than y
// and p.M, p.N, p.K (K % 32 == 0), and include gemm_store.wgsl, whose store_row / store_part write the results.
// A workgroup is 4 subgroups of 32 invocations (lab: only where the subgroup size is fixed at 32), each computing
// a 32 x 32 quarter of the tile as 2 x 2 result matrices of 16 x 16. The inputs are rounded to f16 when staged:
// the sums stay f32.

var<workgroup> xt_h: array<f16, 2048>; // [64 rows][32 columns] of the inputs
var<workgroup> wt_h: array<f16, 2048>; // [64 outputs][32 columns] of the weights
var<workgroup> out_t: array<f32, 1024>; // [4 subgroups][16 x 16]: a result matrix on its way to y

/** The tile's inputs for columns k0 .. k0 + 31, rows past M as zeros: 512 quads over 128 invocations. */
fn mma_stage_x(t: u32, mt: u32, k0: u32) {
  for (var i = t; i < 512u; i += 128u) {
    let r = i / 8u;
    let q = i % 8u;
    var v = vec4<f32>(0.0);
    if (mt + r < p.M) { v = mma_x4(mt + r, k0 + 4u * q); }
    let o = r * 32u + 4u * q;
    xt_h[o] = f16(v.x);
    xt_h[o + 1u] = f16(v.y);
    xt_h[o + 2u] = f16(v.z);
    xt_h[o + 3u] = f16(v.w);
  }
}

/**
 * Writes subgroup sg's result matrix (stored in out_t[sg * 256 ..]) to rows m0 .. m0 + 15, outputs n0 .. n0 + 15
 * (those in range): each of the 32 lanes a row's 8 outputs, as two quads.
 */
fn mma_emit(sg: u32, lane: u32, m0: u32, n0: u32, z: u32) {
  let r = lane / 2u;
  let c = (lane % 2u) * 8u;
  let o = sg * 256u + r * 16u + c;
  let lo = vec4<f32>(out_t[o], out_t[o + 1u], out_t[o + 2u], out_t[o + 3u]);
  let hi = vec4<f32>(out_t[o + 4u], out_t[o + 5u], out_t[o + 6u], out_t[o + 7u]);
  if (mma_split()) {
    let base = z * p.M * p.N;
    store_part(base, m0 + r, n0 + c, lo);
    store_part(base, m0 + r, n0 + c + 4u, hi);
  } else {
    store_row(m0 + r, n0 + c, lo);
    store_row(m0 + r, n0 + c + 4u, hi);
  }
}

/** The tile (wg.x, wg.y), over the chunks of K of slice wg.z of nwg.z. */
fn mma_tile(wg: vec3<u32>, nwg: vec3<u32>, t: u32, sg: u32, lane: u32) {
  let nt = wg.x * 64u;
  let mt = wg.y * 64u;
  let chunks = p.K / 32u;
  let per = (chunks + nwg.z - 1u) / nwg.z;
  let c0 = wg.z * per;
  let c1 = min(chunks, c0 + per);
  let rm = (sg / 2u) * 32u; // this subgroup's quarter: rows rm .. rm + 31, outputs rn .. rn + 31 of the tile
  let rn = (sg % 2u) * 32u;
  var c00 = subgroup_matrix_result<f32, 16, 16>();
  var c01 = subgroup_matrix_result<f32, 16, 16>();
  var c10 = subgroup_matrix_result<f32, 16, 16>();
  var c11 = subgroup_matrix_result<f32, 16, 16>();
  for (var c = c0; c < c1; c++) {
    mma_stage_x(t, mt, c * 32u);
    mma_stage_w(t, nt, c * 32u);
    workgroupBarrier();
    for (var kk = 0u; kk < 32u; kk += 16u) {
      // inputs row-major [m][k]; weights [n][k] are the right matrix [k][n] column-major
      let a0 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&xt_h, rm * 32u + kk, 32u);
      let a1 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&xt_h, (rm + 16u) * 32u + kk, 32u);
      let b0 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&wt_h, rn * 32u + kk, 32u);
      let b1 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&wt_h, (rn + 16u) * 32u + kk, 32u);
      c00 = subgroupMatrixMultiplyAccumulate(a0, b0, c00);
      c01 = subgroupMatrixMultiplyAccumulate(a0, b1, c01);
      c10 = subgroupMatrixMultiplyAccumulate(a1, b0, c10);
      c11 = subgroupMatrixMultiplyAccumulate(a1, b1, c11);
    }
    workgroupBarrier();
  }
  // through workgroup memory: the bounds, the bias and the accumulation are applied per element
  subgroupMatrixStore<row_major>(&out_t, sg * 256u, c00, 16u);
  workgroupBarrier();
  mma_emit(sg, lane, mt + rm, nt + rn, wg.z);
  workgroupBarrier();
  subgroupMatrixStore<row_major>(&out_t, sg * 256u, c01, 16u);
  workgroupBarrier();
  mma_emit(sg, lane, mt + rm, nt + rn + 16u, wg.z);
  workgroupBarrier();
  subgroupMatrixStore<row_major>(&out_t, sg * 256u, c10, 16u);
  workgroupBarrier();
  mma_emit(sg, lane, mt + rm + 16u, nt + rn, wg.z);
  workgroupBarrier();
  subgroupMatrixStore<row_major>(&out_t, sg * 256u, c11, 16u);
  workgroupBarrier();
  mma_emit(sg, lane, mt + rm + 16u, nt + rn + 16u, wg.z);
}
