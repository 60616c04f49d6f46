// The GEMMs' output stores, shared by qgemm.wgsl, matmul.wgsl and the matrix-unit tile: each module that includes
// this file declares p (M, N, flags: bit 0 add the bias, bit 1 accumulate into y), bias, y and part.

/** Row m's outputs n0 .. n0 + 3 (those in range), plus the bias and y as the flags ask. */
fn store_row(m: u32, n0: u32, v: vec4<f32>) {
  if (m >= p.M) { return; }
  for (var c = 0u; c < 4u; c++) {
    let n = n0 + c;
    if (n >= p.N) { return; }
    var r = v[c];
    if ((p.flags & 1u) != 0u) { r += bias[n]; }
    let o = m * p.N + n;
    if ((p.flags & 2u) != 0u) { r += y[o]; }
    y[o] = r;
  }
}

/** A 4 x 4 block: rows m0 .. m0 + 3, outputs n0 .. n0 + 3 (store_row each). */
fn store_rows(acc: array<vec4<f32>, 4>, m0: u32, n0: u32) {
  for (var i = 0u; i < 4u; i++) { store_row(m0 + i, n0, acc[i]); }
}

/** The same raw (no bias, no accumulation) into the split-K partial sums from `base` ([splits][M][N]). */
fn store_part(base: u32, m: u32, n0: u32, v: vec4<f32>) {
  if (m >= p.M) { return; }
  for (var c = 0u; c < 4u; c++) {
    if (n0 + c < p.N) { part[base + m * p.N + n0 + c] = v[c]; }
  }
}

/** A 4 x 4 block into split `z`'s partial sums (store_part each row). */
fn store_parts(z: u32, acc: array<vec4<f32>, 4>, m0: u32, n0: u32) {
  for (var i = 0u; i < 4u; i++) { store_part(z * p.M * p.N, m0 + i, n0, acc[i]); }
}
