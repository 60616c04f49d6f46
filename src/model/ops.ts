// Typed launchers of the forward-pass kernels (shaders/*.wgsl). Each records one dispatch into a batch;
// shapes and the grid live here, the math lives in the WGSL.
import { type Binding, type CommandBatch, grid, Params } from '../gpu/gpu';
import type { ShaderFeature } from '../gpu/shaders';

const TILE = 32; // matmul: 8x8 invocations x 4x4 outputs each
/** The shader features of the GEMMs on matrix units (Gpu.matrixUnits). */
export const MMA_FEATURES: ShaderFeature[] = ['f16', 'subgroups', 'subgroup_matrix'];
/** A grid of one workgroup per row, spread over x and y when rows exceed the per-dimension limit. */
export const rowGrid = (rows: number): [number, number] => grid(rows);

/** y[M,N] = x[M,K] * W[N,K]^T (+ bias) (+ y when accumulate). */
export function matmul(
  b: CommandBatch,
  x: Binding,
  w: Binding,
  y: Binding,
  M: number,
  N: number,
  K: number,
  opts: { bias?: Binding; accumulate?: boolean; empty: GPUBuffer; gemv?: boolean; wF16?: boolean; tiled?: boolean; splitK?: number; norm?: InputNorm },
): void {
  const flags = (opts.bias ? 1 : 0) | (opts.accumulate ? 2 : 0);
  const params = matmulParams(M, N, K, flags);
  if (opts.wF16 && K % 4 !== 0) throw new RangeError(`matmul: f16 weights need in features (${K}) divisible by 4`);
  // One token on a GPU: the GEMV reads W with coalesced vec4 loads (the 4x4-block GEMM would waste 3/4).
  if ((opts.gemv ?? (M === 1 && !b.gpu.serialKernels)) && M === 1 && K % 4 === 0) {
    const rows = gemvRows(b, N);
    b.dispatch(gemvSpec(b, 'gemv', opts.wF16, opts.norm, rows), { 1: x, 2: w, 3: opts.bias ?? opts.empty, 4: y, ...normBinding(opts.norm) }, rowGrid(Math.ceil(N / rows)),
      matmulParams(M, N, K, flags, 0, 0, opts.norm));
    return;
  }
  if (opts.norm) throw new RangeError('matmul: only the one-token GEMV applies an input norm (takesInputNorm)');
  if (K % 4 === 0 && (opts.tiled ?? !b.gpu.serialKernels)) {
    // GPUs: 64 x 64 tiles staged in workgroup memory; sliced along K where the tiles are too few to fill the GPU
    const tiles: [number, number] = [Math.ceil(N / 64), Math.ceil(M / 64)];
    const splits = opts.splitK ?? splitKFor(tiles[0] * tiles[1], Math.ceil(K / 32));
    // the matrix units take f16 weights in runs of 32 columns (mma_tile.wgsl); else the f32 tile
    const mma = b.gpu.matrixUnits && opts.wF16 && K % 32 === 0;
    const spec = mma
      ? { shader: 'matmul', entry: 'tiled_mma', defines: ['weights_f16'], features: MMA_FEATURES }
      : { shader: 'matmul', entry: 'tiled', defines: weightDefines(opts.wF16) };
    if (splits <= 1) {
      // `part` is not written without the split flag, but it is a writable binding: not the read-only `empty`
      b.dispatch(spec, { 1: x, 2: w, 3: opts.bias ?? opts.empty, 4: y, 6: b.gpu.scratch(16, 'splitk') }, tiles, params);
      return;
    }
    const part = b.gpu.scratch(splits * M * N * 4, 'splitk');
    b.dispatch(spec, { 1: x, 2: w, 3: opts.bias ?? opts.empty, 4: y, 6: part }, [...tiles, splits], matmulParams(M, N, K, flags | 4));
    b.dispatch({ shader: 'matmul', entry: 'split_reduce' }, { 3: opts.bias ?? opts.empty, 4: y, 6: part }, grid(M * N, 256), matmulParams(M, N, splits, flags));
    return;
  }
  // CPU adapters (no barriers) and K % 4 != 0: a 4 x 4 block per invocation straight from memory
  b.dispatch(
    { shader: 'matmul', entry: K % 4 === 0 ? 'main' : 'main_scalar', defines: weightDefines(opts.wF16) },
    [x, w, opts.bias ?? opts.empty, y],
    [Math.ceil(N / TILE), Math.ceil(M / TILE)],
    params,
  );
}

/**
 * Split-K slices for a GEMM of `tiles` 64x64 output tiles over `chunks` 32-column chunks: enough workgroups to
 * keep every SM of a large GPU busy (~4 per SM on 132 SMs), each slice at least 8 chunks long, at most 8 slices.
 */
export function splitKFor(tiles: number, chunks: number): number {
  if (tiles >= 264) return 1;
  return Math.max(1, Math.min(8, Math.floor(528 / tiles), Math.floor(chunks / 8)));
}

/** The Params of shaders/matmul.wgsl: M, N, K, flags, the q and k row counts of the fused q/k/v GEMV, the input norm's eps. */
const matmulParams = (M: number, N: number, K: number, flags: number, nq = 0, nk = 0, norm?: InputNorm) =>
  new Params().u32(M, N, K, flags, nq, nk).f32(norm?.eps ?? 0).u32(0);

/**
 * An RMSNorm that a one-token GEMV applies to its input itself (x * rsqrt(mean(x^2) + eps) * weight, as
 * `rmsnorm`): the norm's dispatch saved (shaders/input_norm.wgsl). The weight binds at 12.
 */
export interface InputNorm {
  weight: Binding;
  eps: number;
}

/** Storage bindings a fused GEMV can have with an input norm: its own (8 for q/k/v and packed gate/up) and the norm's weight. */
export const INPUT_NORM_BINDINGS = 9;
/** Workgroup memory of a GEMV with an input norm: the packed ones' 16 KiB of partial sums and the norm's 64 floats. */
export const INPUT_NORM_WORKGROUP_BYTES = 16384 + 256;

/** The norm's binding, if any. */
export const normBinding = (norm?: InputNorm): Record<number, Binding> => (norm ? { 12: norm.weight } : {});

/**
 * yq, yk, yv = x W_q^T, x W_k^T, x W_v^T (+ their biases, concatenated q|k|v in `bias`) for one token (M = 1), in
 * one dispatch over the rows of all three (matmul.wgsl gemv_qkv): a decode step's three projections of one
 * input. W_* [N_*, K] as `matmul` takes them (f32, or f16 with wF16); K % 4 == 0; N_q and N_k even.
 */
export function gemvQkv(
  b: CommandBatch,
  x: Binding,
  w: { q: Binding; k: Binding; v: Binding },
  y: { q: Binding; k: Binding; v: Binding },
  n: { q: number; k: number; v: number },
  K: number,
  opts: { bias?: Binding; empty: GPUBuffer; wF16?: boolean; norm?: InputNorm },
): void {
  if (K % 4 !== 0 || n.q % GEMV_ROWS !== 0 || n.k % GEMV_ROWS !== 0) throw new RangeError(`gemvQkv: in features (${K}) must be a multiple of 4 and q/k rows (${n.q}, ${n.k}) of ${GEMV_ROWS}`);
  const N = n.q + n.k + n.v;
  b.dispatch(gemvSpec(b, 'gemv_qkv', opts.wF16, opts.norm), { 1: x, 2: w.q, 5: w.k, 6: w.v, 3: opts.bias ?? opts.empty, 4: y.q, 7: y.k, 8: y.v, ...normBinding(opts.norm) },
    rowGrid(Math.ceil(N / GEMV_ROWS)), matmulParams(1, N, K, opts.bias ? 1 : 0, n.q, n.k, opts.norm));
}

/** The shader variant that reads float weights stored in f16 (pairs in u32s, widened to f32). */
const weightDefines = (f16?: boolean) => (f16 ? ['weights_f16'] : undefined);

/** Rows per workgroup of the fp32 GEMVs (matmul.wgsl). */
const GEMV_ROWS = 2;
/**
 * Rows per workgroup of a GEMV as wide as a vocabulary (N >= WIDE_GEMV_N), one subgroup a row: with 2 rows, each
 * of the LM head's ~76K workgroups re-reads x and re-sums its norm for 4 KiB of weights.
 */
export const WIDE_GEMV_ROWS = 8, WIDE_GEMV_N = 16384;

/** Whether a GEMV of `rows` rows per workgroup of 256 sums with subgroups: they are aligned runs no wider than a row's share. */
const gemvSubgroupSums = (b: CommandBatch, rows: number) => b.gpu.subgroupReduce && (b.gpu.adapter.subgroupMaxSize ?? 128) <= 256 / rows;

/** The rows per workgroup of an N-row GEMV: WIDE_GEMV_ROWS where N is wide and a subgroup fits in a row's share. */
export function gemvRows(b: CommandBatch, N: number): number {
  return N >= WIDE_GEMV_N && gemvSubgroupSums(b, WIDE_GEMV_ROWS) ? WIDE_GEMV_ROWS : GEMV_ROWS;
}

/** The GEMV entry `entry` of shaders/matmul.wgsl, or its `_subgroups` variant where no subgroup can span two rows. */
function gemvSpec(b: CommandBatch, entry: 'gemv' | 'gemv_swiglu' | 'gemv_qkv', wF16?: boolean, norm?: InputNorm, rows = GEMV_ROWS) {
  const sub = gemvSubgroupSums(b, rows);
  const constants = { ROWS: rows }, defines = [...(weightDefines(wF16) ?? []), ...(norm ? ['input_norm'] : [])];
  return sub
    ? { shader: 'matmul', entry: `${entry}_subgroups`, constants, defines, features: ['subgroups' as const] }
    : { shader: 'matmul', entry, constants, defines };
}

/**
 * y = silu(x W_gate^T) * (x W_up^T) for one token (M = 1; K % 4 == 0) in one dispatch: an MLP's gate, up and
 * SwiGLU (matmul.wgsl gemv_swiglu), W_gate and W_up [N, K] f32.
 */
export function gemvSwiglu(b: CommandBatch, x: Binding, wGate: Binding, wUp: Binding, y: Binding, N: number, K: number, wF16?: boolean, norm?: InputNorm): void {
  if (K % 4 !== 0) throw new RangeError(`gemvSwiglu: in features (${K}) must be a multiple of 4`);
  b.dispatch(gemvSpec(b, 'gemv_swiglu', wF16, norm), { 1: x, 2: wGate, 4: y, 5: wUp, ...normBinding(norm) }, rowGrid(Math.ceil(N / GEMV_ROWS)), matmulParams(1, N, K, 0, 0, 0, norm));
}

/** out[i, :] = src[idx[i], :] for i < rows; `srcF16`: src stored in f16 (cols even), out f32. */
export function gatherRows(b: CommandBatch, src: Binding, idx: Binding, out: Binding, rows: number, cols: number, srcF16 = false): void {
  if (srcF16 && cols % 2 !== 0) throw new RangeError(`gatherRows: f16 rows need an even length (have ${cols})`);
  b.dispatch({ shader: 'elementwise', entry: 'gather_rows', defines: weightDefines(srcF16) }, [src, idx, out], rowGrid(rows), new Params().u32(rows, cols, 0, 0));
}

/** dst[i] = src[i] for n values stored in f16 (n even), widened to f32. */
export function widenF16(b: CommandBatch, src: Binding, dst: Binding, n: number): void {
  if (n % 2 !== 0) throw new RangeError(`widenF16: ${n} values are not whole f16 pairs`);
  b.dispatch({ shader: 'elementwise', entry: 'widen_f16' }, [src, dst], grid(n / 2, 256), new Params().u32(n / 2, 0, 0, 0));
}

/** gate = silu(gate) * up over n elements. */
export function swiglu(b: CommandBatch, gate: Binding, up: Binding, n: number): void {
  b.dispatch({ shader: 'elementwise', entry: 'swiglu' }, [gate, up], grid(n, 256), new Params().u32(n, 0, 0, 0));
}

/** Which variant of a reduction kernel: one workgroup per row (GPUs), or one invocation per row (CPU adapters). */
export type Variant = 'workgroup' | 'serial';
const variantOf = (b: CommandBatch, v?: Variant): Variant => v ?? (b.gpu.serialKernels ? 'serial' : 'workgroup');

/** A grid of one invocation per row, in workgroups of 64. */
function serialGrid(rows: number): [number, number] {
  return rowGrid(Math.ceil(rows / 64));
}

/** y = rmsnorm(x) * weight per row of `cols`; in place when y is omitted. */
export function rmsnorm(b: CommandBatch, x: Binding, weight: Binding, rows: number, cols: number, eps: number, y?: Binding, variant?: Variant): void {
  const params = new Params().u32(rows, cols).f32(eps).u32(0);
  const serial = variantOf(b, variant) === 'serial';
  const grid = serial ? serialGrid(rows) : rowGrid(rows);
  const constants = serial ? undefined : { WG: cols >= 512 ? 256 : 64 };
  if (y) b.dispatch({ shader: 'rmsnorm', entry: serial ? 'serial' : 'main', constants }, [x, weight, y], grid, params);
  else b.dispatch({ shader: 'rmsnorm', entry: serial ? 'serial_in_place' : 'in_place', constants }, [x, weight], grid, params);
}

/** The rotary tables on the GPU: [cos | sin] for `positions` positions (src/model/rope.ts ropeTables). */
export interface RopeTable {
  buffer: GPUBuffer;
  positions: number;
}

/** Rotary embedding in place on q [rows, qHeads*hd] and k [rows, kvHeads*hd]; rows = batch*seq. */
export function rope(
  b: CommandBatch,
  q: Binding,
  k: Binding,
  table: RopeTable,
  s: { rows: number; seq: number; past: number; qHeads: number; kvHeads: number; headDim: number },
): void {
  b.dispatch(
    { shader: 'rope' },
    [q, k, table.buffer],
    rowGrid(s.rows),
    new Params().u32(s.rows, s.seq, s.past, s.qHeads + s.kvHeads, s.qHeads, s.headDim, table.positions, 0),
  );
}

/**
 * Rotary embedding where a KV cache holds keys and values (generation), in one dispatch: q [rows, qHeads*hd]
 * rotated in place, k [rows, kvHeads*hd] rotated and v copied into cache rows (r / seq) * maxLen + past + r % seq
 * of kCache / vCache [batch, maxLen, kvHeads*hd]; with `norm`, each q and k head RMS-normalised first (Qwen3's
 * q_norm / k_norm). What rmsnorm (x2), rope and two copies do, in one dispatch (shaders/rope.wgsl rope_cache).
 */
export function ropeIntoCache(
  b: CommandBatch,
  t: { q: Binding; k: Binding; v: Binding; table: RopeTable; kCache: Binding; vCache: Binding },
  s: { rows: number; seq: number; past: number; qHeads: number; kvHeads: number; headDim: number; maxLen: number },
  norm?: { q: Binding; k: Binding; eps: number },
): void {
  if (s.headDim % 2 !== 0 || s.headDim > 512) throw new RangeError(`ropeIntoCache: head_dim ${s.headDim} must be even and at most 512`);
  const empty = b.gpu.empty;
  const params = new Params().u32(s.rows, s.seq).position(s.past).u32(s.qHeads, s.kvHeads, s.headDim, s.maxLen, norm ? 1 : 0).f32(norm?.eps ?? 0).u32(t.table.positions);
  const [gy, gz] = rowGrid(s.rows);
  b.dispatch(
    { shader: 'rope', entry: 'rope_cache' },
    { 1: t.q, 2: t.k, 3: t.table.buffer, 5: norm?.q ?? empty, 6: norm?.k ?? empty, 7: t.v, 8: t.kCache, 9: t.vCache },
    [s.qHeads + 2 * s.kvHeads, gy, gz],
    params,
  );
}

/** Query rows per workgroup of the prefill kernel (shaders/attention.wgsl flash, BQ). */
const FLASH_ROWS = 32;
/** Workgroup memory of flash at head_dim hd (fq, fkv with rows padded by a vec4, fp, fmax): 31 KiB at hd 128. */
const flashBytes = (hd: number) => 16 * (FLASH_ROWS * (hd / 4 + 1) + 32 * (Math.min(hd / 4, 16) + 1) + FLASH_ROWS * 9) + 4 * FLASH_ROWS * 8;
/** Invocations per workgroup of decode and decode_combine (DT): a quad per key, two at head_dim 128 (attention.wgsl KEYS). */
const DECODE_THREADS = 128;
const decodeBytes = (hd: number) => 16 * (DECODE_THREADS / 4) * (hd / 4) + 8 * (DECODE_THREADS / 4);
/**
 * decode: a cache of up to this many positions, one workgroup per (head, sequence) and one dispatch (a step's
 * fixed cost is its dispatch count); beyond, the positions are split across workgroups (at least DECODE_SPLIT_KEYS each, about
 * DECODE_WORKGROUPS in all) and decode_combine merges them.
 */
const DECODE_ONE_PASS_KEYS = 256;
const DECODE_SPLIT_KEYS = 128;
const DECODE_WORKGROUPS = 512;

/** How decode splits `keys` keys for `rows` (head, sequence) pairs. */
export function decodeSplits(keys: number, rows: number): { splits: number; splitLen: number } {
  if (keys <= DECODE_ONE_PASS_KEYS) return { splits: 1, splitLen: keys };
  const inFlight = DECODE_THREADS / 2; // a split of whole trips through decode's key loop (of 2 keys a quad at most)
  const want = Math.min(Math.ceil(keys / DECODE_SPLIT_KEYS), Math.max(1, Math.floor(DECODE_WORKGROUPS / rows)), DECODE_THREADS);
  const splitLen = Math.ceil(keys / want / inFlight) * inFlight;
  return { splits: Math.ceil(keys / splitLen), splitLen };
}

/**
 * Causal GQA attention; see shaders/attention.wgsl for the layouts and the kernels. On GPUs ('workgroup'):
 * one query row per sequence (decode steps) goes to `decode` (+ `decode_combine` past DECODE_ONE_PASS_KEYS
 * keys) where the adapter has subgroups; several rows (prefill, calibration, evaluation) to `flash`, as
 * are decode steps elsewhere; head dims that are not a multiple of 4 or exceed 128 to `main`.
 */
export function attention(
  b: CommandBatch,
  q: Binding,
  k: Binding,
  v: Binding,
  out: Binding,
  s: { batch: number; seq: number; past: number; kvLen: number; heads: number; kvHeads: number; headDim: number },
  variant?: Variant,
): void {
  const hd = s.headDim;
  if (hd > 256) throw new Error(`attention: head_dim ${hd} > 256 is not supported`);
  if (s.heads % s.kvHeads !== 0) throw new Error(`attention: ${s.heads} heads are not a multiple of ${s.kvHeads} KV heads`);
  const params = (splits = 1, splitLen = 0) => attentionParams(s, splits, splitLen);
  if (variantOf(b, variant) === 'serial') {
    b.dispatch({ shader: 'attention', entry: hd % 4 === 0 ? 'serial_vec4' : 'serial' }, [q, k, v, out], [Math.ceil(s.seq / 64), s.heads, s.batch], params());
    return;
  }
  const gpu = b.gpu, storage = gpu.adapter.limits.maxComputeWorkgroupStorageSize;
  const tiled = hd % 4 === 0 && hd <= 128;
  const constants = { HD4: hd / 4 };
  if (tiled && s.seq === 1 && decodeFits(b, hd)) {
    decodeDispatches(b, 'decode', { 1: q, 2: k, 3: v, 4: out }, s);
    return;
  }
  if (tiled && flashBytes(hd) <= storage) {
    b.dispatch({ shader: 'attention', entry: 'flash', constants }, [q, k, v, out], [s.heads, s.batch, Math.ceil(s.seq / FLASH_ROWS)], params());
    return;
  }
  b.dispatch({ shader: 'attention', entry: 'main' }, [q, k, v, out], [s.seq, s.heads, s.batch], params());
}

type AttentionShape = { batch: number; seq: number; past: number; kvLen: number; heads: number; kvHeads: number; headDim: number };

/** The Params of shaders/attention.wgsl; the position (past) is rewritten where a frozen decode step is replayed. */
function attentionParams(s: AttentionShape, splits: number, splitLen: number, rope?: { positions: number; eps: number; normed: boolean }): Params {
  return new Params().u32(s.seq).position(s.past).u32(s.kvLen, s.heads, s.kvHeads, s.headDim).f32(1 / Math.sqrt(s.headDim)).u32(splits, splitLen)
    .f32(rope?.eps ?? 0).u32(rope?.positions ?? 0, rope?.normed ? 1 : 0);
}

/** Whether decode (and decode_rope) run here: subgroups in aligned runs of 4+, the workgroup memory they use. */
function decodeFits(b: CommandBatch, hd: number): boolean {
  const gpu = b.gpu;
  return gpu.subgroupReduce && (gpu.adapter.subgroupMinSize ?? 0) >= 4 && decodeBytes(hd) <= gpu.adapter.limits.maxComputeWorkgroupStorageSize;
}

/**
 * decode or decode_rope over the cache, split by the cache's length, not the keys so far: the same dispatch at
 * every position (a frozen decode step is replayed at each); splits past the last key find nothing and weigh
 * nothing in decode_combine.
 */
function decodeDispatches(b: CommandBatch, entry: 'decode' | 'decode_rope', bindings: Record<number, Binding>, s: AttentionShape, rope?: { positions: number; eps: number; normed: boolean }): void {
  const gpu = b.gpu, hd = s.headDim, constants = { HD4: hd / 4 };
  const { splits, splitLen } = decodeSplits(s.kvLen, s.heads * s.batch);
  const p = attentionParams(s, splits, splitLen, rope);
  const partials = splits > 1 ? gpu.scratch(s.batch * s.heads * splits * (hd / 4 + 1) * 16, 'attention.partials') : gpu.empty;
  b.dispatch({ shader: 'attention', entry, constants, features: ['subgroups'] }, { ...bindings, 5: partials }, [s.heads, splits, s.batch], p);
  if (splits > 1) b.dispatch({ shader: 'attention', entry: 'decode_combine', constants }, { 4: bindings[4], 5: partials }, [s.heads, s.batch], p);
}

/** Storage buffers decode_rope binds (attention.wgsl): q, the k and v caches, out, partials, this step's k and v, the rope table, the q/k norms. */
export const DECODE_ROPE_BINDINGS = 9;

/**
 * A decode step's attention with rope_cache's work inside (one dispatch instead of two where the cache is short
 * enough for one split): q and this step's k normed (Qwen3's q/k norms, `qkNorm` = [q weights | k weights]) and
 * rotated to position s.past, k and v written into the cache at it, then attention over the cache. Returns
 * false, recording nothing, where it cannot run (CPU adapters, no aligned subgroups, head_dim not a multiple
 * of 32 or above 128, fewer storage bindings than it needs): then ropeIntoCache + attention.
 */
export function attentionRopeDecode(
  b: CommandBatch,
  t: { q: Binding; k: Binding; v: Binding; table: RopeTable; kCache: Binding; vCache: Binding; out: Binding },
  s: AttentionShape,
  norm?: { qk: Binding; eps: number },
  variant?: Variant,
): boolean {
  const hd = s.headDim;
  if (s.seq !== 1 || hd % 32 !== 0 || hd > 128 || s.heads % s.kvHeads !== 0 || variantOf(b, variant) === 'serial' || !decodeFits(b, hd)) return false;
  if (b.gpu.device.limits.maxStorageBuffersPerShaderStage < DECODE_ROPE_BINDINGS) return false;
  decodeDispatches(
    b,
    'decode_rope',
    // without norms, binding 9 (never read) takes the table: `empty` may already be bound writable as `partials`
    { 1: t.q, 2: t.kCache, 3: t.vCache, 4: t.out, 6: t.k, 7: t.v, 8: t.table.buffer, 9: norm?.qk ?? t.table.buffer },
    s,
    { positions: t.table.positions, eps: norm?.eps ?? 0, normed: Boolean(norm) },
  );
  return true;
}

/** Per row of logits: target log-prob, its rank, the argmax and the log-sum-exp (16 bytes per row). */
export function scoreLogits(b: CommandBatch, logits: Binding, targets: Binding, out: Binding, rows: number, vocab: number, variant?: Variant): void {
  const serial = variantOf(b, variant) === 'serial';
  b.dispatch({ shader: 'logits', entry: serial ? 'serial' : 'main' }, [logits, targets, out], serial ? serialGrid(rows) : rowGrid(rows), new Params().u32(rows, vocab, 0, 0));
}

/** Logits per workgroup of argmax_split (its pipeline constant SPLIT). */
const ARGMAX_SPLIT = 2048;

/**
 * The argmax of each row of logits into out[row].argmax (greedy decoding; .lse holds the max, .logprob and .rank
 * are 0): on GPUs in two passes, the rows' vocabularies split across workgroups; elsewhere scoreLogits.
 */
export function argmaxLogits(b: CommandBatch, logits: Binding, out: Binding, rows: number, vocab: number, variant?: Variant): void {
  if (variantOf(b, variant) === 'serial') {
    scoreLogits(b, logits, b.gpu.empty, out, rows, vocab, 'serial');
    return;
  }
  const splits = Math.ceil(vocab / ARGMAX_SPLIT);
  if (rows > b.gpu.adapter.limits.maxComputeWorkgroupsPerDimension) throw new RangeError(`argmaxLogits: ${rows} rows exceed one grid dimension`);
  const part = b.gpu.scratch(rows * splits * 8, 'argmax.part');
  const params = new Params().u32(rows, vocab, splits, 0);
  b.dispatch({ shader: 'logits', entry: 'argmax_split', constants: { SPLIT: ARGMAX_SPLIT } }, { 1: logits, 4: part }, [splits, rows], params);
  b.dispatch({ shader: 'logits', entry: 'argmax_merge' }, { 3: out, 4: part }, [rows], params);
}

export interface RowScore {
  logprob: number;
  rank: number;
  argmax: number;
  lse: number;
}

export function decodeScores(buf: ArrayBuffer, rows: number): RowScore[] {
  const f = new Float32Array(buf), u = new Uint32Array(buf);
  const out: RowScore[] = [];
  for (let r = 0; r < rows; r++) out.push({ logprob: f[4 * r], rank: u[4 * r + 1], argmax: u[4 * r + 2], lse: f[4 * r + 3] });
  return out;
}
