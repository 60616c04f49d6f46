import { evaluate } from '../../eval/run';
import { DEFAULT_TASKS, EVAL_SEED, PPL_WINDOWS } from '../../eval/settings';
import { SUITES, suiteForModel } from '../../eval/tasks';
import { formatProgress } from '../../progress';
import type { Command } from '../command';
import { log, memoryReport, printJson, taskList } from '../command';
import { DATA_DIR, nodeDataReader } from '../data';
import { cliGpu } from '../gpu-node';
import { loadForCli, WEIGHTS_USAGE } from '../load';
import { writeFileSync } from 'node:fs';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'run the mini benchmarks (perplexity, KM/KA/KR tasks) on a model, float or quantized',
  usage: `quantlab eval --model PATH [--tasks ${DEFAULT_TASKS}|NAMES] [--suite dict|real] [--limit N|all] [--ppl-windows N|all (default ${PPL_WINDOWS})] [--fewshot K] [--seed S (default ${EVAL_SEED})] [--data DIR (default public/data)] [--out results.json] ${WEIGHTS_USAGE}`,
  flags: ['f16'],
  async run(args) {
    // everything the user typed is checked before the model loads
    const tasks = taskList(args);
    const suiteArg = args.has('suite') ? args.choice('suite', SUITES) : undefined;
    const limit = args.limit();
    const pplWindows = args.limit('ppl-windows');
    const fewshot = args.has('fewshot') ? args.int('fewshot') : undefined;
    const seed = args.int('seed', EVAL_SEED);
    const data = nodeDataReader(args.str('data', DATA_DIR));
    const gpu = await cliGpu(args);
    const { ckpt, tokenizer, model } = await loadForCli(gpu, args);
    const suite = suiteArg ?? suiteForModel(ckpt.rawConfig).suite;
    log(`task suite: ${suite} (${suiteArg ? 'from --suite' : suiteForModel(ckpt.rawConfig).because}; --suite dict|real overrides)`);
    const report = await evaluate(model, tokenizer, data, {
      tasks,
      suite,
      limit,
      pplWindows,
      fewshot,
      seed,
      onProgress: (p) => log(formatProgress(p)),
    });
    for (const p of report.perplexity) log(`perplexity ${p.ppl.toFixed(2)} on ${p.windows} window${p.windows === 1 ? '' : 's'} of ${p.seqLen} tokens of ${p.text}${pplWindows === undefined ? ` (--ppl-windows: default ${PPL_WINDOWS})` : ''}`);
    const out = { model: ckpt.id, adapter: gpu.adapterName, suite, ...report, memory: memoryReport(gpu) };
    const path = args.optStr('out');
    if (path) writeFileSync(path, JSON.stringify(out, null, 1));
    printJson(out);
    gpu.destroy();
  },
};
