import { PPL_WINDOWS } from '../../eval/run';
import { formatProgress, formatSeconds } from '../../progress';
import { describeConfig, planSweep, SweepRunner } from '../../sweep/engine';
import { findPreset, gridPoints, type GridSpec } from '../../sweep/grid';
import { sweepProblem } from '../../sweep/checks';
import { TextTokenizer } from '../../model/tokenizer';
import { Checkpoint } from '../../model/checkpoint';
import { asUsage, UsageError } from '../args';
import { METHODS, MODES } from '../../quant/quantize-model';
import type { Command } from '../command';
import { log, printJson, taskList } from '../command';
import { nodeDataReader } from '../data';
import { cliGpu } from '../gpu-node';
import { jsonlStore } from '../jsonl-store';
import { checkModelSpec, resolveModelFiles } from '../model';

export const sweepCommand: Command = {
  name: 'sweep',
  summary: 'quantize and evaluate every configuration of a grid; resumes from --out',
  usage: `quantlab sweep --model PATH[,PATH...] [--preset quick|study|study2|llama3|family] [--bits 3,4 --group 32,128 --calib 8,32,128] [--methods gptq,rtn] [--tasks ppl,km,ka,kr] [--limit N] [--mode sequential|shared] [--asym] [--no-act-order] [--damp 0.05] [--seqlen L] [--ppl-windows N (default ${PPL_WINDOWS})] [--seed S] [--data DIR (default public/data)] [--dry-run] [--f16 (NVIDIA through Dawn: expose shader-f16)] --out results.jsonl`,
  flags: ['asym', 'no-act-order', 'dry-run', 'f16'],
  async run(args) {
    const models = args.list('model').map((spec) => {
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
      : { bits: args.nums('bits', [3, 4]), groups: args.nums('group', [32, 128]), calib: args.nums('calib', [8, 32]) };
    const points = asUsage(() => gridPoints(grid), '--bits / --group / --calib');
    const methods = args.choices('methods', METHODS, ['gptq']);
    const limit = args.has('limit') ? args.limit() : chosenPreset?.limit;
    // the checks the Sweep tab runs too (src/sweep/checks.ts)
    const problem = sweepProblem({ models: models.length, grid, methods, limit });
    if (problem) throw new UsageError(`--calib / --methods / --limit: ${problem}`);
    const tasks = taskList(args);
    const opts = {
      models,
      points,
      methods,
      sym: !args.flag('asym'),
      actOrder: !args.flag('no-act-order'),
      mode: args.choice('mode', MODES, 'sequential'),
      percdamp: args.fraction('damp', 0.05),
      seed: args.int('seed', 0),
      tasks,
      limit,
      pplWindows: args.has('ppl-windows') ? args.int('ppl-windows', undefined, 1) : undefined,
      seqLen: args.has('seqlen') ? args.int('seqlen', undefined, 1) : chosenPreset?.seqLen,
    };
    const out = args.str('out');
    const plan = planSweep(opts);
    log(`sweep: ${plan.length} configurations (${models.length} model(s) x ${opts.points.length} points + baselines) -> ${out}`);
    if (args.flag('dry-run')) {
      printJson(plan.map(describeConfig));
      return;
    }
    const data = nodeDataReader(args.str('data', 'public/data'));
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
