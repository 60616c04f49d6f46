// The GEMM on packed weights (M > 1: prefill, evaluation): the tiled kernel with split-K, and an untiled one
// for CPU adapters. Entry points: main, main_serial, split_reduce. Layout and decoders: qpacked.wgsl.
// @include qpacked
// @include gemm_store

// split-K: the GEMM's partial sums [splits][M][N], summed by split_reduce
@group(0) @binding(8) var<storage, read_write> part: array<f32>;

// ---- GEMM (M > 1: prefill, evaluation): 64 x 64 output tiles, 16 x 16 invocations each computing 4 rows x 4
// outputs. Per 32-column chunk the workgroup stages the inputs [32 k][64 rows] and the dequantized weights
// [32 k][64 outputs] in workgroup memory, so each packed word is read and decoded once per tile rather than
// once per row, then runs 32 rank-1 updates from there (two vec4 loads per 16 FMAs).
// Split-K (flag bit 3): when there are too few tiles to fill the GPU, workgroup z of nwg.z takes one slice of
// the chunks and writes its raw sums to `part`; split_reduce adds the slices up.
var<workgroup> xt: array<vec4<f32>, 512>; // xt[k * 16 + q]: rows 4q .. 4q+3 of the tile at chunk column k
var<workgroup> wt: array<vec4<f32>, 512>; // wt[k * 16 + q]: outputs 4q .. 4q+3 of the tile at chunk column k

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let nt = wg.x * 64u;
  let mt = wg.y * 64u;
  let per = (p.K / 32u + nwg.z - 1u) / nwg.z; // chunks per split
  let k0 = wg.z * per * 32u;
  let k1 = min(p.K, k0 + per * 32u);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var kc = k0; kc < k1; kc += 32u) {
    // inputs: invocation li fills column k = li % 32 for row quads li / 32 and li / 32 + 8 (a warp reads
    // 32 consecutive inputs of a row: coalesced; a permuted input was gathered by gather_input first)
    let k = li % 32u;
    let col = kc + k;
    for (var h = 0u; h < 2u; h++) {
      let q = li / 32u + 8u * h;
      let r = mt + 4u * q;
      xt[k * 16u + q] = vec4<f32>(x[min(r, p.M - 1u) * p.K + col], x[min(r + 1u, p.M - 1u) * p.K + col],
                                  x[min(r + 2u, p.M - 1u) * p.K + col], x[min(r + 3u, p.M - 1u) * p.K + col]);
    }
    // weights: invocations 0..63 decode eight e = li / 16 of the output quad q = li % 16
    if (li < 64u) {
      let q = li % 16u;
      let e = li / 16u;
      let g = kc / p.G;
      let wbase = (kc / 32u) * BITS;
      var lo: array<vec4<f32>, 4>;
      var hi: array<vec4<f32>, 4>;
      for (var c = 0u; c < 4u; c++) {
        let n = min(nt + 4u * q + c, p.N - 1u);
        let codes = codes8(n, wbase, e);
        let s = scale_at(g * p.N + n);
        let z = f32(zero_code(g, n) + p.zeroOffset);
        lo[c] = s * (codes.a - z);
        hi[c] = s * (codes.b - z);
      }
      for (var j = 0u; j < 4u; j++) {
        wt[(8u * e + j) * 16u + q] = vec4<f32>(lo[0][j], lo[1][j], lo[2][j], lo[3][j]);
        wt[(8u * e + 4u + j) * 16u + q] = vec4<f32>(hi[0][j], hi[1][j], hi[2][j], hi[3][j]);
      }
    }
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
  if ((p.flags & 8u) != 0u) {
    store_parts(wg.z, acc, m0, n0);
    return;
  }
  store_rows(acc, m0, n0);
}


// ---- the GEMM on matrix units: mma_tile.wgsl's tile, its weights decoded to f16 in workgroup memory; split-K
// as `main`
// @if subgroup_matrix
// @include mma_tile
fn mma_x4(m: u32, k: u32) -> vec4<f32> {
  let o = m * p.K + k;
  return vec4<f32>(x[o], x[o + 1u], x[o + 2u], x[o + 3u]);
}
fn mma_split() -> bool {
  return (p.flags & 8u) != 0u;
}
fn mma_stage_w(t: u32, nt: u32, k0: u32) {
  // 64 outputs x 4 runs of 8 codes: two per invocation (consecutive invocations, consecutive outputs: coalesced)
  let g = k0 / p.G;
  let wbase = (k0 / 32u) * BITS;
  for (var i = t; i < 256u; i += 128u) {
    let r = i % 64u;
    let e = i / 64u;
    let n = nt + r;
    var lo = vec4<f32>(0.0);
    var hi = vec4<f32>(0.0);
    if (n < p.N) {
      let codes = codes8(n, wbase, e);
      let s = scale_at(g * p.N + n);
      let z = f32(zero_code(g, n) + p.zeroOffset);
      lo = s * (codes.a - z);
      hi = s * (codes.b - z);
    }
    let o = r * 32u + 8u * e;
    for (var j = 0u; j < 4u; j++) {
      wt_h[o + j] = f16(lo[j]);
      wt_h[o + 4u + j] = f16(hi[j]);
    }
  }
}
@compute @workgroup_size(128)
fn main_mma(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32,
            @builtin(subgroup_id) sg: u32, @builtin(subgroup_invocation_id) lane: u32) {
  mma_tile(wg, nwg, t, sg, lane);
}
// @endif

// ---- GEMM without workgroup memory or barriers, for CPU adapters (SwiftShader), where a barrier costs a switch of
// every invocation: each invocation a block of 4 rows x 4 outputs, decoding its own weights (main's staging,
// barriers and all, is far slower there).
@compute @workgroup_size(8, 8)
fn main_serial(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  if (n0 >= p.N || m0 >= p.M) { return; }
  var acc: array<vec4<f32>, 4>; // acc[i][j]: row m0 + i, output n0 + j
  for (var kc = 0u; kc < p.K; kc += 32u) {
    let g = kc / p.G;
    let wbase = (kc / 32u) * BITS;
    for (var j = 0u; j < 4u; j++) {
      let n = min(n0 + j, p.N - 1u);
      let sc = scale_at(g * p.N + n);
      let z = f32(zero_code(g, n) + p.zeroOffset);
      for (var e = 0u; e < 4u; e++) {
        let codes = codes8(n, wbase, e);
        for (var i = 0u; i < 4u; i++) {
          let xs = inputs8(min(m0 + i, p.M - 1u), kc + 8u * e);
          acc[i][j] += sc * (dot8(xs, codes) - z * sum8(xs));
        }
      }
    }
  }
  store_rows(acc, m0, n0);
}

// y[m, n] = sum over the splits of part[z, m, n] (+ bias) (+ y)
@compute @workgroup_size(256)
fn split_reduce(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 256u;
  if (e >= p.M * p.N) { return; }
  var s = 0.0;
  for (var z = 0u; z < p.splits; z++) { s += part[z * p.M * p.N + e]; }
  if ((p.flags & 1u) != 0u) { s += bias[e % p.N]; }
  if ((p.flags & 2u) != 0u) { s += y[e]; }
  y[e] = s;
}

