// Quantizes a whole model, as GPTQModel does: layers in forward order, and within a layer the groups of
// linears in true-sequential order [q,k,v] -> [o] -> [gate,up] -> [down], each group's Hessian taken from
// inputs computed with everything before it already quantized. The float model is left intact: the result is
// a derived Transformer that shares embeddings and norms and runs packed weights.
//
// "shared" mode takes every Hessian from one pass of the float model instead (faster, reusable across bit
// widths and group sizes of a sweep); "sequential" (default) is the faithful one.

import { GpuOutOfMemoryError } from '../gpu/errors';
import { throwIfAborted } from '../errors';
import type { CommandBatch, Gpu } from '../gpu/gpu';
import { DenseLinear, type Linear } from '../model/linear';
import { matmul, rmsnorm } from '../model/ops';
import { checkPlan, headSliceRows } from '../model/memory';
import type { Activations, LayerTaps, LinearName, Transformer } from '../model/transformer';
import { LINEAR_NAMES } from '../model/transformer';
import type { OnProgress } from '../progress';
import { progressTracker } from '../progress';
import type { CalibrationSet } from './calibration';
import { destroyQuantized, errorRatio, type GptqSettings, gptqQuantize, type LayerReport, type QuantizedWeights, reconstructionSums, rtnQuantize } from './gptq';
import { GpuHessian } from './hessian';
import { allocPacked, checkKernelShape, copyPackedRows, destroyPacked, PackedLinear, type PackedWeights, packWeights, type ZeroFormat } from './packed';
import { formatOf } from '../model/formats';
import { type HeadSettings, type Method, type Mode, QUANTIZE_DEFAULTS } from './settings';

export { METHODS, MODES } from './settings';

/** What quantizeModel does; a person's choice of these (and their defaults) is QuantizeSettings in ./settings. */
export interface QuantizeOptions extends GptqSettings {
  method: Method;
  mode?: Mode;
  format?: ZeroFormat;
  /** Compute ||WX - ŴX||^2 / ||WX||^2 per linear (two extra matmuls per layer). */
  reconError?: boolean;
  /** Most token rows per pass (memory bound of the calibration passes). */
  maxRows?: number;
  /**
   * Sequential mode: keep each calibration micro-batch's attention output and MLP activation between the
   * groups' passes so that every part of a layer runs once (default, where the GPU has room: C_b x seqlen x
   * (heads x head_dim + intermediate) x 4 bytes); false reruns each group's pass from the layer's start.
   */
  keepStages?: boolean;
  /**
   * Quantize the LM head too (GPTQModel's lm_head), at these settings, after the layers: its Hessian from the
   * final-normed outputs of the quantized layers. A tied head gets its own packed matrix; the embedding stays float.
   */
  lmHead?: HeadSettings;
  /** Rows of the LM head solved at a time, in 32s (default: headSliceRows, ~128 MiB of f32). */
  headSlice?: number;
}

export interface LayerResult extends LayerReport {
  layer: number;
  module: LinearName;
  rows: number;
  cols: number;
}

/** " (calibration passes and Hessians X s, solves Y s)" where calibration ran (the CLI's summary, the Quantize tab). */
export function phasesText(r: { phases?: { calibration: number; solve: number }; calibration: unknown }): string {
  return r.phases && r.calibration ? ` (calibration passes and Hessians ${r.phases.calibration.toFixed(1)} s, solves ${r.phases.solve.toFixed(1)} s)` : '';
}

export interface QuantizeResult {
  model: Transformer;
  layers: LayerResult[];
  seconds: number;
  /**
   * Where the time went: the calibration passes with their Hessians, and the linear layers' solves (the GPTQ or
   * RTN solve, its error measure, packing). The solves wait for the GPU; the passes are the rest.
   */
  phases: { calibration: number; solve: number };
  options: QuantizeOptions;
  calibration: { count: number; seqLen: number; seed: number } | null;
  /** The LM head's report, where it was quantized. */
  head?: HeadResult;
}

export interface HeadResult extends LayerReport {
  rows: number;
  cols: number;
}

export interface QuantizeHooks {
  onProgress?: OnProgress;
  /** Called as each linear is done, for live reports (the UI's heatmap). */
  onLayer?: (r: LayerResult) => void;
  signal?: AbortSignal;
  /** Hessians from computeSharedHessians(), reused across configurations (shared mode). */
  hessians?: SharedHessians;
}

/** The input groups of a decoder layer, in true-sequential order, with the tap that sees their input. */
export const GROUPS: { names: LinearName[]; tap: keyof LayerTaps }[] = [
  { names: ['q', 'k', 'v'], tap: 'qkvIn' },
  { names: ['o'], tap: 'oIn' },
  { names: ['gate', 'up'], tap: 'gateUpIn' },
  { names: ['down'], tap: 'downIn' },
];

function groupCols(model: Transformer, g: number): number {
  const c = model.config;
  return [c.hidden, c.heads * c.headDim, c.hidden, c.intermediate][g];
}

/**
 * Calibration sequences in micro-batches of whole sequences, each held on the GPU as the residual stream. Where
 * memory allows (`keepStages`), each micro-batch also keeps its attention output and its MLP activation, so that a
 * true-sequential layer runs every part once: the o group's pass leaves the attention output, the gate/up
 * group's pass starts there (adding o into the stream), the down group's pass starts at the MLP and leaves its
 * activation, and the layer's output only adds down. Without them every group's pass reruns the layer from
 * its start (the attention ~4 times a layer).
 */
class CalibrationStream {
  readonly batches: { x: GPUBuffer; count: number; attn: GPUBuffer | null; gate: GPUBuffer | null }[] = [];
  keepStages = false;
  constructor(readonly model: Transformer, readonly calib: CalibrationSet, maxRows: number) {
    const per = Math.max(1, Math.floor(maxRows / calib.seqLen));
    const d = model.config.hidden;
    for (let i = 0; i < calib.count; i += per) {
      const count = Math.min(per, calib.count - i);
      const rows = count * calib.seqLen;
      const x = model.gpu.buffer(rows * d * 4, 'calib.x');
      const b = model.gpu.batch('calib.embed');
      const ids = model.gpu.upload(Uint32Array.from(calib.tokens.subarray(i * calib.seqLen, (i + count) * calib.seqLen)), 'calib.ids');
      model.embed(b, ids, x, rows);
      void b.submit();
      ids.destroy();
      this.batches.push({ x, count, attn: null, gate: null });
    }
  }

  /** Allocates the per-micro-batch stage buffers; false (nothing kept) where the GPU has no room for them. */
  async keepLayerStages(): Promise<boolean> {
    const c = this.model.config, L = this.calib.seqLen;
    try {
      for (const mb of this.batches) {
        mb.attn = await this.model.gpu.allocate(mb.count * L * c.heads * c.headDim * 4, 'calib.attn');
        mb.gate = await this.model.gpu.allocate(mb.count * L * c.intermediate * 4, 'calib.mlp');
      }
      return (this.keepStages = true);
    } catch (e) {
      if (!(e instanceof GpuOutOfMemoryError)) throw e;
      this.dropStages();
      return false;
    }
  }

  private dropStages(): void {
    for (const mb of this.batches) (mb.attn?.destroy(), mb.gate?.destroy(), (mb.attn = mb.gate = null));
    this.keepStages = false;
  }

  /** Records `tap` on every micro-batch's final-normed stream (the LM head's input, after the last layer). */
  async finalNormed(model: Transformer, tap: (b: CommandBatch, x: GPUBuffer, rows: number, count: number) => void): Promise<void> {
    const c = model.config;
    for (const mb of this.batches) {
      const rows = mb.count * this.calib.seqLen;
      const act = model.activations(rows);
      const b = model.gpu.batch('calib.head');
      rmsnorm(b, mb.x, model.finalNorm, rows, c.hidden, c.rmsEps, act.h);
      tap(b, act.h, rows, mb.count);
      await b.submit();
    }
  }

  /** Runs layer l of `model` on every micro-batch, from the tap `from` (or the start) to `until` (or the end). */
  async run(model: Transformer, l: number, taps: (count: number) => LayerTaps | undefined, part: { from?: keyof LayerTaps; until?: keyof LayerTaps; keep: boolean }): Promise<void> {
    const L = this.calib.seqLen, d = model.config.hidden;
    for (const mb of this.batches) {
      const rows = mb.count * L;
      const scratch = model.activations(rows);
      const b = model.gpu.batch('calib.layer');
      // the stream itself as the layer's residual where it is kept in place; a copy where the pass is thrown away
      const inPlace = part.keep || this.keepStages;
      const act: Activations = { ...scratch, x: inPlace ? mb.x : scratch.x, attn: mb.attn ?? scratch.attn, gate: mb.gate ?? scratch.gate };
      if (!inPlace) b.copy(mb.x, 0, scratch.x, 0, rows * d * 4);
      model.layer(b, l, act, { batch: mb.count, seq: L, past: 0 }, undefined, taps(mb.count), part.until, part.from);
      await b.submit();
    }
  }

  /** The Hessian pass of group gi of layer l: from where the previous group's pass left the stages, when kept. */
  async runGroup(model: Transformer, l: number, gi: number, taps: (count: number) => LayerTaps | undefined): Promise<void> {
    const until = GROUPS[gi].tap;
    const from = this.keepStages && gi >= 2 ? GROUPS[gi - 1].tap : undefined; // qkv and o groups start the layer
    await this.run(model, l, taps, { from, until, keep: false });
  }

  /** The layer's output, the next layer's input: the rest of the layer after the last group's pass. */
  async finishLayer(model: Transformer, l: number): Promise<void> {
    await this.run(model, l, () => undefined, { from: this.keepStages ? 'downIn' : undefined, keep: true });
  }

  destroy(): void {
    this.dropStages();
    for (const b of this.batches) b.x.destroy();
  }
}

export type SharedHessians = Map<string, GpuHessian>;
const hkey = (l: number, g: number) => `${l}:${g}`;
/** The LM head's shared Hessian. */
const HEAD_KEY = 'head';

/** Every Hessian of the float model from one pass over the calibration set (shared mode); the LM head's too with `head`. */
export async function computeSharedHessians(fp: Transformer, calib: CalibrationSet, hooks: Pick<QuantizeHooks, 'onProgress' | 'signal'> = {}, maxRows = 4096, head = false): Promise<SharedHessians> {
  const hs: SharedHessians = new Map();
  const stream = new CalibrationStream(fp, calib, maxRows);
  const tick = progressTracker('Hessians (float model)', fp.config.layers, hooks.onProgress, 'layers');
  try {
    for (let l = 0; l < fp.config.layers; l++) {
      throwIfAborted(hooks.signal, 'quantization');
      GROUPS.forEach((g, gi) => hs.set(hkey(l, gi), new GpuHessian(fp.gpu, groupCols(fp, gi), `H${l}.${gi}`)));
      await stream.run(fp, l, (count) => {
        const taps: LayerTaps = {};
        GROUPS.forEach((g, gi) => {
          taps[g.tap] = (b, x, rows) => hs.get(hkey(l, gi))!.add(b, x, rows, count);
        });
        return taps;
      }, { keep: true });
      tick(l + 1, `layer ${l + 1}/${fp.config.layers}`);
    }
    if (head) {
      const H = new GpuHessian(fp.gpu, fp.config.hidden, 'H.head');
      hs.set(HEAD_KEY, H);
      await stream.finalNormed(fp, (b, x, rows, count) => H.add(b, x, rows, count));
    }
    await fp.gpu.flush();
    return hs;
  } catch (e) {
    for (const h of hs.values()) h.destroy();
    throw e;
  } finally {
    stream.destroy();
  }
}

export function destroyHessians(hs: SharedHessians): void {
  for (const h of hs.values()) h.destroy();
  hs.clear();
}

/** Quantizes every linear layer of `fp` (a float model) with GPTQ or RTN. */
export async function quantizeModel(
  fp: Transformer,
  calib: CalibrationSet | null,
  opts: QuantizeOptions,
  hooks: QuantizeHooks = {},
): Promise<QuantizeResult> {
  const gpu = fp.gpu, c = fp.config;
  const t0 = performance.now();
  const mode = opts.method === 'rtn' ? 'none' : (opts.mode ?? QUANTIZE_DEFAULTS.mode);
  if (opts.method === 'gptq' && !calib && !hooks.hessians) throw new Error('GPTQ needs calibration data (or shared Hessians)');
  if (opts.lmHead) {
    // the head's settings checked before any layer is quantized, not after
    formatOf(opts.lmHead.bits);
    checkKernelShape(c.hidden, opts.lmHead.groupSize, 'quantizeModel: the LM head');
    if (opts.headSlice !== undefined && (opts.headSlice <= 0 || opts.headSlice % 32 !== 0)) throw new RangeError(`quantizeModel: headSlice ${opts.headSlice} is not a positive multiple of 32`);
  }
  // refused before any work where a buffer of the plan cannot fit the adapter (the solve's f32 copies and
  // Hessians, the calibration passes), naming a setting that fits
  checkPlan(c, {
    weights: fp.layers[0].linears.q instanceof DenseLinear && fp.layers[0].linears.q.f16 ? 'f16' : 'f32', context: 0, passRows: 1,
    quantize: { bits: opts.bits, groupSize: opts.groupSize, calibTokens: calib ? calib.count * calib.seqLen : 0, maxRows: opts.maxRows ?? 4096, mode: mode === 'none' ? 'rtn' : mode, keepStages: opts.keepStages !== false, head: opts.lmHead },
  }, { maxBuffer: Math.min(gpu.adapter.limits.maxStorageBufferBindingSize, gpu.adapter.limits.maxBufferSize) }, 'Quantizing this model');
  const linears: Record<LinearName, Linear>[] = fp.layers.map((l) => ({ ...l.linears }));
  const q = fp.derive(linears);
  const results: LayerResult[] = [];
  let head: { linear: PackedLinear; result: HeadResult } | null = null;
  const total = c.layers * LINEAR_NAMES.length + (opts.lmHead ? 1 : 0);
  const tick = progressTracker(`${opts.method.toUpperCase()} ${opts.bits}-bit G=${opts.groupSize}`, total, hooks.onProgress, 'linears');
  let stream: CalibrationStream | null = null;
  let ownHessians: SharedHessians | null = null;
  try {
    let hessians = hooks.hessians ?? null;
    if (mode === 'shared' && !hessians) hessians = ownHessians = await computeSharedHessians(fp, calib!, hooks, opts.maxRows, Boolean(opts.lmHead));
    if (mode === 'shared' && opts.lmHead && !hessians!.has(HEAD_KEY)) throw new Error('quantizeModel: the shared Hessians were computed without the LM head\'s (computeSharedHessians(..., head = true))');
    if (mode === 'sequential') {
      stream = new CalibrationStream(fp, calib!, opts.maxRows ?? 4096);
      if (opts.keepStages !== false) await stream.keepLayerStages();
    }
    for (let l = 0; l < c.layers; l++) {
      for (let gi = 0; gi < GROUPS.length; gi++) {
        throwIfAborted(hooks.signal, 'quantization');
        const group = GROUPS[gi];
        let H: GpuHessian | null = null;
        if (mode === 'sequential') {
          H = new GpuHessian(gpu, groupCols(fp, gi), `H${l}.${gi}`);
          const hess = H;
          await stream!.runGroup(q, l, gi, (count) => {
            const taps: LayerTaps = {};
            taps[group.tap] = (b, x, rows) => hess.add(b, x, rows, count);
            return taps;
          });
        } else if (mode === 'shared') {
          H = hessians!.get(hkey(l, gi)) ?? null;
        }
        for (const name of group.names) {
          const src = fp.layers[l].linears[name];
          if (!(src instanceof DenseLinear)) throw new Error('Only float models can be quantized (this one is already quantized).');
          const t1 = performance.now();
          const { rows, cols } = { rows: src.outFeatures, cols: src.inFeatures };
          const W = await src.f32Weight(); // the solve reads f32: f16-stored weights are widened for it
          let solved: Solved;
          try {
            solved = await solveLinear(gpu, W.buffer, H, rows, cols, opts);
          } finally {
            W.release();
          }
          const { qw, report } = solved;
          const reconError = solved.recon ? errorRatio(solved.recon) : NaN;
          const b = gpu.batch('pack');
          const packed = packWeights(gpu, b, qw, { descAct: opts.actOrder, format: opts.format, bias: src.bias ? copyBuffer(gpu, b, src.bias, rows * 4) : undefined });
          await b.submit();
          destroyQuantized(qw);
          linears[l][name] = new PackedLinear(gpu, packed);
          const r: LayerResult = { ...report, reconError, seconds: (performance.now() - t1) / 1000, layer: l, module: name, rows, cols };
          results.push(r);
          hooks.onLayer?.(r);
          tick(results.length, `layer ${l + 1}/${c.layers} ${name}`);
        }
        if (mode === 'sequential') H?.destroy();
      }
      // The next layer's inputs: this layer's outputs with its quantized weights.
      if (stream) await stream.finishLayer(q, l);
    }
    if (opts.lmHead) {
      throwIfAborted(hooks.signal, 'quantization');
      const src = fp.lmHead;
      if (!(src instanceof DenseLinear)) throw new Error('Only a float LM head can be quantized (this one is already quantized).');
      let H: GpuHessian | null = null;
      try {
        if (mode === 'sequential') {
          const hess = (H = new GpuHessian(gpu, c.hidden, 'H.head'));
          await stream!.finalNormed(q, (b, x, rows, count) => hess.add(b, x, rows, count));
        } else if (mode === 'shared') {
          H = hessians!.get(HEAD_KEY)!;
        }
        head = await quantizeHead(gpu, src, H, opts, opts.lmHead);
      } finally {
        if (mode === 'sequential') H?.destroy();
      }
      q.setLmHead(head.linear);
      tick(results.length + 1, 'LM head');
    }
    await gpu.flush();
    const seconds = (performance.now() - t0) / 1000, solve = results.reduce((a, r) => a + r.seconds, 0) + (head?.result.seconds ?? 0);
    return {
      model: q, layers: results, seconds, phases: { calibration: Math.max(0, seconds - solve), solve }, options: opts,
      calibration: calib ? { count: calib.count, seqLen: calib.seqLen, seed: calib.seed } : null,
      ...(head ? { head: head.result } : {}),
    };
  } catch (e) {
    // Free what was built; the float model is untouched.
    for (const l of linears) for (const lin of Object.values(l)) if (lin instanceof PackedLinear) lin.destroy();
    head?.linear.destroy();
    q.releaseActivations();
    throw e;
  } finally {
    stream?.destroy();
    if (ownHessians) destroyHessians(ownHessians);
  }
}

type Solved = { qw: QuantizedWeights; report: Omit<LayerReport, 'reconError' | 'seconds'>; recon: { num: number; den: number } | null };

/** GPTQ of W [rows, cols] over H (RTN where asked or there is no H), and its reconstruction sums where measured. */
async function solveLinear(gpu: Gpu, W: GPUBuffer, H: GpuHessian | null, rows: number, cols: number, opts: QuantizeOptions): Promise<Solved> {
  let qw: QuantizedWeights, report: Solved['report'];
  if (opts.method === 'rtn' || !H) {
    qw = await rtnQuantize(gpu, W, rows, cols, opts);
    report = { method: 'rtn', loss: NaN, dampPercent: null, fallback: null };
  } else {
    ({ q: qw, report } = await gptqQuantize(gpu, W, H.H, rows, cols, opts));
  }
  const recon = H && opts.reconError !== false
    ? await reconstructionSums(gpu, W, H.H, qw, (b, x, w, y, M, N, K) => matmul(b, x, w, y, M, N, K, { empty: gpu.empty }))
    : null;
  return { qw, report, recon };
}

/**
 * The LM head quantized a slice of rows at a time (a vocabulary's f32 matrix and the solve's copies of it would
 * be GiBs; GPTQ solves each row on its own given H), each slice packed into the whole head's buffers.
 * Symmetric or not as `s` says, no act-order (GPTQModel's head settings), the layers' other settings.
 */
async function quantizeHead(gpu: Gpu, src: DenseLinear, H: GpuHessian | null, opts: QuantizeOptions, s: HeadSettings): Promise<{ linear: PackedLinear; result: HeadResult }> {
  const t0 = performance.now();
  const rows = src.outFeatures, cols = src.inFeatures;
  const settings: QuantizeOptions = { ...opts, bits: s.bits, groupSize: s.groupSize, sym: s.sym, actOrder: false, staticGroups: false };
  const step = rows % 2 === 0 && opts.headSlice ? opts.headSlice : headSliceRows(rows, cols);
  let head: PackedWeights | null = null;
  let first: Solved['report'] | null = null;
  let loss = 0, measured = false;
  const recon = { num: 0, den: 0 };
  try {
    for (let r0 = 0; r0 < rows; r0 += step) {
      const n = Math.min(step, rows - r0);
      const W = await src.f32Weight(r0, n);
      let solved: Solved;
      try {
        solved = await solveLinear(gpu, W.buffer, H, n, cols, settings);
      } finally {
        W.release();
      }
      let part: PackedWeights | null = null;
      try {
        const b = gpu.batch('pack.head');
        part = packWeights(gpu, b, solved.qw, { descAct: false, format: opts.format });
        if (n === rows) head = part;
        else {
          head ??= allocPacked(gpu, { ...solved.qw, rows }, { descAct: false, format: part.format });
          copyPackedRows(b, part, head, r0);
        }
        await b.submit();
      } finally {
        destroyQuantized(solved.qw);
        if (part && part !== head) destroyPacked(part);
      }
      first ??= solved.report;
      loss += solved.report.loss;
      if (solved.recon) (measured = true), (recon.num += solved.recon.num), (recon.den += solved.recon.den);
    }
  } catch (e) {
    if (head) destroyPacked(head);
    throw e;
  }
  const result: HeadResult = { ...first!, loss, reconError: measured ? errorRatio(recon) : NaN, seconds: (performance.now() - t0) / 1000, rows, cols };
  return { linear: new PackedLinear(gpu, head!), result };
}

function copyBuffer(gpu: Gpu, b: CommandBatch, src: GPUBuffer, bytes: number): GPUBuffer {
  const dst = gpu.buffer(bytes, 'bias');
  b.copy(src, 0, dst, 0, bytes);
  return dst;
}
