// The GEMMs' output stores, shared by qgemm.wgsl and matmul.wgsl's matrix-unit tile: each module that includes
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

/** The same raw (no bias, no accumulation) into the split-K partial sums from `base` ([splits][M][N]). */
fn store_part(base: u32, m: u32, n0: u32, v: vec4<f32>) {
  if (m >= p.M) { return; }
  for (var c = 0u; c < 4u; c++) {
    if (n0 + c < p.N) { part[base + m * p.N + n0 + c] = v[c]; }
  }
}
