// Quantizes a whole model, as GPTQModel does: layers in forward order, and within a layer the groups of
// linears in true-sequential order [q,k,v] -> [o] -> [gate,up] -> [down], each group's Hessian taken from
// inputs computed with everything before it already quantized. The float model is left intact: the result is
// a derived Transformer that shares embeddings and norms and runs packed weights.
//
// "shared" mode takes every Hessian from one pass of the float model instead (faster, reusable across bit
// widths and group sizes of a sweep); "sequential" (default) is the faithful one.

import { throwIfAborted } from '../gpu/errors';
import type { Gpu } from '../gpu/gpu';
import { DenseLinear, type Linear } from '../model/linear';
import { matmul } from '../model/ops';
import type { LayerTaps, LinearName, Transformer } from '../model/transformer';
import { LINEAR_NAMES } from '../model/transformer';
import type { OnProgress } from '../progress';
import { progressTracker } from '../progress';
import type { CalibrationSet } from './calibration';
import { destroyQuantized, type GptqSettings, gptqQuantize, type LayerReport, reconstructionError, rtnQuantize } from './gptq';
import { GpuHessian } from './hessian';
import { PackedLinear, packWeights, type ZeroFormat } from './packed';

/** GPTQ, or round-to-nearest (no calibration) as its baseline. */
export const METHODS = ['gptq', 'rtn'] as const;
/** Hessians from the partly quantized model, layer by layer (true-sequential), or all from the float model. */
export const MODES = ['sequential', 'shared'] as const;

export interface QuantizeOptions extends GptqSettings {
  method: (typeof METHODS)[number];
  mode?: (typeof MODES)[number];
  format?: ZeroFormat;
  /** Compute ||WX - ŴX||^2 / ||WX||^2 per linear (two extra matmuls per layer). */
  reconError?: boolean;
  /** Most token rows per pass (memory bound of the calibration passes). */
  maxRows?: number;
}

export interface LayerResult extends LayerReport {
  layer: number;
  module: LinearName;
  rows: number;
  cols: number;
}

export interface QuantizeResult {
  model: Transformer;
  layers: LayerResult[];
  seconds: number;
  options: QuantizeOptions;
  calibration: { count: number; seqLen: number; seed: number } | null;
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

/** Calibration sequences in micro-batches of whole sequences, each held on the GPU as the residual stream. */
class CalibrationStream {
  readonly batches: { x: GPUBuffer; count: number }[] = [];
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
      this.batches.push({ x, count });
    }
  }

  /** Runs layer l of `model` on every micro-batch; with `keep`, the outputs replace the inputs. */
  async run(model: Transformer, l: number, taps: (count: number) => LayerTaps | undefined, keep: boolean, until?: keyof LayerTaps): Promise<void> {
    const L = this.calib.seqLen, d = model.config.hidden;
    for (const mb of this.batches) {
      const rows = mb.count * L;
      const act = model.activations(rows);
      const b = model.gpu.batch('calib.layer');
      b.copy(mb.x, 0, act.x, 0, rows * d * 4);
      model.layer(b, l, act, { batch: mb.count, seq: L, past: 0 }, undefined, taps(mb.count), until);
      if (keep) b.copy(act.x, 0, mb.x, 0, rows * d * 4);
      await b.submit();
    }
  }

  destroy(): void {
    for (const b of this.batches) b.x.destroy();
  }
}

export type SharedHessians = Map<string, GpuHessian>;
const hkey = (l: number, g: number) => `${l}:${g}`;

/** Every Hessian of the float model from one pass over the calibration set (shared mode). */
export async function computeSharedHessians(fp: Transformer, calib: CalibrationSet, hooks: Pick<QuantizeHooks, 'onProgress' | 'signal'> = {}, maxRows = 4096): Promise<SharedHessians> {
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
      }, true);
      tick(l + 1, `layer ${l + 1}/${fp.config.layers}`);
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
  const mode = opts.method === 'rtn' ? 'none' : (opts.mode ?? 'sequential');
  if (opts.method === 'gptq' && !calib && !hooks.hessians) throw new Error('GPTQ needs calibration data (or shared Hessians)');
  const linears: Record<LinearName, Linear>[] = fp.layers.map((l) => ({ ...l.linears }));
  const q = fp.derive(linears);
  const results: LayerResult[] = [];
  const total = c.layers * LINEAR_NAMES.length;
  const tick = progressTracker(`${opts.method.toUpperCase()} ${opts.bits}-bit G=${opts.groupSize}`, total, hooks.onProgress, 'linears');
  let stream: CalibrationStream | null = null;
  let ownHessians: SharedHessians | null = null;
  try {
    let hessians = hooks.hessians ?? null;
    if (mode === 'shared' && !hessians) hessians = ownHessians = await computeSharedHessians(fp, calib!, hooks, opts.maxRows);
    if (mode === 'sequential') stream = new CalibrationStream(fp, calib!, opts.maxRows ?? 4096);
    for (let l = 0; l < c.layers; l++) {
      for (let gi = 0; gi < GROUPS.length; gi++) {
        throwIfAborted(hooks.signal, 'quantization');
        const group = GROUPS[gi];
        let H: GpuHessian | null = null;
        if (mode === 'sequential') {
          H = new GpuHessian(gpu, groupCols(fp, gi), `H${l}.${gi}`);
          const hess = H;
          await stream!.run(q, l, (count) => {
            const taps: LayerTaps = {};
            taps[group.tap] = (b, x, rows) => hess.add(b, x, rows, count);
            return taps;
          }, false, group.tap);
        } else if (mode === 'shared') {
          H = hessians!.get(hkey(l, gi)) ?? null;
        }
        for (const name of group.names) {
          const src = fp.layers[l].linears[name];
          if (!(src instanceof DenseLinear)) throw new Error('Only float models can be quantized (this one is already quantized).');
          const t1 = performance.now();
          const { rows, cols } = { rows: src.outFeatures, cols: src.inFeatures };
          let report: Omit<LayerReport, 'reconError' | 'seconds'>;
          let qw;
          const W = await src.f32Weight(); // the solve reads f32: f16-stored weights are widened for it
          let reconError = NaN;
          try {
            if (opts.method === 'rtn' || !H) {
              qw = await rtnQuantize(gpu, W.buffer, rows, cols, opts);
              report = { method: 'rtn', loss: NaN, dampPercent: null, fallback: null };
            } else {
              ({ q: qw, report } = await gptqQuantize(gpu, W.buffer, H.H, rows, cols, opts));
            }
            if (H && opts.reconError !== false) {
              reconError = await reconstructionError(gpu, W.buffer, H.H, qw, (b, x, w, y, M, N, K) => matmul(b, x, w, y, M, N, K, { empty: gpu.empty }));
            }
          } finally {
            W.release();
          }
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
      if (stream) await stream.run(q, l, () => undefined, true);
    }
    await gpu.flush();
    return { model: q, layers: results, seconds: (performance.now() - t0) / 1000, options: opts, calibration: calib ? { count: calib.count, seqLen: calib.seqLen, seed: calib.seed } : null };
  } catch (e) {
    // Free what was built; the float model is untouched.
    for (const l of linears) for (const lin of Object.values(l)) if (lin instanceof PackedLinear) lin.destroy();
    q.releaseActivations();
    throw e;
  } finally {
    stream?.destroy();
    if (ownHessians) destroyHessians(ownHessians);
  }
}

function copyBuffer(gpu: Gpu, b: import('../gpu/gpu').CommandBatch, src: GPUBuffer, bytes: number): GPUBuffer {
  const dst = gpu.buffer(bytes, 'bias');
  b.copy(src, 0, dst, 0, bytes);
  return dst;
}
