// The sweep engine, shared by the browser and the CLI: for each model, the float baseline, then every
// (method, bits, G, C_b) configuration: quantize -> evaluate -> append the rows to the store. Configurations
// already in the store are skipped, so a reload or a crash resumes where it stopped. Calibration sets are
// drawn once per (model, C_b, seed); in shared mode the Hessians too, and reused across bits and G.
import { CancelledError, throwIfAborted } from '../errors';
import type { Gpu } from '../gpu/gpu';
import { type DataReader, evaluate, type EvalOptions, type EvalReport, plannedItems, PPL_WINDOWS } from '../eval/run';
import { EVAL_SEED } from '../eval/settings';
import { type Suite, suiteForModel } from '../eval/tasks';
import type { Checkpoint } from '../model/checkpoint';
import type { TextTokenizer } from '../model/tokenizer';
import type { Transformer } from '../model/transformer';
import type { Progress } from '../progress';
import { type CalibrationSet, corpusTokens, drawCalibration } from '../quant/calibration';
import { loadModel } from '../quant/load';
import { computeSharedHessians, destroyHessians, quantizeModel, type QuantizeResult, type SharedHessians } from '../quant/quantize-model';
import type { HeadSettings, Method as QuantMethod, QuantizeSettings } from '../quant/settings';
import type { QuantPoint } from './grid';
import { SWEEP_DEFAULTS, type SweepQuantSettings, sweepSettings } from './run-config';
import { LAB_VERSION } from '../version';
import { type ConfigKey, configId, configLabel, headColumns, type ResultRow } from './results';
import { type Shard, shardOf, unfinishedTasks } from './shard';
import type { ResultStore } from './store';

export interface SweepModel {
  /** Shown in result rows: a bundled name, a folder, a URL or a Hub id. */
  id: string;
  open(): Promise<{ ckpt: Checkpoint; tokenizer: TextTokenizer }>;
}

/**
 * A sweep's options; the quantization settings (sym, act-order, static groups, mode, damping, calibration
 * length, seed and text) default to SWEEP_DEFAULTS. Each option's role in the result rows: SWEEP_OPTIONS
 * (run-config.ts).
 */
export interface SweepOptions extends Partial<SweepQuantSettings> {
  models: SweepModel[];
  points: QuantPoint[];
  methods?: QuantMethod[];
  tasks: string[];
  /** Task suite; default: the one the model's config.json records (suiteForModel). */
  suite?: Suite;
  limit?: number | null;
  pplWindows?: number | null;
  baseline?: boolean;
  /** Run only this shard's configurations (shardOf their identity); the others are another process's. */
  shard?: Shard;
  /** Quantize every configuration's LM head too, so (GPTQModel's lm_head); default: the head stays float, as in the study. */
  lmHead?: HeadSettings;
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
  /** Seconds left (estimateSweep), once the configurations left can be estimated. */
  eta?: number;
  /** plan: quantization times still predicted from the plan (calibration tokens x the measured forward speed); timed: from configurations quantized in this sweep or stored. */
  etaBasis?: EtaBasis;
  /** What the estimate was learnt from, per model: the lab keeps it for its estimate before the next sweep. */
  times?: SweepTimes;
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

/** A planned configuration of a sweep with these options in words (results.ts configLabel), its model by its folder's name. */
export function describeConfig(c: { model: { id: string }; method: PlannedConfig['method']; point: QuantPoint | null }, opts: Pick<SweepOptions, 'lmHead'>): string {
  const p = c.point;
  return configLabel({
    model: c.model.id.replace(/^.*models\//, ''), method: c.method, bits: p?.bits ?? 16, group_size: p?.groupSize ?? 0, calib_size: p?.calib ?? 0,
    ...headColumns(c.method === 'fp' ? undefined : opts.lmHead),
  });
}

// --- How long a sweep will take ---------------------------------------------------------------------------
// A configuration's time is its evaluation plus its quantization. Evaluation: the same tasks and items for every
// configuration of a model, priced per item of each task as last measured for the same method (a packed model
// evaluates at another speed than the float one; until a quantized model has been evaluated, the float
// baseline's speed stands in). Quantization: GPTQ passes C_b x seqlen calibration tokens through the model and
// solves each layer; RTN only rounds. Until a GPTQ configuration has been timed, the calibration is priced from
// the plan at the forward speed the perplexity evaluation measured (a calibration token costs about one
// forward pass: the Hessian pass and the output pass skip the LM head that perplexity runs); then from the
// quantizations timed (slope and intercept once two calibration sizes have been). Stored rows of this adapter
// count as timed.

export type EtaBasis = 'plan' | 'timed';
type Method = PlannedConfig['method'];

/** What the estimate is learnt from, for one model on one adapter. */
export interface ModelTimes {
  /** Seconds per item (perplexity: per window) of each task, as last measured, per method. */
  perItem: Partial<Record<Method, Record<string, number>>>;
  /** The most items (windows) each task was measured on: what an estimate without the model assumes at most. */
  items: Record<string, number>;
  /** Seconds per token of a forward pass, from the perplexity evaluation. */
  tokenSeconds?: number;
  /** The perplexity window, min(context, 2048): what caps the calibration sequences' length. */
  window?: number;
  /** GPTQ quantizations timed: calibration tokens passed through the model (0 where shared Hessians were reused) and seconds. */
  gptq: { tokens: number; seconds: number }[];
  /** RTN quantizations timed (seconds). */
  rtn: number[];
}
export type SweepTimes = Record<string, ModelTimes>;

const emptyTimes = (): ModelTimes => ({ perItem: {}, items: {}, gptq: [], rtn: [] });
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Adds an evaluation's rows to a model's times. */
function timeRows(t: ModelTimes, rows: ResultRow[]): void {
  for (const r of rows) {
    if (!(r.items > 0)) continue;
    (t.perItem[r.method] ??= {})[r.task] = r.eval_seconds / r.items;
    t.items[r.task] = Math.max(t.items[r.task] ?? 0, r.items);
    const S = Number(/@(\d+)$/.exec(r.metric)?.[1]);
    if (!(r.perplexity !== null && S > 0)) continue;
    t.window = S;
    // the float model's forward speed prices calibration (a quantized model's where no float one was timed)
    if (r.method === 'fp' || t.tokenSeconds === undefined) t.tokenSeconds = r.eval_seconds / (r.items * S);
  }
}

/** Stored rows measured on this adapter, as times: a resumed sweep, or the Sweep tab before a run, estimates from them. */
export function timesFromRows(rows: ResultRow[], adapter: string): SweepTimes {
  const out: SweepTimes = {};
  const configs = new Map<string, ResultRow[]>();
  for (const r of [...rows].sort((a, b) => a.created.localeCompare(b.created))) {
    if (r.adapter !== adapter) continue;
    const id = configId(r);
    (configs.get(id) ?? configs.set(id, []).get(id)!).push(r);
  }
  for (const rs of configs.values()) {
    const r = rs[0];
    const t = (out[r.model] ??= emptyTimes());
    timeRows(t, rs);
    // shared Hessians are computed outside the timed quantization: only sequential rows time the calibration passes
    if (r.method === 'gptq' && r.mode === 'sequential' && r.calib_tokens) t.gptq.push({ tokens: r.calib_tokens, seconds: r.quant_seconds });
    if (r.method === 'rtn') t.rtn.push(r.quant_seconds);
  }
  return out;
}

/** Seconds to quantize with `tokens` calibration tokens through the model, and whether any quantization was timed. */
function gptqSeconds(t: ModelTimes, tokens: number): { seconds: number; basis: EtaBasis } | undefined {
  const xs = t.gptq;
  if (!xs.length) return t.tokenSeconds === undefined ? undefined : { seconds: t.tokenSeconds * tokens, basis: 'plan' };
  const m = mean(xs.map((x) => x.seconds));
  let a: number, b: number;
  if (new Set(xs.map((x) => x.tokens)).size >= 2) {
    // least squares seconds = a tokens + b, neither negative
    const mx = mean(xs.map((x) => x.tokens));
    const sxx = xs.reduce((s, x) => s + (x.tokens - mx) ** 2, 0), sxy = xs.reduce((s, x) => s + (x.tokens - mx) * (x.seconds - m), 0);
    a = sxy / sxx;
    b = m - a * mx;
    if (a < 0) (a = 0), (b = m);
    if (b < 0) (b = 0), (a = xs.reduce((s, x) => s + x.tokens * x.seconds, 0) / xs.reduce((s, x) => s + x.tokens ** 2, 0));
  } else {
    // one calibration size timed: the forward speed prices the calibration, the rest is the solve
    const T = xs[0].tokens;
    a = t.tokenSeconds ?? (T ? m / T : 0);
    b = m - a * T;
    if (b < 0) (a = T ? m / T : 0), (b = 0);
  }
  return { seconds: a * tokens + b, basis: 'timed' };
}

/** The calibration tokens each configuration passes through its model (0: none, or shared Hessians reused). */
function calibTokensOf(plan: PlannedConfig[], opts: Pick<SweepOptions, 'mode' | 'seqLen'>, windowOf: (model: string) => number | undefined): (number | undefined)[] {
  let last: { model: SweepModel; calib: number } | null = null;
  return plan.map((c) => {
    if (c.method !== 'gptq') return 0;
    const window = windowOf(c.model.id);
    const reused = sweepSettings(opts).mode === 'shared' && last?.model === c.model && last.calib === c.point!.calib;
    last = { model: c.model, calib: c.point!.calib };
    if (reused) return 0;
    return window === undefined ? undefined : c.point!.calib * Math.min(sweepSettings(opts).seqLen, window);
  });
}

/**
 * Seconds the configurations of `plan` will take, learnt from `times`; undefined while some cannot be estimated
 * (nothing of their model, nor of any model, measured yet). A model not measured yet is taken to be as fast as
 * the last one that was. `planned`: the items per task a model's evaluation scores (plannedItems), where known;
 * otherwise the tasks its times hold, with `limit` and the perplexity windows applied. basis 'plan': some part
 * is still predicted rather than timed (see above).
 */
export function estimateSweep(
  plan: PlannedConfig[],
  times: SweepTimes,
  opts: Pick<SweepOptions, 'mode' | 'seqLen' | 'limit' | 'pplWindows'>,
  planned: (model: string) => Map<string, number> | undefined = () => undefined,
): { seconds: number; basis: EtaBasis } | undefined {
  const measured = (m: string) => !!times[m] && Object.keys(times[m].perItem).length > 0;
  const known = Object.keys(times).filter(measured);
  const timesOf = (m: string) => (measured(m) ? times[m] : known.length ? times[known[known.length - 1]] : undefined);
  const tokens = calibTokensOf(plan, opts, (m) => timesOf(m)?.window);
  let seconds = 0, basis: EtaBasis = 'timed';
  for (const [i, c] of plan.entries()) {
    const t = timesOf(c.model.id);
    if (!t) return undefined;
    // the method's own evaluation speed, else another quantized method's, else the float model's
    const order: Method[] = c.method === 'fp' ? ['fp', 'gptq', 'rtn'] : c.method === 'gptq' ? ['gptq', 'rtn', 'fp'] : ['rtn', 'gptq', 'fp'];
    const from = order.find((m) => t.perItem[m]);
    if (!from) return undefined;
    if (from !== c.method) basis = 'plan';
    const perItem = t.perItem[from]!;
    const items = planned(c.model.id)
      ?? new Map(Object.keys(perItem).map((task) => [task, task.startsWith('ppl_') ? (opts.pplWindows ?? PPL_WINDOWS) : Math.min(opts.limit ?? Infinity, t.items[task])]));
    for (const [task, n] of items) {
      if (perItem[task] === undefined) return undefined;
      seconds += perItem[task] * n;
    }
    if (c.method === 'gptq') {
      const q = tokens[i] === undefined ? undefined : gptqSeconds(t, tokens[i]!);
      if (!q) return undefined;
      seconds += q.seconds;
      if (q.basis === 'plan') basis = 'plan';
    } else if (c.method === 'rtn' && t.rtn.length) seconds += mean(t.rtn);
  }
  return { seconds, basis };
}

export function planSweep(opts: SweepOptions): PlannedConfig[] {
  const out: PlannedConfig[] = [];
  for (const model of opts.models) {
    if (opts.baseline !== false) out.push({ model, method: 'fp', point: null });
    for (const method of opts.methods ?? SWEEP_DEFAULTS.methods) {
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
  return Math.min(sweepSettings(opts).seqLen, maxPosition);
}

/** A quantization's settings as a row key records them (C_b and seqlen as run). */
type KeyedSettings = Pick<QuantizeSettings, 'method' | 'bits' | 'groupSize' | 'calib' | 'seqLen' | 'sym' | 'actOrder' | 'mode' | 'seed' | 'percdamp' | 'staticGroups' | 'calibText'> & { lmHead?: HeadSettings };

/**
 * The row key of a model quantized with `q`, or of the float model (null). What a method does not use is left at
 * one value, so that it does not tell configurations apart: RTN takes no calibration, Hessian or dampening; the
 * float baseline is not quantized.
 */
function rowKey(model: string, ckpt: Pick<Checkpoint, 'nonEmbeddingParams' | 'config'>, q: KeyedSettings | null): ConfigKey {
  const g = q?.method === 'gptq' ? q : null; // what only GPTQ uses
  return {
    model, family: ckpt.config.arch, n_params: ckpt.nonEmbeddingParams, method: q?.method ?? 'fp',
    bits: q?.bits ?? 16,
    group_size: q?.groupSize ?? 0,
    calib_size: g?.calib ?? 0,
    seqlen: g?.seqLen ?? 0,
    sym: q?.sym ?? true,
    act_order: g?.actOrder ?? false,
    mode: g?.mode ?? '',
    seed: g?.seed ?? 0,
    damp: g?.percdamp ?? null,
    static_groups: g?.staticGroups ?? false,
    calib_text: g?.calibText ?? '',
    ...headColumns(q?.lmHead),
  };
}

/** The row key of a planned configuration on its opened checkpoint: what its result rows carry (configId is its identity). */
export function configKey(opts: SweepOptions, c: PlannedConfig, ckpt: Pick<Checkpoint, 'nonEmbeddingParams' | 'config'>): ConfigKey {
  const s = sweepSettings(opts);
  return rowKey(c.model.id, ckpt, c.method === 'fp' ? null : {
    ...s, method: c.method, bits: c.point!.bits, groupSize: c.point!.groupSize, calib: c.point!.calib, seqLen: calibSeqLen(opts, ckpt.config.maxPosition), lmHead: opts.lmHead,
  });
}

/**
 * The row key of a model evaluated in the lab (the Evaluate tab): the float model's, or that of a quantization done
 * here (the Quantize tab's options, its calibration drawn from the bundled text); null for a checkpoint quantized
 * elsewhere (a GPTQ checkpoint loaded as such), which is no float baseline and whose calibration the lab does not
 * know. The same configuration run by a sweep has the same identity (tests/sweep/identity.test.ts).
 */
export function labConfigKey(
  model: { name: string; ckpt: Pick<Checkpoint, 'nonEmbeddingParams' | 'config'> },
  quantized?: Pick<QuantizeResult, 'options' | 'calibration'>,
): ConfigKey | null {
  if (!quantized) return model.ckpt.config.gptq ? null : rowKey(model.name, model.ckpt, null);
  const o = quantized.options, cal = quantized.calibration;
  return rowKey(model.name, model.ckpt, {
    method: o.method, bits: o.bits, groupSize: o.groupSize, calib: cal?.count ?? 0, seqLen: cal?.seqLen ?? 0, sym: o.sym, actOrder: o.actOrder,
    mode: o.mode ?? SWEEP_DEFAULTS.mode, seed: cal?.seed ?? 0, percdamp: o.percdamp ?? SWEEP_DEFAULTS.percdamp, staticGroups: Boolean(o.staticGroups),
    calibText: SWEEP_DEFAULTS.calibText, lmHead: o.lmHead,
  });
}

/** What every configuration of a sweep is evaluated with. */
export function evalOptions(opts: SweepOptions, suite: Suite): EvalOptions {
  return { tasks: opts.tasks, suite, limit: opts.limit, seed: EVAL_SEED, pplWindows: opts.pplWindows };
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
    const total = plan.length;
    // learnt from this adapter's stored rows, then from every configuration this run times
    const times = timesFromRows(await this.store.all(), this.gpu.adapterName);
    const plannedOf = new Map<string, Map<string, number>>();
    const willSkip = new Set<PlannedConfig>();
    let configStart = performance.now();
    // the GPTQ configuration being quantized: a first one's time, extrapolated from its linears done so far
    // (once a whole decoder layer is: each layer's first linears wait for its calibration pass), stands in for a
    // timed one
    let quantizing: { model: string; tokens: number; start: number; layers: number } | null = null;
    const status = (label: string, phase: Progress) => {
      let t = times;
      if (quantizing && !times[quantizing.model]?.gptq.length && phase.unit === 'linears' && phase.done * quantizing.layers >= phase.total) {
        const seconds = ((performance.now() - quantizing.start) / 1000) * (phase.total / phase.done);
        const m = times[quantizing.model] ?? emptyTimes();
        t = { ...times, [quantizing.model]: { ...m, gptq: [{ tokens: quantizing.tokens, seconds }] } };
      }
      const left = plan.slice(index).filter((c) => !willSkip.has(c));
      const rest = estimateSweep(left, t, opts, (m) => plannedOf.get(m));
      const current = index > 0 ? estimateSweep([plan[index - 1]], t, opts, (m) => plannedOf.get(m)) : undefined;
      const now = current && rest ? Math.max(0, current.seconds - (performance.now() - configStart) / 1000) : undefined;
      hooks.onStatus?.({
        config: index, total, label, phase, skipped, times,
        ...(now !== undefined && rest ? { eta: now + rest.seconds, etaBasis: current!.basis === 'plan' || rest.basis === 'plan' ? 'plan' : 'timed' } : {}),
      });
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
          configStart = performance.now();
          const label = describeConfig(c, opts);
          status(label, { what: 'loading model', done: 0, total: 1 });
          if (!loaded) {
            const { ckpt, tokenizer } = await open(model);
            const fp = (await loadModel(this.gpu, ckpt, { signal: hooks.signal, onProgress: (p) => status(label, p) })).model;
            loaded = { ckpt, tokenizer, fp };
          }
          const { ckpt, tokenizer, fp } = loaded;
          const suite = opts.suite ?? suiteForModel(ckpt.rawConfig).suite;
          const seqLen = calibSeqLen(opts, fp.config.maxPosition);
          const settings = sweepSettings(opts);
          const key = configKey(opts, c, ckpt);
          // done: every task stored, measured on at least the items this run would score (asked for more
          // items than a quick run had, it runs the configuration again and its rows replace the old)
          const isDone = (k: ConfigKey) => {
            const have = done.get(configId(k));
            return !!have && !unfinishedTasks(planned!, have).length;
          };
          if (!planned) {
            planned = await plannedItems(tokenizer, this.data, evalOptions(opts, suite), fp.config.maxPosition);
            plannedOf.set(model.id, planned);
            // the model's configurations already stored are left out of the estimate
            for (const other of configs) if (isDone(configKey(opts, other, ckpt))) willSkip.add(other);
          }
          if (isDone(key)) {
            skipped++;
            continue;
          }
          const t1 = performance.now();
          const drawsCalibration = c.method === 'gptq' && calib?.count !== c.point!.calib;
          const calibTokens = c.method === 'gptq' && (drawsCalibration || settings.mode === 'sequential') ? c.point!.calib * seqLen : 0;
          if (c.method === 'gptq') quantizing = { model: model.id, tokens: calibTokens, start: t1, layers: fp.config.layers };
          let qmodel: Transformer = fp;
          let quantSeconds = 0;
          let how = NOT_QUANTIZED;
          if (c.method !== 'fp') {
            const p = c.point!;
            if (c.method === 'gptq' && calib?.count !== p.calib) {
              if (hessians) destroyHessians(hessians), (hessians = null);
              corpus ??= corpusTokens(tokenizer, await this.data.read(settings.calibText));
              calib = drawCalibration(corpus, p.calib, seqLen, settings.seed, tokenizer.prefix);
              if (settings.mode === 'shared') {
                hessians = await computeSharedHessians(fp, calib, { signal: hooks.signal, onProgress: (x) => status(label, x) }, undefined, Boolean(opts.lmHead));
              }
            }
            const res = await quantizeModel(
              fp,
              c.method === 'gptq' ? calib : null,
              {
                method: c.method, bits: p.bits, groupSize: p.groupSize, sym: settings.sym, actOrder: c.method === 'gptq' && settings.actOrder,
                staticGroups: settings.staticGroups, mode: settings.mode, percdamp: settings.percdamp, reconError: false, lmHead: opts.lmHead,
              },
              { signal: hooks.signal, onProgress: (x) => status(label, x), hessians: hessians ?? undefined },
            );
            qmodel = res.model;
            quantSeconds = res.seconds;
            how = howQuantized(res);
            // timed whole (shared Hessians included), with the calibration tokens it passed through the model
            const t = (times[model.id] ??= emptyTimes());
            const wall = (performance.now() - t1) / 1000;
            if (c.method === 'gptq') t.gptq.push({ tokens: calibTokens, seconds: wall });
            else t.rtn.push(wall);
            quantizing = null;
          }
          let report: EvalReport;
          try {
            report = await evaluate(qmodel, tokenizer, this.data, { ...evalOptions(opts, suite), signal: hooks.signal, onProgress: (x) => status(label, x) });
          } finally {
            if (qmodel !== fp) qmodel.destroy();
          }
          const rows = reportRows(key, report, quantSeconds, this.gpu.adapterName, how);
          await this.store.append(rows);
          timeRows((times[model.id] ??= emptyTimes()), rows);
          hooks.onRows?.(rows);
          ran++;
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
