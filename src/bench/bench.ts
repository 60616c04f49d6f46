// The kernel benchmark, one engine for the Benchmark panel and `quantlab bench`. For each shape it measures,
// side by side in one run on one adapter: a streaming-read probe (the bandwidth reference), the lab's packed
// matmul at 2/3/4/8 bits, its fp32 matmul, and onnxruntime-web's MatMulNBits (4-bit, blocks 32 and 128).
// Two times per contender: GPU time of the matmul alone (timestamp queries around many dispatches that
// rotate through weight copies larger than the L2 cache) and the wall time of one whole call as a user
// makes it (upload the input, dispatch, read the output back). Every contender's output is checked against
// a float64 CPU computation on sampled rows before it is timed.
import { InputFileError, throwIfAborted } from '../errors';
import { BIT_WIDTHS } from '../model/config';
import { type CommandBatch, type Gpu, grid, Params } from '../gpu/gpu';
import { gemvSwiglu, matmul } from '../model/ops';
import type { OnProgress } from '../progress';
import { shuffled } from '../random';
import { destroyPacked, f16GemvTakes, type GemvKernel, type GemvShape, type PackedWeights, packedBytes, qgemvSwiglu, qmatmul, qweightWords, readDequantized, zeroWords } from '../quant/packed';
import { int8InputBytes, qgemvI8, qgemvSwigluI8, quantizeX8 } from './int8-input';
import { matMulNBitsModel, type NBitsModel, nbitsRow } from './onnx';
import type { OrtPeer } from './onnx-peer';

export interface BenchShape {
  label: string;
  /** in features */
  K: number;
  /** out features */
  N: number;
  /**
   * An MLP's gate and up projections side by side (N / 2 rows each): at M = 1 the lab's packed contenders
   * also run as one gate+up+SwiGLU dispatch over two matrices; the others read one matrix of N rows.
   */
  gateUp?: boolean;
}

export const SHAPES: BenchShape[] = [
  { label: 'Qwen3-0.6B gate/up', K: 1024, N: 3072 },
  { label: 'Qwen3-0.6B down', K: 3072, N: 1024 },
  { label: 'Llama-3.2-1B gate/up', K: 2048, N: 8192 },
  { label: 'Llama-3.2-1B down', K: 8192, N: 2048 },
  { label: '8B attention', K: 4096, N: 4096 },
  { label: '8B gate/up', K: 4096, N: 14336 },
  { label: '8B down', K: 14336, N: 4096 },
  { label: '8B gate+up fused', K: 4096, N: 28672, gateUp: true },
];

/** Shapes small enough for a CPU adapter (SwiftShader): for correctness runs, not for numbers. */
export const SMALL_SHAPES: BenchShape[] = [
  { label: 'small square', K: 256, N: 256 },
  { label: 'small gate+up', K: 128, N: 512, gateUp: true },
];

export interface BenchRow {
  shape: string;
  K: number;
  N: number;
  M: number;
  contender: string;
  bits: number | null;
  block: number | null;
  /** Bytes of weights (packed codes, scales, zeros) one call reads. */
  weightBytes: number;
  gpuMicros: number | null;
  callMicros: number | null;
  /** weightBytes / GPU time. */
  gbps: number | null;
  /** gbps as a share of the read probe measured in the same run. */
  ofProbe: number | null;
  /**
   * GPU time of a streaming read of the same bytes in one dispatch (the read probe's kernel), over this row's
   * GPU time: how close the kernel comes to a plain read of its weights, per-dispatch cost included.
   */
  ofRead: number | null;
  check: 'pass' | 'FAIL';
  /** Over sampled rows, vs float64: max |got - want| / sum_k |w_k x_k| (dotErr). */
  maxErr: number;
}

export interface BenchReport {
  adapter: string;
  date: string;
  probeGBps: number;
  /** GPU time of an empty dispatch (one workgroup) among many: what every dispatch pays beyond its work. */
  dispatchMicros: number | null;
  rows: BenchRow[];
  notes: string[];
}

export interface BenchOptions {
  shapes?: BenchShape[];
  batches?: number[];
  bits?: number[];
  groupSize?: number;
  /** Bytes the rotated weight copies must span (defeats the L2 cache; 512 MiB on big GPUs). */
  rotateBytes?: number;
  /** Timed repeats (the median is reported) and dispatches per repeat. */
  repeats?: number;
  dispatches?: number;
  ort?: OrtPeer | null;
  ortBlocks?: number[];
  /** GEMV workgroup shapes to compare (XW x KSLICES; undefined = qmatmul's choice); one contender each. */
  gemvShapes?: (GemvShape | undefined)[];
  /** GEMV kernels to compare at M = 1; default f32, and f16 beside it where the device has shader-f16. */
  gemvKernels?: GemvKernel[];
  /** Experiment: also the 4-bit GEMV on an int8 input (qgemvI8), with and without its quantize pass. */
  i8?: boolean;
  /** Also run every packed contender with an act-order input permutation. */
  actOrder?: boolean;
  /** GEMM split-K slice counts to compare at M > 1 (0 = the heuristic); one contender each when several. */
  splitKs?: number[];
  onProgress?: OnProgress;
  signal?: AbortSignal;
}


function fill(b: CommandBatch, entry: 'fill_f32' | 'fill_u32' | 'fill_f16x2', buf: GPUBuffer, n: number, seed: number, lo = 0, hi = 1): void {
  b.dispatch({ shader: 'bench', entry }, { 1: buf }, grid(n, 256), new Params().u32(n, seed).f32(lo, hi));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const WARMUP_MS = 200;

/**
 * Untimed runs of `run` before a timed one: the first compiles pipelines and fills caches; the rest, back to
 * back for `ms`, bring the GPU's clocks up. A GPU left idle for a second (loading a model, compiling) drops its
 * SM clock (an H100 to 345-600 MHz from 1980) and takes a few hundred milliseconds of work to raise it again: a
 * single warm-up run leaves a 50-ms prefill timed at whatever clock the idle left (measured: the same float
 * prefill 38-130 ms across runs, docs/realsize.md).
 */
export async function warmUp(run: () => Promise<unknown>, ms = 500): Promise<void> {
  await run();
  const t0 = performance.now();
  while (performance.now() - t0 < ms) await run();
}
/** GPU time each timed batch should take: enough that the GPU is busy, not waiting on the host, most of the time. */
const BATCH_MS = 4;
/** The clock primer before each timed batch: one wave of a large GPU (8 workgroups on each of 132 SMs), about a millisecond of ALU work at full clock. */
const SPIN_GROUPS = 1056, SPIN_ITERATIONS = 100_000;

/**
 * GPU seconds per dispatch: median over repeats of (pass time / dispatches). Each batch holds at least
 * `dispatches` dispatches, more for short kernels (BATCH_MS of work), in multiples of `dispatches` so rotated
 * weight copies are read equally often. Clocks: between batches the GPU waits for the host, and under
 * memory-bound work with such gaps a GPU may lower its SM clock mid-run (docs/performance.md, "The machines and
 * the script"), slowing the decode-bound kernels at random; a compute-bound primer (spin) queued before every
 * batch keeps the clock at boost, so that contenders are compared at the same clock (as profilers lock clocks).
 */
async function gpuTime(gpu: Gpu, encode: (b: CommandBatch, i: number) => void, dispatches: number, repeats: number): Promise<number | null> {
  if (!gpu.hasTimestamps) return null;
  const run = async (n: number) => {
    if (!gpu.serialKernels) {
      // ALU work queued just before the timed batch (no host gap): see spin in shaders/bench.wgsl
      gpu.batch('spin').dispatch({ shader: 'bench', entry: 'spin' }, { 1: gpu.scratch(SPIN_GROUPS * 256 * 4, 'spin') }, SPIN_GROUPS, new Params().u32(SPIN_ITERATIONS, 0).f32(0, 0)).submit();
    }
    const b = gpu.batch('timed');
    for (let i = 0; i < n; i++) encode(b, i);
    const ns = await b.submit({ timestamps: true });
    return ns === null ? null : ns / 1e9 / n;
  };
  const first = await run(dispatches);
  const n = first ? dispatches * Math.max(1, Math.min(64, Math.ceil(BATCH_MS / 1e3 / (first * dispatches)))) : dispatches;
  // warm-up: WARMUP_MS of the same work, to bring the clocks up after the host-side checks
  const t0 = performance.now();
  while (performance.now() - t0 < WARMUP_MS) await run(n);
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t = await run(n);
    if (t !== null) times.push(t);
  }
  return times.length ? median(times) : null;
}

/** Wall seconds of one whole call: upload x, dispatch, read y back. */
async function callTime(gpu: Gpu, x: Float32Array, xBuf: GPUBuffer, yBuf: GPUBuffer, yBytes: number, encode: (b: CommandBatch) => void, repeats: number): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < repeats + 1; r++) {
    const t0 = performance.now();
    gpu.write(xBuf, x);
    const b = gpu.batch('call');
    encode(b);
    await b.submit();
    await gpu.read(yBuf, yBytes);
    if (r > 0) times.push((performance.now() - t0) / 1000);
  }
  return median(times);
}

/**
 * Check tolerances (dotErr): f32 arithmetic; f16 inputs and partial sums (11-bit significands; also ORT's);
 * inputs rounded to int8 per 32 columns (half a step of max|x| / 127 each: measured <= 1e-3).
 */
const TOL_F32 = 1e-5, TOL_F16 = 1e-3, TOL_I8 = 5e-3;

/**
 * The check's error measure for rows of a matmul: max over m of |got - want| / sum_k |w_k x_mk|, the error
 * relative to the size of the dot product's terms (rounding errors scale with it; relative to |want| a row
 * whose terms cancel would look wrong for any low-precision kernel).
 */
function dotErr(got: ArrayLike<number>, want: ArrayLike<number>, w: ArrayLike<number>, x: ArrayLike<number>): number {
  const K = w.length;
  let e = 0;
  for (let m = 0; m < want.length; m++) {
    let mag = 1e-30;
    for (let k = 0; k < K; k++) mag += Math.abs(w[k] * x[m * K + k]);
    e = Math.max(e, Math.abs(got[m] - want[m]) / mag);
  }
  return e;
}

/** GPU seconds per streaming read of `bytes` (one dispatch), rotating through copies spanning `rotate` bytes. */
async function readTime(gpu: Gpu, bytes: number, rotate: number, repeats: number): Promise<number | null> {
  const n4 = Math.ceil(bytes / 16);
  const copies = Math.max(1, Math.min(64, Math.ceil(rotate / (n4 * 16))));
  const bufs = Array.from({ length: copies }, () => gpu.buffer(n4 * 16, 'probe'));
  const groups = Math.min(65535, Math.max(1, Math.ceil(n4 / 256 / 8)));
  const sink = gpu.buffer(4 * groups * 256, 'probe.sink');
  const t = await gpuTime(gpu, (b, i) => b.dispatch({ shader: 'bench', entry: 'read_probe' }, { 1: bufs[i % copies], 2: sink }, groups, new Params().u32(n4, 0).f32(0, 0)), copies * 2, repeats);
  for (const x of [...bufs, sink]) x.destroy();
  return t;
}

/** GPU seconds of an empty dispatch among many (bench.wgsl `empty`). */
async function dispatchTime(gpu: Gpu, repeats: number): Promise<number | null> {
  const sink = gpu.buffer(16, 'empty.sink');
  const t = await gpuTime(gpu, (b) => b.dispatch({ shader: 'bench', entry: 'empty' }, { 2: sink }, 1, new Params().u32(0xffffffff, 0).f32(0, 0)), 64, repeats);
  sink.destroy();
  return t;
}

export async function runBench(gpu: Gpu, opts: BenchOptions = {}): Promise<BenchReport> {
  const shapes = opts.shapes ?? SHAPES;
  const batches = opts.batches ?? [1, 128];
  const bitsList = opts.bits ?? BIT_WIDTHS;
  const G = opts.groupSize ?? 128;
  const rotate = opts.rotateBytes ?? 512 * 2 ** 20;
  const repeats = opts.repeats ?? 5;
  // whole calls vary more (host scheduling, map latency): more repeats, still cheap
  const callRepeats = 3 * repeats;
  const dispatchesMin = opts.dispatches ?? 8;
  const notes: string[] = [];
  if (opts.gemvKernels?.includes('f16') && !gpu.hasF16) notes.push('f16 GEMV not run: the adapter has no shader-f16 (Dawn on NVIDIA: --f16)');
  const rows: BenchRow[] = [];
  const total = shapes.length * batches.length;
  let step = 0;
  const progress = (what: string) => opts.onProgress?.({ what, done: step, total, unit: 'shapes' });

  progress('read probe');
  const probeBytes = Math.min(256 * 2 ** 20, Math.floor(gpu.adapter.limits.maxStorageBufferBindingSize / 2));
  const probeS = await readTime(gpu, probeBytes, rotate, repeats);
  const probe = probeS ? Math.ceil(probeBytes / 16) * 16 / probeS / 1e9 : NaN;
  const dispatchS = await dispatchTime(gpu, repeats);
  if (!gpu.hasTimestamps) notes.push('this adapter has no timestamp queries: only whole-call times');
  // reads of each row's weight bytes in one dispatch, measured once per size
  const sizedReads = new Map<number, number | null>();
  const sizedRead = async (bytes: number) => {
    if (!sizedReads.has(bytes)) sizedReads.set(bytes, await readTime(gpu, bytes, rotate, repeats));
    return sizedReads.get(bytes) ?? null;
  };

  for (const shape of shapes) {
    const { K, N } = shape;
    for (const M of batches) {
      throwIfAborted(opts.signal, 'benchmark');
      progress(`${shape.label} ${K}x${N}, M=${M}`);
      const x = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i * 0.37) * 0.5);
      const xBuf = gpu.upload(x, 'bench.x');
      const yBuf = gpu.buffer(M * N * 4, 'bench.y');
      const sample = [0, Math.floor(N / 2), N - 1];
      // the fused gate+up contenders' outputs: N / 2 rows (first, middle, last)
      const halfSample = [0, N / 4, N / 2 - 1];
      const record = async (r: Omit<BenchRow, 'shape' | 'K' | 'N' | 'M' | 'gbps' | 'ofProbe' | 'ofRead'>) => {
        const gbps = r.gpuMicros ? r.weightBytes / (r.gpuMicros * 1e-6) / 1e9 : null;
        const read = r.gpuMicros ? await sizedRead(r.weightBytes) : null;
        rows.push({
          shape: shape.label, K, N, M, ...r, gbps,
          ofProbe: gbps !== null && Number.isFinite(probe) ? gbps / probe : null,
          ofRead: read && r.gpuMicros ? (read * 1e6) / r.gpuMicros : null,
        });
      };

      // --- fp32 matmul (the lab's own dense kernel)
      {
        const bytes = N * K * 4;
        const copies = Math.max(1, Math.min(8, Math.ceil(rotate / bytes)));
        const ws = Array.from({ length: copies }, () => gpu.buffer(bytes, 'bench.w32'));
        const b = gpu.batch('fill');
        ws.forEach((w, i) => fill(b, 'fill_f32', w, N * K, 7 + i, -0.05, 0.05));
        await b.submit();
        const enc = (bb: CommandBatch, i: number) => matmul(bb, xBuf, ws[i % copies], yBuf, M, N, K, { empty: gpu.empty });
        const check = await checkRows(gpu, await denseRows(gpu, ws[0], K, sample), sample, x, yBuf, M, N, enc);
        const gpuS = await gpuTime(gpu, enc, Math.max(dispatchesMin, copies), repeats);
        const callS = await callTime(gpu, x, xBuf, yBuf, M * N * 4, (bb) => enc(bb, 0), callRepeats);
        await record({ contender: 'fp32 matmul', bits: 32, block: null, weightBytes: bytes, gpuMicros: gpuS && gpuS * 1e6, callMicros: callS * 1e6, check: check < TOL_F32 ? 'pass' : 'FAIL', maxErr: check });
        if (M === 1 && shape.gateUp) {
          // a float model's decode step: the two halves of the same weights as gate and up, one gemvSwiglu
          const half = (N / 2) * K * 4;
          const encF = (bb: CommandBatch, i: number) =>
            gemvSwiglu(bb, xBuf, { buffer: ws[i % copies], size: half }, { buffer: ws[i % copies], offset: half, size: half }, yBuf, N / 2, K);
          const checkF = await checkSwiglu(gpu, await denseRows(gpu, ws[0], K, halfSample), await denseRows(gpu, ws[0], K, halfSample.map((n) => n + N / 2)), x, yBuf, halfSample, encF);
          const gpuF = await gpuTime(gpu, encF, Math.max(dispatchesMin, copies), repeats);
          const callF = await callTime(gpu, x, xBuf, yBuf, (N / 2) * 4, (bb) => encF(bb, 0), callRepeats);
          await record({ contender: 'fp32 gate+up+SwiGLU', bits: 32, block: null, weightBytes: bytes, gpuMicros: gpuF && gpuF * 1e6, callMicros: callF * 1e6, check: checkF < TOL_F32 ? 'pass' : 'FAIL', maxErr: checkF });
        }
        ws.forEach((w) => w.destroy());
      }

      // --- the lab's packed matmul at each bit width
      for (const bits of bitsList) {
        const nG = Math.ceil(K / G);
        const one = (rows: number): PackedWeights => ({
          rows, cols: K, bits, groupSize: G, nGroups: nG, sym: false, descAct: false, format: 'gptq_v2',
          qweight: gpu.buffer(qweightWords(K, bits) * rows * 4, 'bench.qweight'), qzeros: gpu.buffer(nG * zeroWords(rows, bits) * 4, 'bench.qzeros'),
          scales: gpu.buffer(Math.ceil((nG * rows) / 2) * 4, 'bench.scales'), order: null, xidx: null, gIdxHost: new Uint32Array(0),
        });
        // the fused row at M = 1 also runs the decode step of a quantized MLP: the same bytes as gate and up
        // matrices of N / 2 rows each, read by one dispatch that applies SwiGLU too (qgemvSwiglu)
        const gateUp = M === 1 && shape.gateUp === true;
        const bytes = (qweightWords(K, bits) * N + nG * zeroWords(N, bits) + Math.ceil((nG * N) / 2)) * 4; // packedBytes of one copy
        const copies = Math.max(1, Math.min(64, Math.ceil(rotate / bytes)));
        const ps = Array.from({ length: copies }, () => one(N));
        const pairs = gateUp ? Array.from({ length: copies }, () => [one(N / 2), one(N / 2)] as const) : [];
        const b = gpu.batch('fill');
        [...ps, ...pairs.flat()].forEach((p, i) => {
          fill(b, 'fill_u32', p.qweight, qweightWords(K, bits) * p.rows, 100 + i);
          fill(b, 'fill_u32', p.qzeros, nG * zeroWords(p.rows, bits), 200 + i);
          fill(b, 'fill_f16x2', p.scales, Math.ceil((nG * p.rows) / 2), 300 + i, 0.001, 0.01);
        });
        await b.submit();
        // variants: GEMV workgroup shapes at M = 1, split-K slice counts (0 = the heuristic) at M > 1
        // and GEMV kernels (f32 / f16) at M = 1, each kernel only for the bit widths it takes
        const shapes = opts.gemvShapes ?? [undefined], splits = opts.splitKs ?? [0];
        const shapeName = (shape?: GemvShape) => (shape ? `${shape[0]}x${shape[1]}` : 'auto');
        // the fused kernels' workgroups hold at most 512 invocations (qgemvSwiglu)
        const fusable = (shape?: GemvShape) => !shape || shape[0] * shape[1] <= 512;
        const kernels = (opts.gemvKernels ?? (gpu.hasF16 ? ['f32', 'f16'] : ['f32']))
          .filter((k) => k !== 'f16' || (gpu.hasF16 && f16GemvTakes(ps[0])));
        const variants = M === 1
          ? shapes.flatMap((shape) => kernels.map((kernel) => ({
            shape, kernel, split: 0,
            tag: (shapes.length > 1 ? ` ${shapeName(shape)}` : '') + (kernels.length > 1 || kernel !== 'f32' ? ` ${kernel}` : ''),
          })))
          : splits.map((split) => ({ shape: undefined, kernel: undefined, split, tag: splits.length > 1 ? ` split ${split || 'auto'}` : '' }));
        // act-order: the same weights read with a permuted input (kernel order), as GPTQ checkpoints with
        // desc_act and the lab's own act-order quantization are run
        const order = opts.actOrder ? Int32Array.from(shuffled(Array.from({ length: K }, (_, k) => k), K + N)) : null;
        const xidx = order ? gpu.upload(Uint32Array.from(order), 'bench.xidx') : null;
        const permute = (p: PackedWeights, permuted: boolean) => (permuted ? { ...p, order, xidx } : p);
        // GPU times first, back to back, so that the GPU stays busy and at full clocks (the checks' and whole
        // calls' host round trips leave it idle, and a GPU then lowers its SM clock);
        // then each contender's check and whole-call time
        const xq8 = opts.i8 && M === 1 && bits === 4 ? gpu.buffer(int8InputBytes(K), 'bench.xq') : null;
        const contenders = (order ? [false, true] : [false]).flatMap((permuted) => {
          const act = permuted ? ' act-order' : '';
          const qs = ps.map((p) => permute(p, permuted));
          const fused = pairs.map(([g, u]) => [permute(g, permuted), permute(u, permuted)] as const);
          type Enc = (bb: CommandBatch, i: number) => void;
          // every single-matrix contender's check, and every gate+up+SwiGLU one's, against float64
          const checkOne = async (enc: Enc) => checkRows(gpu, await readDequantized(gpu, qs[0], sample), sample, x, yBuf, M, N, enc);
          const checkFused = async (enc: Enc) =>
            checkSwiglu(gpu, await readDequantized(gpu, fused[0][0], halfSample), await readDequantized(gpu, fused[0][1], halfSample), x, yBuf, halfSample, enc);
          return [
            ...variants.map(({ shape, kernel, split, tag }) => ({
              kernel, name: `quantlab ${bits}-bit G=${G}${act}${tag}`, weightBytes: packedBytes(qs[0]), outputs: M * N,
              enc: (bb: CommandBatch, i: number) =>
                qmatmul(bb, qs[i % copies], xBuf, yBuf, M, { empty: gpu.empty, gemvShape: shape, gemvKernel: kernel, splitK: split || undefined }),
              check: checkOne,
            })),
            ...(gateUp ? variants.filter((v) => fusable(v.shape)) : []).map(({ shape, kernel, tag }) => ({
              kernel, name: `quantlab ${bits}-bit G=${G}${act} gate+up+SwiGLU${tag}`, weightBytes: 2 * packedBytes(fused[0][0]), outputs: N / 2,
              enc: (bb: CommandBatch, i: number) => qgemvSwiglu(bb, ...fused[i % copies], xBuf, yBuf, { gemvShape: shape, gemvKernel: kernel }),
              check: checkFused,
            })),
            // (experiment) int8 input: quantize + GEMV, and the GEMV alone on an input quantized once
            ...(opts.i8 && M === 1 && bits === 4 && !permuted ? [false, true] : []).flatMap((alone) => shapes.map((shape) => ({
              kernel: 'i8' as const, name: `quantlab 4-bit G=${G} i8${alone ? ' GEMV alone' : ''}${shape ? ` ${shapeName(shape)}` : ''}`, weightBytes: packedBytes(qs[0]), outputs: N,
              enc: (bb: CommandBatch, i: number) => qgemvI8(bb, qs[i % copies], xBuf, yBuf, { ...(alone && xq8 ? { xq: xq8 } : {}), gemvShape: shape }),
              check: checkOne,
            }))),
            ...(opts.i8 && gateUp && bits === 4 && !permuted ? [false, true] : []).flatMap((alone) => shapes.filter(fusable).map((shape) => ({
              kernel: 'i8' as const, name: `quantlab 4-bit G=${G} gate+up+SwiGLU i8${alone ? ' GEMV alone' : ''}${shape ? ` ${shapeName(shape)}` : ''}`,
              weightBytes: 2 * packedBytes(fused[0][0]), outputs: N / 2,
              enc: (bb: CommandBatch, i: number) => qgemvSwigluI8(bb, ...fused[i % copies], xBuf, yBuf, { ...(alone && xq8 ? { xq: xq8 } : {}), gemvShape: shape }),
              check: checkFused,
            }))),
          ];
        });
        const gpuTimes: (number | null)[] = [], callTimes: number[] = [];
        if (xq8) {
          const bq = gpu.batch('xq');
          quantizeX8(bq, ps[0], xBuf, xq8);
          await bq.submit();
        }
        for (const c of contenders) gpuTimes.push(await gpuTime(gpu, c.enc, Math.max(dispatchesMin, copies), repeats));
        // whole calls before the checks, whose readback of every packed word (tens of MB) disturbs the host
        for (const c of contenders) callTimes.push(await callTime(gpu, x, xBuf, yBuf, c.outputs * 4, (bb) => c.enc(bb, 0), callRepeats));
        for (const [i, { kernel, name, enc, check: checkOf, weightBytes }] of contenders.entries()) {
          const check = await checkOf(enc);
          const gpuS = gpuTimes[i], callS = callTimes[i];
          await record({ contender: name, bits, block: G, weightBytes, gpuMicros: gpuS && gpuS * 1e6, callMicros: callS * 1e6, check: check < (kernel === 'i8' ? TOL_I8 : kernel === 'f16' ? TOL_F16 : TOL_F32) ? 'pass' : 'FAIL', maxErr: check });
        }
        xq8?.destroy();
        xidx?.destroy();
        [...ps, ...pairs.flat()].forEach(destroyPacked);
      }

      // --- onnxruntime-web MatMulNBits (4-bit), whole calls as its users make them
      if (opts.ort) {
        for (const block of opts.ortBlocks ?? [32, 128]) {
          try {
            const model: NBitsModel = matMulNBitsModel(K, N, block, 4, K * 31 + N + block);
            const s = await opts.ort.session(model.bytes);
            const y = await s.run(x, M, K);
            let err = 0;
            for (const n of sample) {
              const w = nbitsRow(model, n, K);
              const want = Array.from({ length: M }, (_, m) => w.reduce((a, v, k) => a + v * x[m * K + k], 0));
              err = Math.max(err, dotErr(Array.from({ length: M }, (_, m) => y[m * N + n]), want, w, x));
            }
            const times: number[] = [];
            for (let r = 0; r < callRepeats; r++) {
              const t0 = performance.now();
              await s.run(x, M, K);
              times.push((performance.now() - t0) / 1000);
            }
            await s.release();
            await record({ contender: `onnxruntime-web MatMulNBits 4-bit block ${block}`, bits: 4, block, weightBytes: model.weightBytes, gpuMicros: null, callMicros: median(times) * 1e6, check: err < TOL_F16 ? 'pass' : 'FAIL', maxErr: err });
          } catch (e) {
            notes.push(`onnxruntime-web ${K}x${N} M=${M} block ${block}: ${(e as Error).message}`);
          }
        }
      }
      xBuf.destroy();
      yBuf.destroy();
      step++;
    }
  }
  progress('done');
  return { adapter: gpu.adapterName, date: new Date().toISOString(), probeGBps: probe, dispatchMicros: dispatchS && dispatchS * 1e6, rows, notes };
}

/**
 * Runs a contender once and checks its sampled outputs (`sample`: output rows, `w`: those rows of the weight,
 * float, original column order) against float64 (dotErr).
 */
async function checkRows(gpu: Gpu, w: Float32Array, sample: number[], x: Float32Array, yBuf: GPUBuffer, M: number, N: number, enc: (b: CommandBatch, i: number) => void): Promise<number> {
  const y = await runOnce(gpu, yBuf, M * N, enc);
  const K = w.length / sample.length;
  let err = 0;
  for (const [i, n] of sample.entries()) {
    const row = w.subarray(i * K, (i + 1) * K);
    const want = Array.from({ length: M }, (_, m) => dot(row, x, m * K));
    err = Math.max(err, dotErr(Array.from({ length: M }, (_, m) => y[m * N + n]), want, row, x));
  }
  return err;
}

/**
 * The check of a fused gate+up+SwiGLU GEMV, given the sampled rows of gate and up ([rows.length, K], float):
 * |got - silu(g) u| over the first-order bound of its rounding errors, |silu'(g) u| sum_k |wg_k x_k| +
 * |silu(g)| sum_k |wu_k x_k| (dotErr's measure carried through SwiGLU).
 */
async function checkSwiglu(gpu: Gpu, gateRows: Float32Array, upRows: Float32Array, x: Float32Array, yBuf: GPUBuffer, rows: number[], enc: (b: CommandBatch, i: number) => void): Promise<number> {
  const K = gateRows.length / rows.length;
  const y = await runOnce(gpu, yBuf, Math.max(...rows) + 1, enc);
  let err = 0;
  for (const [i, n] of rows.entries()) {
    const rg = gateRows.subarray(i * K, (i + 1) * K), ru = upRows.subarray(i * K, (i + 1) * K);
    const g = dot(rg, x, 0), u = dot(ru, x, 0), sig = 1 / (1 + Math.exp(-g));
    const mag = (r: Float32Array) => r.reduce((a, v, k) => a + Math.abs(v * x[k]), 1e-30);
    const bound = Math.abs(sig * (1 + g * (1 - sig)) * u) * mag(rg) + Math.abs(g * sig) * mag(ru);
    err = Math.max(err, Math.abs(y[n] - g * sig * u) / bound);
  }
  return err;
}

/** Rows of a dense [N, K] f32 weight, concatenated. */
async function denseRows(gpu: Gpu, w: GPUBuffer, K: number, rows: number[]): Promise<Float32Array> {
  const out = new Float32Array(rows.length * K);
  for (const [i, n] of rows.entries()) out.set(await gpu.readF32(w, K, n * K), i * K);
  return out;
}

async function runOnce(gpu: Gpu, yBuf: GPUBuffer, n: number, enc: (b: CommandBatch, i: number) => void): Promise<Float32Array> {
  const b = gpu.batch('check');
  enc(b, 0);
  await b.submit();
  return gpu.readF32(yBuf, n);
}

/** sum_k w[k] x[offset + k] in float64. */
function dot(w: ArrayLike<number>, x: ArrayLike<number>, offset: number): number {
  let a = 0;
  for (let k = 0; k < w.length; k++) a += w[k] * x[offset + k];
  return a;
}

export interface BenchSummaryRow {
  shape: string;
  K: number;
  N: number;
  M: number;
  /** The lab's fastest 4-bit contender here (GPU time; whole-call time where the adapter has no timestamps). */
  contender: string;
  gpuMicros: number | null;
  callMicros: number | null;
  ofProbe: number | null;
  /** 2 M K N / GPU time, in TFLOP/s: the rate that matters where M > 1 (the GEMM is not bound by weight reads). */
  tflops: number | null;
  /** fp32 matmul GPU time / the contender's: what 4-bit weights buy over float ones on this GPU. */
  overFp32: number | null;
  /** onnxruntime-web's fastest MatMulNBits call / the contender's call: the peer, as users call both. */
  overOrt: number | null;
}

/** The lab's default kernels, not the experiments and variants a run may add beside them (int8 input, act-order). */
const isLab4bit = (r: BenchRow) => r.bits === 4 && r.contender.startsWith('quantlab ') && !/ i8\b| act-order/.test(r.contender);

/**
 * One line per (shape, M): the lab's fastest 4-bit kernel, its share of the read probe and its speed-ups over
 * fp32 and onnxruntime-web, measured side by side in this run (the Benchmark tab's and `quantlab bench`'s
 * summary above the full table). Rows that failed their check are never picked.
 */
export function benchSummary(r: BenchReport): BenchSummaryRow[] {
  const out: BenchSummaryRow[] = [];
  const ratio = (a: number | null | undefined, b: number | null | undefined) => (a && b ? a / b : null);
  const keys = [...new Map(r.rows.map((x) => [`${x.shape}|${x.M}`, x])).values()];
  for (const { shape, K, N, M } of keys) {
    const here = r.rows.filter((x) => x.shape === shape && x.M === M && x.check === 'pass');
    const time = (x: BenchRow) => x.gpuMicros ?? x.callMicros ?? Infinity;
    const lab = here.filter(isLab4bit).sort((a, b) => time(a) - time(b))[0];
    if (!lab) continue;
    const fp32 = here.find((x) => x.contender === 'fp32 matmul');
    const ort = here.filter((x) => x.contender.startsWith('onnxruntime-web')).map((x) => x.callMicros ?? Infinity);
    out.push({
      shape, K, N, M, contender: lab.contender, gpuMicros: lab.gpuMicros, callMicros: lab.callMicros, ofProbe: lab.ofProbe,
      tflops: lab.gpuMicros ? (2 * M * K * N) / lab.gpuMicros / 1e6 : null,
      overFp32: ratio(fp32?.gpuMicros, lab.gpuMicros),
      overOrt: ort.length && Number.isFinite(Math.min(...ort)) ? ratio(Math.min(...ort), lab.callMicros) : null,
    });
  }
  return out;
}

/**
 * A saved benchmark report, to look at elsewhere (a GPU server's run in a laptop's Benchmark tab): the
 * tab's Save JSON (the report itself) or `quantlab bench --json` / `--out` (the report under `kernels`).
 */
export function parseBenchReport(text: string, source: string): BenchReport {
  const what = `${source} is not a kernel benchmark report`;
  const action = 'Open a file saved by the Benchmark tab\'s Save JSON or written by quantlab bench --json / --out.';
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new InputFileError(`${what} (not JSON: ${(e as Error).message}).`, action);
  }
  const o = raw as Record<string, unknown> | null;
  const r = (o && typeof o === 'object' && 'kernels' in o ? o.kernels : o) as Partial<BenchReport> | null;
  if (!r || typeof r !== 'object' || !Array.isArray(r.rows) || typeof r.probeGBps !== 'number') {
    throw new InputFileError(`${what} (${o && typeof o === 'object' && 'gptq' in o ? 'it holds only GPTQ layer timings' : 'no rows and read probe'}).`, action);
  }
  r.rows.forEach((x, i) => {
    const bad = ['shape', 'contender'].find((k) => typeof (x as unknown as Record<string, unknown>)?.[k] !== 'string')
      ?? ['K', 'N', 'M'].find((k) => typeof (x as unknown as Record<string, unknown>)?.[k] !== 'number');
    if (bad) throw new InputFileError(`${what} (row ${i + 1} has no ${bad}).`, action);
  });
  return { adapter: String(r.adapter ?? 'unknown adapter'), date: String(r.date ?? ''), probeGBps: r.probeGBps, dispatchMicros: r.dispatchMicros ?? null, rows: r.rows, notes: r.notes ?? [] };
}

/** A speed-up as text: 21x, 5.7x, 0.62x (two significant digits below 1: software adapters). */
export function ratioText(x: number | null, none = '-', sign = 'x'): string {
  if (x === null || !Number.isFinite(x)) return none;
  return `${x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toPrecision(2)}${sign}`;
}

/** A summary line's rate: % of the read probe at M = 1 (decode reads weights), TFLOP/s at M > 1. */
export function summaryRate(x: BenchSummaryRow, none = '-'): string {
  if (x.M === 1) return x.ofProbe === null ? none : `${(100 * x.ofProbe).toFixed(0)}% of probe`;
  return x.tflops === null ? none : `${x.tflops.toFixed(1)} TFLOP/s`;
}

/** The report as Markdown: the summary, then every row (README, bench/results). */
export function benchMarkdown(r: BenchReport): string {
  const f = (x: number | null, d = 1) => (x === null || !Number.isFinite(x) ? '-' : x.toFixed(d));
  const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(0)}%`);
  const summary = benchSummary(r);
  const lines = [
    `Adapter: ${r.adapter}. ${r.date}. Read probe: ${f(r.probeGBps, 0)} GB/s. Empty dispatch: ${f(r.dispatchMicros)} µs.`,
    '',
    ...(summary.length ? [
      '| shape (K x N) | M | fastest 4-bit kernel | GPU µs | rate | vs fp32 (GPU) | vs onnxruntime-web (call) |',
      '|---|---|---|---|---|---|---|',
      ...summary.map((x) => `| ${x.shape} ${x.K}x${x.N} | ${x.M} | ${x.contender} | ${f(x.gpuMicros)} | ${summaryRate(x)} | ${ratioText(x.overFp32)} | ${ratioText(x.overOrt)} |`),
      '',
    ] : []),
    '| shape (K x N) | M | contender | GPU µs | call µs | GB/s | % probe | % same-size read | check |',
    '|---|---|---|---|---|---|---|---|---|',
    ...r.rows.map((x) => `| ${x.shape} ${x.K}x${x.N} | ${x.M} | ${x.contender} | ${f(x.gpuMicros)} | ${f(x.callMicros)} | ${f(x.gbps, 0)} | ${pct(x.ofProbe)} | ${pct(x.ofRead)} | ${x.check} |`),
  ];
  for (const n of r.notes) lines.push('', `note: ${n}`);
  return lines.join('\n');
}
