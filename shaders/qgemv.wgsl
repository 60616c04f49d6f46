// The GEMVs on packed weights (one token, M = 1: the decode-time kernels). Entry points: gemv4 / gemv4_perm
// (out features % 4 == 0; f32, or in the shader-f16 variant two codes per op), gemv (any out features),
// gemv4_swiglu (an MLP's gate and up projections and its SwiGLU in one dispatch). Layout and decoders:
// qpacked.wgsl. (The benchmark's int8-input experiment builds on these readers: int8_input.wgsl.)
// Each 4-output GEMV may apply the RMSNorm in front of it (input_norm.wgsl).
// @include qpacked
// @include input_norm

// gemv4: the same buffers seen as vec4s (4 adjacent outputs per load)
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> qweight4: array<vec4<u32>>;
@group(0) @binding(7) var<storage, read_write> y4: array<vec4<f32>>;

// ---- GEMV (one token, M = 1): the decode-time kernels. XW invocations along the outputs (coalesced qweight
// rows), KSLICES slices of the K chunks along y, partial sums reduced in workgroup memory. XW x KSLICES is
// tuned on the GPU (quantlab bench --gemv): enough workgroups to fill every SM and enough loads in flight.
override XW: u32 = 32u;
override KSLICES: u32 = 8u;
var<workgroup> partial: array<f32, 1024>;

@compute @workgroup_size(XW, KSLICES)
fn gemv(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let n = wg.x * XW + lid.x;
  let nc = min(n, p.N - 1u);
  var acc = 0.0;
  for (var c = lid.y; c < p.K / 32u; c += KSLICES) {
    let kc = c * 32u;
    let wbase = c * BITS;
    var d = 0.0;
    var xs = 0.0;
    for (var i = 0u; i < 4u; i++) {
      let xv = inputs8(0u, kc + 8u * i);
      d += dot8(xv, codes8(nc, wbase, i));
      xs += sum8(xv);
    }
    let g = kc / p.G;
    acc += scale_at(g * p.N + nc) * (d - f32(zero_code(g, nc) + p.zeroOffset) * xs);
  }
  partial[lid.y * XW + lid.x] = acc;
  workgroupBarrier();
  if (lid.y == 0u && n < p.N) {
    var s = 0.0;
    for (var j = 0u; j < KSLICES; j++) { s += partial[j * XW + lid.x]; }
    if ((p.flags & 1u) != 0u) { s += bias[n]; }
    if ((p.flags & 2u) != 0u) { s += y[n]; }
    y[n] = s;
  }
}

// ---- GEMV with 4 adjacent outputs per invocation (N % 4 == 0): each qweight load is a vec4<u32> (one word of
// 4 rows' streams), and the codes of the 4 rows sit at the same bit positions, so decoding and FMAs are vec4
// operations; the chunk's 32 inputs are loaded once for all 4 outputs, the 4 scales in one 8-byte load and
// the 4 zeros from one or two words.
var<workgroup> partial4: array<vec4<f32>, 1024>;
@group(0) @binding(4) var<storage, read> scales4: array<vec2<u32>>; // 4 f16 scales

fn zeros4(g: u32, n0: u32) -> vec4<f32> {
  let bit = BITS * n0;
  let w = g * p.zwords + (bit >> 5u);
  let s = bit & 31u;
  var v = qzeros[w] >> s;
  if (s + 4u * BITS > 32u) { v |= qzeros[w + 1u] << (32u - s); }
  return to_f32((vec4<u32>(v) >> (vec4<u32>(0u, 1u, 2u, 3u) * BITS)) & vec4<u32>(MASK)) + f32(p.zeroOffset);
}

struct Inputs32 {
  v: array<f32, 32>,
  sum: f32,
}

/** The BITS words of chunk c for outputs n0 .. n0+3 (one vec4 load per word). */
fn words4(n0: u32, c: u32) -> array<vec4<u32>, 8> {
  var words: array<vec4<u32>, 8>;
  for (var w = 0u; w < BITS; w++) { words[w] = qweight4[((c * BITS + w) * p.N + n0) / 4u]; }
  return words;
}

fn chunk4(n0: u32, c: u32, words: array<vec4<u32>, 8>, xs: Inputs32) -> vec4<f32> {
  // One flat loop for every bit width: once unrolled (BITS is a pipeline constant) the word index and the
  // shifts are constants and the straddle test folds away where codes do not straddle words. (A nested
  // word/code loop was not unrolled: docs/experiments.md.)
  var d = vec4<f32>(0.0);
  for (var j = 0u; j < 32u; j++) {
    let bit = BITS * j;
    let w = bit >> 5u;
    let s = bit & 31u;
    var q: vec4<f32>;
    if (s + BITS > 32u) {
      // a code straddling two words (3 bits)
      q = to_f32(((words[w] >> vec4<u32>(s)) | (words[w + 1u] << vec4<u32>((32u - s) & 31u))) & vec4<u32>(MASK));
    } else if (s + BITS <= 23u) {
      q = code_in_place(words[w], s);
    } else {
      q = code_in_place(words[w] >> vec4<u32>(12u), s - 12u);
    }
    d += xs.v[j] * q;
  }
  let g = (c * 32u) / p.G;
  let sp = scales4[(g * p.N + n0) / 4u];
  let sc = vec4<f32>(unpack2x16float(sp.x), unpack2x16float(sp.y));
  return sc * (d - zeros4(g, n0) * xs.sum);
}

fn inputs32(c: u32) -> Inputs32 {
  var r: Inputs32;
  for (var q = 0u; q < 8u; q++) {
    let v = normed4(c * 8u + q, x4[c * 8u + q]);
    r.v[4u * q] = v.x;
    r.v[4u * q + 1u] = v.y;
    r.v[4u * q + 2u] = v.z;
    r.v[4u * q + 3u] = v.w;
    r.sum += v.x + v.y + v.z + v.w;
  }
  return r;
}

/** input_norm_begin4 for gemv4_perm, which reads binding 1 as scalars (x). */
fn input_norm_begin1(li: u32, n: u32) {
// @if input_norm
  let m = min(n, 64u);
  var ss = 0.0;
  if (li < m) {
    for (var k = li; k < p.K; k += m) { ss += x[k] * x[k]; }
  }
  input_norm_total(li, m, ss);
// @endif
}

fn inputs32_perm(c: u32) -> Inputs32 {
  var r: Inputs32;
  for (var j = 0u; j < 32u; j++) {
    let i = xidx[c * 32u + j];
    let v = normed1(i, x[i]);
    r.v[j] = v;
    r.sum += v;
  }
  return r;
}

// @if subgroups
// The adapter's subgroup size (fixed: packed.ts compiles this variant only where min = max size), the K slices
// a subgroup holds, and the partials per column quad left for the workgroup sum. The sum's bound stays a
// pipeline constant so that its loop is unrolled (a bound computed at run time was not, which the 4 x 128
// shapes' sum of 128 partials pays for: docs/experiments.md).
override SUBGROUP: u32 = 32u;
override SLICES_PER_SUBGROUP: u32 = max(SUBGROUP / XW, 1u);
override PARTIALS: u32 = KSLICES / SLICES_PER_SUBGROUP;
// @else
override PARTIALS: u32 = KSLICES;
// @endif

/** Leaves this invocation's sums of its K slices for gemv4_total, at partial4[base ..] (XW * PARTIALS entries). */
fn gemv4_stash(lid: vec3<u32>, acc: vec4<f32>, base: u32) {
// @if subgroups
  // A subgroup (aligned consecutive invocations: Gpu.subgroupReduce) holds the same XW column quads of
  // SLICES_PER_SUBGROUP K slices, which lanes l and l ^ m (m = XW, 2 XW, ...) add up first. XW is a power of
  // two and KSLICES a multiple of SLICES_PER_SUBGROUP (gemvSubgroup checks).
  var a = acc;
  for (var m = XW; m < SUBGROUP; m <<= 1u) { a += subgroupShuffleXor(a, m); }
  if (lid.y % SLICES_PER_SUBGROUP == 0u) { partial4[base + (lid.y / SLICES_PER_SUBGROUP) * XW + lid.x] = a; }
// @else
  partial4[base + lid.y * XW + lid.x] = acc;
// @endif
}

// 32 or more partials per column quad are added in two steps, FOLD invocations of the quad first taking
// PARTIALS / FOLD each (gemv4_fold, then a barrier): the sum that ends every workgroup, which nothing overlaps
// in the last ones, is then FOLD + PARTIALS / FOLD adds deep instead of PARTIALS (measured in
// docs/performance.md, "The end of every workgroup").
override FOLD: u32 = select(1u, 4u, PARTIALS >= 32u && PARTIALS % 4u == 0u);
override FOLD_SPAN: u32 = PARTIALS / FOLD;

fn gemv4_fold(lid: vec3<u32>, base: u32) {
  if (FOLD > 1u && lid.y < FOLD) {
    var s = vec4<f32>(0.0);
    for (var j = 0u; j < FOLD_SPAN; j++) { s += partial4[base + (lid.y * FOLD_SPAN + j) * XW + lid.x]; }
    partial4[base + lid.y * FOLD_SPAN * XW + lid.x] = s;
  }
}

/** The workgroup's sum for column quad lid.x, after gemv4_stash, a workgroupBarrier, gemv4_fold and (FOLD > 1) another. */
fn gemv4_total(lid: vec3<u32>, base: u32) -> vec4<f32> {
  var s = vec4<f32>(0.0);
  if (FOLD == 1u) {
    for (var j = 0u; j < PARTIALS; j++) { s += partial4[base + j * XW + lid.x]; }
  } else {
    for (var j = 0u; j < FOLD; j++) { s += partial4[base + j * FOLD_SPAN * XW + lid.x]; }
  }
  return s;
}

/** Every invocation's sums stashed and folded, ready for gemv4_total (holds barriers: every invocation calls it). */
fn gemv4_reduce(lid: vec3<u32>, acc: vec4<f32>) {
  gemv4_stash(lid, acc, 0u);
  workgroupBarrier();
  gemv4_fold(lid, 0u);
  if (FOLD > 1u) { workgroupBarrier(); }
}

fn gemv4_finish(lid: vec3<u32>, n0: u32, acc: vec4<f32>) {
  gemv4_reduce(lid, acc);
  if (lid.y == 0u && n0 < p.N) {
    var s = gemv4_total(lid, 0u);
    if ((p.flags & 1u) != 0u) { s += vec4<f32>(bias[n0], bias[n0 + 1u], bias[n0 + 2u], bias[n0 + 3u]); }
    if ((p.flags & 2u) != 0u) { s += y4[n0 / 4u]; }
    y4[n0 / 4u] = s;
  }
}

// Each invocation walks its K chunks two at a time, both chunks' words loaded before either is decoded:
// twice the bytes in flight per invocation, which pays where K is long. gemv_inputs and gemv_chunk are
// inputs32 and chunk4, or in the module's shader-f16 variant their half-precision versions (end of file;
// called directly: a wrapper around the f16 decode compiled to a slower kernel, docs/experiments.md).
@compute @workgroup_size(XW, KSLICES)
fn gemv4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  input_norm_begin4(lid.y * XW + lid.x, XW * KSLICES);
  let n0 = min((wg.x * XW + lid.x) * 4u, p.N - 4u);
  let chunks = p.K / 32u;
  var acc = vec4<f32>(0.0);
  var c = lid.y;
  for (; c + KSLICES < chunks; c += 2u * KSLICES) {
    let wa = words4(n0, c);
    let wb = words4(n0, c + KSLICES);
    acc += gemv_chunk(n0, c, wa, gemv_inputs(c)) + gemv_chunk(n0, c + KSLICES, wb, gemv_inputs(c + KSLICES));
  }
  if (c < chunks) { acc += gemv_chunk(n0, c, words4(n0, c), gemv_inputs(c)); }
  gemv4_finish(lid, (wg.x * XW + lid.x) * 4u, acc);
}

// gemv4 reading its input through the act-order permutation (inputs32_perm): the same loop, since WGSL cannot
// pass the input reader as a parameter and the two read binding 1 as different types
@compute @workgroup_size(XW, KSLICES)
fn gemv4_perm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  input_norm_begin1(lid.y * XW + lid.x, XW * KSLICES);
  let n0 = min((wg.x * XW + lid.x) * 4u, p.N - 4u);
  let chunks = p.K / 32u;
  var acc = vec4<f32>(0.0);
  var c = lid.y;
  for (; c + KSLICES < chunks; c += 2u * KSLICES) {
    let wa = words4(n0, c);
    let wb = words4(n0, c + KSLICES);
    acc += chunk4(n0, c, wa, inputs32_perm(c)) + chunk4(n0, c + KSLICES, wb, inputs32_perm(c + KSLICES));
  }
  if (c < chunks) { acc += chunk4(n0, c, words4(n0, c), inputs32_perm(c)); }
  gemv4_finish(lid, (wg.x * XW + lid.x) * 4u, acc);
}

// ---- gate and up projections of an MLP in one dispatch, with its SwiGLU: y = silu(W_gate x) * (W_up x), M = 1.
// The gate's packed weights in bindings 2-4, the up projection's (same shape, bits, groups and input order) in
// 9-11; one input chunk serves both, and each step loads one chunk of each matrix (the bytes in flight of
// gemv4's two chunks). Saves two dispatches per decode step and layer (up, swiglu) and a second read of x.
// The up projection's readers are the gate's, cloned by the shader loader with its bindings (`_up` names): one
// function that reads a chunk's scales and zeros and decodes it, as in gemv4 (the same decode with the scales
// and zeros read by its caller compiled to a slower kernel: docs/experiments.md).
@group(0) @binding(9) var<storage, read> qweight4_up: array<vec4<u32>>;
@group(0) @binding(10) var<storage, read> qzeros_up: array<u32>;
@group(0) @binding(11) var<storage, read> scales4_up: array<vec2<u32>>;
// @clone _up qweight4 qzeros scales4 words4 zeros4 chunk4 gemv_chunk

/** The workgroup's gate and up sums, and y = silu(gate) * up for its column quads. */
fn gemv4_swiglu_finish(wg: vec3<u32>, lid: vec3<u32>, gate: vec4<f32>, up: vec4<f32>) {
  gemv4_stash(lid, gate, 0u);
  gemv4_stash(lid, up, XW * PARTIALS);
  workgroupBarrier();
  gemv4_fold(lid, 0u);
  gemv4_fold(lid, XW * PARTIALS);
  if (FOLD > 1u) { workgroupBarrier(); }
  let n = (wg.x * XW + lid.x) * 4u;
  if (lid.y == 0u && n < p.N) {
    let g = gemv4_total(lid, 0u);
    y4[n / 4u] = g / (1.0 + exp(-g)) * gemv4_total(lid, XW * PARTIALS);
  }
}

@compute @workgroup_size(XW, KSLICES)
fn gemv4_swiglu(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  input_norm_begin4(lid.y * XW + lid.x, XW * KSLICES);
  let n0 = min((wg.x * XW + lid.x) * 4u, p.N - 4u);
  var gate = vec4<f32>(0.0);
  var up = vec4<f32>(0.0);
  for (var c = lid.y; c < p.K / 32u; c += KSLICES) {
    let wgate = words4(n0, c);
    let wup = words4_up(n0, c);
    let xs = gemv_inputs(c);
    gate += gemv_chunk(n0, c, wgate, xs);
    up += gemv_chunk_up(n0, c, wup, xs);
  }
  gemv4_swiglu_finish(wg, lid, gate, up);
}

// ---- q, k and v of one input in one dispatch (M = 1): each matrix's packed words as stored (bindings 2, 9 and 10,
// each [K words, its rows]), their zeros and scales concatenated along the rows (nq + nk + nv = N rows, in
// bindings 3 and 4: made once by packed.ts), outputs to 7, 11 and 13. nq and nk are multiples of a workgroup's
// 4 XW outputs, so each workgroup reads one matrix, chosen once. Saves two dispatches per decode step and layer.
@group(0) @binding(9) var<storage, read> qweight4_k: array<vec4<u32>>;
@group(0) @binding(10) var<storage, read> qweight4_v: array<vec4<u32>>;
@group(0) @binding(11) var<storage, read_write> y4_k: array<vec4<f32>>;
@group(0) @binding(13) var<storage, read_write> y4_v: array<vec4<f32>>;

/** The matrix a workgroup's outputs lie in (0 q, 1 k, 2 v), its first row among the N, and its row count. */
struct QkvPart {
  m: u32,
  base: u32,
  rows: u32,
}

fn qkv_part(wg: vec3<u32>) -> QkvPart {
  let first = wg.x * XW * 4u;
  if (first >= p.nq + p.nk) { return QkvPart(2u, p.nq + p.nk, p.N - p.nq - p.nk); }
  if (first >= p.nq) { return QkvPart(1u, p.nq, p.nk); }
  return QkvPart(0u, 0u, p.nq);
}

/** words4 of the workgroup's matrix, for its rows n0 .. n0 + 3 (counted within it). */
fn qkv_words4(q: QkvPart, n0: u32, c: u32) -> array<vec4<u32>, 8> {
  var words: array<vec4<u32>, 8>;
  for (var w = 0u; w < BITS; w++) {
    let i = ((c * BITS + w) * q.rows + n0) / 4u;
    if (q.m == 0u) { words[w] = qweight4[i]; } else if (q.m == 1u) { words[w] = qweight4_k[i]; } else { words[w] = qweight4_v[i]; }
  }
  return words;
}

/** The workgroup's sums into its matrix's output (gemv4_finish without bias or accumulation). */
fn qkv_finish(wg: vec3<u32>, lid: vec3<u32>, q: QkvPart, acc: vec4<f32>) {
  gemv4_reduce(lid, acc);
  let n = (wg.x * XW + lid.x) * 4u;
  if (lid.y == 0u && n < p.N) {
    let s = gemv4_total(lid, 0u);
    let i = (n - q.base) / 4u;
    if (q.m == 0u) { y4[i] = s; } else if (q.m == 1u) { y4_k[i] = s; } else { y4_v[i] = s; }
  }
}

@compute @workgroup_size(XW, KSLICES)
fn gemv4_qkv(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  input_norm_begin4(lid.y * XW + lid.x, XW * KSLICES);
  let q = qkv_part(wg);
  let n0 = min((wg.x * XW + lid.x) * 4u, p.N - 4u); // among the N rows: the concatenated zeros and scales
  var acc = vec4<f32>(0.0);
  for (var c = lid.y; c < p.K / 32u; c += KSLICES) { acc += gemv_chunk(n0, c, qkv_words4(q, n0 - q.base, c), gemv_inputs(c)); }
  qkv_finish(wg, lid, q, acc);
}

// gemv4_qkv reading its input through the act-order permutation that q, k and v share (f32, as gemv4_perm)
@compute @workgroup_size(XW, KSLICES)
fn gemv4_qkv_perm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  input_norm_begin1(lid.y * XW + lid.x, XW * KSLICES);
  let q = qkv_part(wg);
  let n0 = min((wg.x * XW + lid.x) * 4u, p.N - 4u);
  var acc = vec4<f32>(0.0);
  for (var c = lid.y; c < p.K / 32u; c += KSLICES) { acc += chunk4(n0, c, qkv_words4(q, n0 - q.base, c), inputs32_perm(c)); }
  qkv_finish(wg, lid, q, acc);
}

// @if f16
// ---- GEMV in half precision (shader-f16; bits 2, 3, 4 and 8): the gemv4 loop with two codes per 32-bit op. A
// word's two 16-bit halves hold codes j and j + 16/BITS at the same bit position s (3 bits: in words made from
// the chunk's, see gemv_chunk), so one mask-and-or of the word under the f16 exponent of 2^(10 - s) gives both
// as the f16 pair 2^(10 - s) + code (exact: s + BITS <= 10; codes higher in a half are first shifted down by
// 8); one subtraction of (2^(10 - s) + zero) leaves q - zero
// exactly, and one vec2 FMA multiplies both by their inputs. Per chunk and output the 32 products are summed
// in f16, then scaled and accumulated in f32. Inputs are rounded to f16 (|x| must stay below 65504).
struct Pairs16 {
  v: array<vec2<f16>, 16>,
}

/** The chunk's 32 inputs as the pairs the words hold: pair i = inputs (w * CPW + j, w * CPW + j + CPW / 2)
 *  with w = i / (CPW / 2), j = i % (CPW / 2), CPW = 32 / BITS codes per word (3 bits: below). */
fn gemv_inputs(c: u32) -> Pairs16 {
  var xs: array<vec4<f32>, 8>;
  for (var q = 0u; q < 8u; q++) { xs[q] = normed4(c * 8u + q, x4[c * 8u + q]); }
  let cph = 16u / BITS;
  var r: Pairs16;
  for (var i = 0u; i < 16u; i++) {
    var e = (i / cph) * 2u * cph + i % cph;
    var f = e + cph;
    if (BITS == 3u) {
      // 3 bits: pairs (j, j + 5), (11 + j, 16 + j), (22 + j, 27 + j) for j < 5, then (10, 21): see gemv_chunk
      e = select(11u * (i / 5u) + i % 5u, 10u, i == 15u);
      f = select(e + 5u, 21u, i == 15u);
    }
    r.v[i] = vec2<f16>(vec2<f32>(xs[e / 4u][e % 4u], xs[f / 4u][f % 4u]));
  }
  return r;
}

fn gemv_chunk(n0: u32, c: u32, words: array<vec4<u32>, 8>, xs: Pairs16) -> vec4<f32> {
  let cph = 16u / BITS;
  let g = (c * 32u) / p.G;
  let z = zeros4(g, n0);
  let sp = scales4[(g * p.N + n0) / 4u];
  let sc = vec4<f32>(unpack2x16float(sp.x), unpack2x16float(sp.y));
  var out = vec4<f32>(0.0);
  for (var r = 0u; r < 4u; r++) {
    let zr = vec2<f16>(f16(z[r]));
    // the words whose halves hold the pairs at equal bit positions: the chunk's own words, or for 3 bits (no
    // code sits 16 bits after another) four made from its three: codes j and j + 5 lie 15 bits apart, so one
    // half shifted by a bit lines them up (v0: codes 0-4 and 5-9, v1: 11-15 and 16-20, v2: 22-26 and 27-31, each
    // pair 3 * (i % 5) bits up in both halves); v3 holds the two codes that straddle words, 10 and 21.
    var v: array<u32, 4>;
    if (BITS == 3u) {
      let w0 = words[0][r];
      let w1 = words[1][r];
      let w2 = words[2][r];
      v[0] = (w0 & 0xFFFFu) | ((w0 << 1u) & 0xFFFF0000u);
      v[1] = ((w1 >> 1u) & 0xFFFFu) | (w1 & 0xFFFF0000u);
      v[2] = ((w2 >> 2u) & 0xFFFFu) | ((w2 >> 1u) & 0xFFFF0000u);
      v[3] = (((w0 >> 30u) | (w1 << 2u)) & 7u) | ((((w1 >> 31u) | (w2 << 1u)) & 7u) << 16u);
    }
    var d = vec2<f16>(0.0);
    for (var i = 0u; i < 16u; i++) {
      var u = words[i / cph][r];
      var s = BITS * (i % cph);
      if (BITS == 3u) {
        u = v[i / 5u];
        s = 3u * (i % 5u);
      }
      if (s + BITS > 10u) {
        u = u >> 8u;
        s -= 8u;
      }
      let e = ((25u - s) << 10u) * 0x10001u; // 2^(10 - s) in both halves
      let q = bitcast<vec2<f16>>((u & ((MASK << s) * 0x10001u)) | e) - (bitcast<vec2<f16>>(e) + zr);
      d = fma(xs.v[i], q, d);
    }
    out[r] = sc[r] * (f32(d.x) + f32(d.y));
  }
  return out;
}

// @else
// gemv4's chunk inputs and decode in the f32 variant of the module (the f16 variant defines them above)
fn gemv_inputs(c: u32) -> Inputs32 {
  return inputs32(c);
}
fn gemv_chunk(n0: u32, c: u32, words: array<vec4<u32>, 8>, xs: Inputs32) -> vec4<f32> {
  return chunk4(n0, c, words, xs);
}
// @endif
