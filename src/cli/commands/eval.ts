import { evaluate } from '../../eval/run';
import type { Suite } from '../../eval/tasks';
import { formatProgress } from '../../progress';
import type { Command } from '../command';
import { log, printJson } from '../command';
import { nodeDataReader } from '../data';
import { cliGpu } from '../gpu-node';
import { loadForCli } from '../load';
import { writeFileSync } from 'node:fs';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'run the mini benchmarks (perplexity, KM/KA/KR tasks) on a model, float or quantized',
  usage: 'quantlab eval --model PATH [--tasks ppl,km,ka,kr|NAMES] [--suite dict|real] [--limit N|all] [--fewshot K] [--seed S] [--data DIR (default public/data)] [--out results.json]',
  async run(args) {
    const gpu = await cliGpu(args);
    const { ckpt, tokenizer, model } = await loadForCli(gpu, args);
    const suite = (args.optStr('suite') ?? (/-dict-/.test(ckpt.id) ? 'dict' : 'real')) as Suite;
    const limitArg = args.optStr('limit');
    const report = await evaluate(model, tokenizer, nodeDataReader(args.str('data', 'public/data')), {
      tasks: args.list('tasks', ['ppl', 'km', 'ka', 'kr']),
      suite,
      limit: limitArg === 'all' ? null : limitArg !== undefined ? Number(limitArg) : undefined,
      fewshot: args.has('fewshot') ? args.num('fewshot') : undefined,
      seed: args.num('seed', 1234),
      onProgress: (p) => log(formatProgress(p)),
    });
    const out = { model: ckpt.id, adapter: gpu.adapterName, ...report };
    const path = args.optStr('out');
    if (path) writeFileSync(path, JSON.stringify(out, null, 1));
    printJson(out);
    gpu.destroy();
  },
};
