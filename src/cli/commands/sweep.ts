import { formatProgress, formatSeconds } from '../../progress';
import { headProblem, sweepProblem, withName } from '../../sweep/checks';
import { describeConfig, planShard, SweepRunner, type SweepModel, type SweepOptions } from '../../sweep/engine';
import { findPreset, gridPoints, type GridSpec, PRESETS } from '../../sweep/grid';
import { SWEEP_DEFAULTS as D } from '../../sweep/run-config';
import { parseShard } from '../../sweep/shard';
import { TextTokenizer } from '../../model/tokenizer';
import { Checkpoint } from '../../model/checkpoint';
import { type Args, asUsage, UsageError } from '../args';
import { METHODS, MODES } from '../../quant/settings';
import type { Command } from '../command';
import { log, printJson, taskList } from '../command';
import { DATA_DIR, nodeDataReader } from '../data';
import { cliGpu } from '../gpu-node';
import { ADAPTER_INDEX_USAGE, useAdapterIndex } from '../adapter-index';
import { jsonlStore } from '../jsonl-store';
import { modelHead } from '../plan';
import { checkModelSpec, resolveModelFiles } from '../model';
import { HEAD_OPTIONS, HEAD_USAGE, headOptions } from './quantize';

/** The options that define a sweep's grid: `quantlab sweep` runs them, `quantlab merge` checks results against them. */
const DEFAULT_GRID = PRESETS[0].grid;
export const GRID_USAGE = `--model PATH[,PATH...] [--preset ${PRESETS.map((p) => p.id).join('|')}] [--bits ${DEFAULT_GRID.bits} --group ${DEFAULT_GRID.groups} --calib ${DEFAULT_GRID.calib} (default: the ${PRESETS[0].id} preset's)] [--methods ${METHODS.join(',')} (default ${D.methods})] [--tasks ${D.tasks}] [--limit N] [--mode ${MODES.join('|')}] [--asym] [--no-act-order] [--static-groups] [--damp ${D.percdamp}] [--seqlen L (default ${D.seqLen}, capped at the model's context)] [--ppl-windows N (default ${D.pplWindows})] [--seed S (default ${D.seed})] ${HEAD_USAGE} [--data DIR (default public/data)]`;
export const GRID_FLAGS = ['asym', 'no-act-order', 'static-groups', 'lm-head'];

/** A sweep's options from the command line (every value checked before anything runs); `modelSpecs`: --model's. */
export function sweepOptions(args: Args, modelSpecs = args.list('model')): SweepOptions & { models: SweepModel[] } {
  const models = modelSpecs.map((spec) => {
    checkModelSpec(spec);
    return {
      id: spec,
      open: async () => {
        const ckpt = await Checkpoint.open(await resolveModelFiles(spec));
        return { ckpt, tokenizer: await TextTokenizer.load(ckpt.files, ckpt.config) };
      },
    };
  });
  const preset = args.optStr('preset');
  const chosenPreset = preset ? asUsage(() => findPreset(preset), '--preset') : undefined;
  const grid: GridSpec = chosenPreset
    ? chosenPreset.grid
    : { bits: args.nums('bits', DEFAULT_GRID.bits), groups: args.nums('group', DEFAULT_GRID.groups), calib: args.nums('calib', DEFAULT_GRID.calib) };
  const points = asUsage(() => gridPoints(grid), '--bits / --group / --calib');
  const methods = args.choices('methods', METHODS, [...D.methods]);
  const limit = args.has('limit') ? args.limit() : chosenPreset?.limit;
  // the checks the Sweep tab runs too (src/sweep/checks.ts)
  const problem = sweepProblem({ models: models.length, grid, methods, limit });
  if (problem) throw new UsageError(`--calib / --methods / --limit: ${problem}`);
  const lmHead = headOptions(args);
  const head = headProblem(lmHead);
  if (head) throw new UsageError(withName(HEAD_OPTIONS, head));
  return {
    models,
    points,
    methods,
    // every setting that changes a result is an identity column of the rows (run-config.ts SWEEP_OPTIONS)
    sym: args.flag('asym') ? false : D.sym,
    actOrder: args.flag('no-act-order') ? false : D.actOrder,
    staticGroups: args.flag('static-groups') || D.staticGroups,
    mode: args.choice('mode', MODES, D.mode),
    percdamp: args.fraction('damp', D.percdamp),
    seed: args.int('seed', D.seed),
    tasks: taskList(args),
    limit,
    pplWindows: args.has('ppl-windows') ? args.int('ppl-windows', undefined, 1) : undefined,
    seqLen: args.has('seqlen') ? args.int('seqlen', undefined, 1) : chosenPreset?.seqLen,
    lmHead,
  };
}

export const sweepCommand: Command = {
  name: 'sweep',
  summary: 'quantize and evaluate every configuration of a grid; resumes from --out',
  usage: `quantlab sweep ${GRID_USAGE} [--shard I/N (run only shard I of N, 0 <= I < N: the configurations whose identity hashes to I; each shard its own --out, then quantlab merge)] ${ADAPTER_INDEX_USAGE} [--dry-run] [--f16 (NVIDIA through Dawn: expose shader-f16)] --out results.jsonl`,
  flags: [...GRID_FLAGS, 'dry-run', 'f16'],
  async run(args) {
    const shardText = args.optStr('shard');
    const opts: SweepOptions = { ...sweepOptions(args), shard: shardText === undefined ? undefined : asUsage(() => parseShard(shardText), '--shard') };
    if (args.has('shard') && shardText === undefined) throw new UsageError('--shard needs a value: I/N, e.g. 0/4');
    const adapterIndex = args.has('adapter-index') ? args.int('adapter-index') : undefined;
    const out = args.str('out');
    const data = nodeDataReader(args.str('data', DATA_DIR));
    // a shard's configurations need their keys: each model's config is read (no GPU, no weights) to plan them
    const plan = await planShard(opts, async (m) => ({ ckpt: await modelHead(m.id) }));
    const grid = `${opts.models.length} model(s) x ${opts.points.length} points + baselines`;
    log(opts.shard
      ? `sweep: shard ${opts.shard.index}/${opts.shard.count}: ${plan.length} of the grid's configurations (${grid}) -> ${out}`
      : `sweep: ${plan.length} configurations (${grid}) -> ${out}`);
    if (args.flag('dry-run')) {
      printJson(plan.map((c) => describeConfig(c, opts)));
      return;
    }
    if (adapterIndex !== undefined) await useAdapterIndex(adapterIndex);
    const gpu = await cliGpu(args);
    const runner = new SweepRunner(gpu, jsonlStore(out), data);
    let last = 0;
    const ac = new AbortController();
    process.once('SIGINT', () => {
      log('interrupted: stopping after saving what is finished (run the same command to resume)');
      ac.abort();
    });
    const res = await runner.run(opts, {
      signal: ac.signal,
      onStatus: (s) => {
        if (Date.now() - last < 500) return;
        last = Date.now();
        log(`[${s.config}/${s.total}] ${s.label} | ${formatProgress(s.phase)}${s.eta !== undefined ? ` | sweep ~${formatSeconds(s.eta)} left${s.etaBasis === 'plan' ? ' (a first estimate, partly from the plan)' : ''}` : ''}`);
      },
      onRows: (rows) => log(`  saved ${rows.length} rows: ${rows.map((r) => r.perplexity !== null ? `${r.task}=${r.perplexity.toFixed(3)} (${r.items} windows)` : `${r.task}=${(r.acc ?? NaN).toFixed(3)}`).join(' ')}`),
    });
    log(`sweep: ${res.ran} configuration(s) run, ${res.skipped} already done, ${res.seconds.toFixed(1)} s`);
    gpu.destroy();
  },
};
