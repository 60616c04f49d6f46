// The sweep engine, shared by the browser and the CLI: for each model, the float baseline, then every
// (method, bits, G, C_b) configuration: quantize -> evaluate -> append the rows to the store. Configurations
// already in the store are skipped, so a reload or a crash resumes where it stopped. Calibration sets are
// drawn once per (model, C_b, seed); in shared mode the Hessians too, and reused across bits and G.
import { CancelledError, throwIfAborted } from '../gpu/errors';
import type { Gpu } from '../gpu/gpu';
import { type DataReader, evaluate, type EvalOptions, type EvalReport, plannedItems } from '../eval/run';
import { type Suite, suiteForModel } from '../eval/tasks';
import type { Checkpoint } from '../model/checkpoint';
import type { TextTokenizer } from '../model/tokenizer';
import type { Transformer } from '../model/transformer';
import type { Progress } from '../progress';
import { type CalibrationSet, corpusTokens, drawCalibration } from '../quant/calibration';
import { loadModel } from '../quant/load';
import { computeSharedHessians, destroyHessians, quantizeModel, type QuantizeResult, type SharedHessians } from '../quant/quantize-model';
import type { QuantPoint } from './grid';
import { type ConfigKey, configId, LAB_VERSION, type ResultRow } from './results';
import { type Shard, shardOf, unfinishedTasks } from './shard';
import type { ResultStore } from './store';

export interface SweepModel {
  /** Shown in result rows: a bundled name, a folder, a URL or a Hub id. */
  id: string;
  open(): Promise<{ ckpt: Checkpoint; tokenizer: TextTokenizer }>;
}

export interface SweepOptions {
  models: SweepModel[];
  points: QuantPoint[];
  methods?: ('gptq' | 'rtn')[];
  sym?: boolean;
  actOrder?: boolean;
  mode?: 'sequential' | 'shared';
  percdamp?: number;
  /** Calibration sequence length (default: min(2048, the model's context)). */
  seqLen?: number;
  seed?: number;
  tasks: string[];
  /** Task suite; default: the one the model's config.json records (suiteForModel). */
  suite?: Suite;
  limit?: number | null;
  fewshot?: number;
  pplWindows?: number | null;
  /** Calibration text file under public/data (documents separated by blank lines). */
  calibFile?: string;
  baseline?: boolean;
  /** Run only this shard's configurations (shardOf their identity); the others are another process's. */
  shard?: Shard;
}

export interface SweepStatus {
  /** 1-based index of the configuration being run, and how many the sweep has. */
  config: number;
  total: number;
  /** The configuration, in words. */
  label: string;
  /** What it is doing now: quantize layer 2/4 mlp.down_proj, evaluate dict_ending_mc, ... */
  phase: Progress;
  skipped: number;
  eta?: number;
}

export interface SweepHooks {
  onStatus?: (s: SweepStatus) => void;
  onRows?: (rows: ResultRow[]) => void;
  signal?: AbortSignal;
  /** Awaited between configurations: a pending promise pauses the sweep. */
  gate?: () => Promise<void>;
}

export interface PlannedConfig {
  model: SweepModel;
  method: 'fp' | 'gptq' | 'rtn';
  point: QuantPoint | null;
}

export function describeConfig(c: { model: { id: string }; method: string; point: QuantPoint | null }): string {
  const name = c.model.id.replace(/^.*models\//, '');
  return c.method === 'fp' ? `${name} float baseline` : `${name} ${c.method.toUpperCase()} ${c.point!.bits}-bit G=${c.point!.groupSize} C_b=${c.point!.calib}`;
}

export function planSweep(opts: SweepOptions): PlannedConfig[] {
  const out: PlannedConfig[] = [];
  for (const model of opts.models) {
    if (opts.baseline !== false) out.push({ model, method: 'fp', point: null });
    for (const method of opts.methods ?? ['gptq']) {
      for (const point of opts.points) {
        if (method === 'rtn' && out.some((c) => c.model === model && c.method === 'rtn' && c.point!.bits === point.bits && c.point!.groupSize === point.groupSize)) continue; // RTN has no C_b
        out.push({ model, method, point });
      }
    }
  }
  return out;
}

/** The configurations of the plan that `opts.shard` runs (all without one); opens each model's checkpoint (no GPU) for its keys. */
export async function planShard(opts: SweepOptions, open: (m: SweepModel) => Promise<{ ckpt: Pick<Checkpoint, 'nonEmbeddingParams' | 'config'> }>): Promise<PlannedConfig[]> {
  const plan = planSweep(opts);
  if (!opts.shard) return plan;
  const out: PlannedConfig[] = [];
  for (const c of plan) if (shardOf(configKey(opts, c, (await open(c.model)).ckpt), opts.shard.count) === opts.shard.index) out.push(c);
  return out;
}

/** The calibration sequence length of a sweep on a model of this context. */
function calibSeqLen(opts: SweepOptions, maxPosition: number): number {
  return Math.min(opts.seqLen ?? 2048, maxPosition);
}

/** The row key of a planned configuration on its opened checkpoint: what its result rows carry (configId is its identity). */
export function configKey(opts: SweepOptions, c: PlannedConfig, ckpt: Pick<Checkpoint, 'nonEmbeddingParams' | 'config'>): ConfigKey {
  const fp = c.method === 'fp';
  return {
    model: c.model.id, family: ckpt.config.arch, n_params: ckpt.nonEmbeddingParams, method: c.method,
    bits: fp ? 16 : c.point!.bits,
    group_size: fp ? 0 : c.point!.groupSize,
    calib_size: c.method === 'gptq' ? c.point!.calib : 0,
    seqlen: c.method === 'gptq' ? calibSeqLen(opts, ckpt.config.maxPosition) : 0,
    sym: fp ? true : (opts.sym ?? true),
    act_order: c.method === 'gptq' ? (opts.actOrder ?? true) : false,
    mode: c.method === 'gptq' ? (opts.mode ?? 'sequential') : '',
    seed: c.method === 'gptq' ? (opts.seed ?? 0) : 0,
  };
}

/** What every configuration of a sweep is evaluated with. */
export function evalOptions(opts: SweepOptions, suite: Suite): EvalOptions {
  return { tasks: opts.tasks, suite, limit: opts.limit, fewshot: opts.fewshot, seed: 1234, pplWindows: opts.pplWindows };
}

export class SweepRunner {
  constructor(
    readonly gpu: Gpu,
    readonly store: ResultStore,
    readonly data: DataReader,
  ) {}

  /** Runs every configuration not yet in the store. Returns how many ran and how many were skipped. */
  async run(opts: SweepOptions, hooks: SweepHooks = {}): Promise<{ ran: number; skipped: number; seconds: number }> {
    const t0 = performance.now();
    // a model's checkpoint is opened once (no GPU): a sharded plan needs it up front for the configurations' keys
    const opened = new Map<SweepModel, Promise<{ ckpt: Checkpoint; tokenizer: TextTokenizer }>>();
    const open = (m: SweepModel) => opened.get(m) ?? opened.set(m, m.open()).get(m)!;
    const plan = await planShard(opts, open);
    // per configuration, the items each stored task was measured on
    const done = new Map<string, Map<string, number>>();
    for (const r of await this.store.all()) (done.get(configId(r)) ?? done.set(configId(r), new Map()).get(configId(r))!).set(r.task, r.items);
    let ran = 0, skipped = 0, index = 0;
    const configSeconds: number[] = [];
    const total = plan.length;
    const status = (label: string, phase: Progress) => {
      const avg = configSeconds.length ? configSeconds.reduce((a, b) => a + b, 0) / configSeconds.length : undefined;
      hooks.onStatus?.({ config: index, total, label, phase, skipped, eta: avg !== undefined ? avg * (total - index + 1) : undefined });
    };

    for (const model of opts.models) {
      const configs = plan.filter((c) => c.model === model);
      let loaded: { ckpt: Checkpoint; tokenizer: TextTokenizer; fp: Transformer } | null = null;
      let corpus: Int32Array | null = null;
      let calib: CalibrationSet | null = null;
      let hessians: SharedHessians | null = null;
      let planned: Map<string, number> | null = null;
      try {
        for (const c of configs) {
          index++;
          throwIfAborted(hooks.signal, 'sweep');
          await hooks.gate?.();
          const label = describeConfig(c);
          status(label, { what: 'loading model', done: 0, total: 1 });
          if (!loaded) {
            const { ckpt, tokenizer } = await open(model);
            const fp = (await loadModel(this.gpu, ckpt, { signal: hooks.signal, onProgress: (p) => status(label, p) })).model;
            loaded = { ckpt, tokenizer, fp };
          }
          const { ckpt, tokenizer, fp } = loaded;
          const suite = opts.suite ?? suiteForModel(ckpt.rawConfig).suite;
          const seqLen = calibSeqLen(opts, fp.config.maxPosition);
          const key = configKey(opts, c, ckpt);
          // done: every task stored, measured on at least the items this run would score (asked for more
          // items than a quick run had, it runs the configuration again and its rows replace the old)
          planned ??= await plannedItems(tokenizer, this.data, evalOptions(opts, suite), fp.config.maxPosition);
          const have = done.get(configId(key));
          if (have && !unfinishedTasks(planned, have).length) {
            skipped++;
            continue;
          }
          const t1 = performance.now();
          let qmodel: Transformer = fp;
          let quantSeconds = 0;
          let how = NOT_QUANTIZED;
          if (c.method !== 'fp') {
            const p = c.point!;
            if (c.method === 'gptq' && calib?.count !== p.calib) {
              if (hessians) destroyHessians(hessians), (hessians = null);
              corpus ??= corpusTokens(tokenizer, await this.data.read(opts.calibFile ?? 'calib_dict.txt'));
              calib = drawCalibration(corpus, p.calib, seqLen, opts.seed ?? 0, tokenizer.prefix);
              if ((opts.mode ?? 'sequential') === 'shared') {
                hessians = await computeSharedHessians(fp, calib, { signal: hooks.signal, onProgress: (x) => status(label, x) });
              }
            }
            const res = await quantizeModel(
              fp,
              c.method === 'gptq' ? calib : null,
              {
                method: c.method, bits: p.bits, groupSize: p.groupSize, sym: opts.sym ?? true, actOrder: c.method === 'gptq' && (opts.actOrder ?? true),
                mode: opts.mode ?? 'sequential', percdamp: opts.percdamp ?? 0.05, reconError: false,
              },
              { signal: hooks.signal, onProgress: (x) => status(label, x), hessians: hessians ?? undefined },
            );
            qmodel = res.model;
            quantSeconds = res.seconds;
            how = howQuantized(res);
          }
          let report: EvalReport;
          try {
            report = await evaluate(qmodel, tokenizer, this.data, { ...evalOptions(opts, suite), signal: hooks.signal, onProgress: (x) => status(label, x) });
          } finally {
            if (qmodel !== fp) qmodel.destroy();
          }
          const rows = reportRows(key, report, quantSeconds, this.gpu.adapterName, how);
          await this.store.append(rows);
          hooks.onRows?.(rows);
          ran++;
          configSeconds.push((performance.now() - t1) / 1000);
        }
      } catch (e) {
        if (e instanceof CancelledError) return { ran, skipped, seconds: (performance.now() - t0) / 1000 };
        throw e;
      } finally {
        if (hessians) destroyHessians(hessians);
        loaded?.fp.destroy();
      }
    }
    return { ran, skipped, seconds: (performance.now() - t0) / 1000 };
  }
}

type How = Pick<ResultRow, 'damp_used' | 'fallback' | 'calib_tokens'>;
const NOT_QUANTIZED: How = { damp_used: null, fallback: '', calib_tokens: 0 };

/** How a quantization was made, for its rows: the largest dampening used, the layers that fell back, the calibration tokens. */
export function howQuantized(res: Pick<QuantizeResult, 'layers' | 'calibration'>): How {
  const damps = res.layers.map((l) => l.dampPercent).filter((d): d is number => d !== null);
  const falls = new Map<string, number>();
  for (const l of res.layers) if (l.fallback) falls.set(l.fallback, (falls.get(l.fallback) ?? 0) + 1);
  return {
    damp_used: damps.length ? Math.max(...damps) : null,
    fallback: [...falls].map(([k, n]) => `${k} x${n}`).join(', '),
    calib_tokens: res.calibration ? res.calibration.count * res.calibration.seqLen : 0,
  };
}

/** One row per task and per perplexity metric of an evaluation. */
export function reportRows(key: ConfigKey, report: EvalReport, quantSeconds: number, adapter: string, how: How = NOT_QUANTIZED): ResultRow[] {
  const created = new Date().toISOString();
  const base = { ...key, quant_seconds: quantSeconds, ...how, adapter, lab_version: LAB_VERSION, created };
  return [
    ...report.perplexity.map((p) => ({
      ...base, task: p.task, level: '', metric: p.metric, acc: null, acc_chance: null, acc_adj: null, stderr: null,
      perplexity: p.ppl, items: p.windows, fewshot: 0, eval_seconds: p.seconds,
    })),
    ...report.tasks.map((t) => ({
      ...base, task: t.task, level: t.level, metric: t.metric, acc: t.acc, acc_chance: t.acc_chance, acc_adj: t.acc_adj,
      stderr: Number.isFinite(t.stderr) ? t.stderr : null, perplexity: null, items: t.items, fewshot: t.fewshot, eval_seconds: t.seconds,
    })),
  ];
}
