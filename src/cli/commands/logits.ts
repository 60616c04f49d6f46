import { UsageError } from '../args';
import type { Command } from '../command';
import { printJson } from '../command';
import { cliGpu } from '../gpu-node';
import { loadForCli } from '../load';

export const logitsCommand: Command = {
  name: 'logits',
  summary: 'print the logits of every position for token ids (or a text) as JSON {"logits": [[...]]}',
  usage: 'quantlab logits --model PATH|ID (a GPTQ checkpoint runs packed) (--tokens 1,2,3 | --text "...")',
  async run(args) {
    const gpu = await cliGpu(args);
    const { model, tokenizer } = await loadForCli(gpu, args);
    let ids: number[];
    if (args.has('tokens')) ids = args.nums('tokens');
    else if (args.has('text')) ids = [...tokenizer.prefix, ...tokenizer.encode(args.str('text'))];
    else throw new UsageError('give --tokens or --text');
    const V = model.config.vocab;
    if (ids.some((t) => !Number.isInteger(t) || t < 0 || t >= V)) throw new UsageError(`token ids must be integers in [0, ${V})`);
    const [flat] = await model.logits([ids]);
    const logits: number[][] = [];
    for (let t = 0; t < ids.length; t++) logits.push(Array.from(flat.subarray(t * V, (t + 1) * V)));
    printJson({ tokens: ids, logits });
    gpu.destroy();
  },
};
