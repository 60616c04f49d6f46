import { TextTokenizer } from '../../model/tokenizer';
import { UsageError } from '../args';
import type { Command } from '../command';
import { memoryReport, printJson } from '../command';
import { encodeSafetensors } from '../../model/safetensors';
import { writeFileSync } from 'node:fs';
import { cliGpu } from '../gpu-node';
import { loadCheckpointModel, WEIGHTS_USAGE } from '../load';
import { openCheckpoint } from '../model';

export const logitsCommand: Command = {
  name: 'logits',
  summary: 'print the logits of every position for token ids (or a text) as JSON {"logits": [[...]]}',
  usage: `quantlab logits --model PATH|ID (a GPTQ checkpoint runs packed) (--tokens 1,2,3 (no tokenizer needed) | --text "...") [--out FILE.safetensors (logits [tokens, vocab] f32 instead of JSON)] ${WEIGHTS_USAGE}`,
  flags: ['f16'],
  async run(args) {
    if (!args.has('tokens') && !args.has('text')) throw new UsageError('give --tokens or --text');
    const ckpt = await openCheckpoint(args.str('model'));
    // token ids need no tokenizer: a folder without tokenizer.json runs (as transformers runs it)
    let ids: number[];
    if (args.has('tokens')) ids = args.nums('tokens');
    else {
      const tokenizer = await TextTokenizer.load(ckpt.files, ckpt.config);
      ids = [...tokenizer.prefix, ...tokenizer.encode(args.str('text'))];
    }
    const V = ckpt.config.vocab;
    if (ids.length === 0) throw new UsageError('--tokens / --text gave no tokens');
    if (ids.some((t) => !Number.isInteger(t) || t < 0 || t >= V)) throw new UsageError(`token ids must be integers in [0, ${V})`);
    const gpu = await cliGpu(args);
    const model = await loadCheckpointModel(gpu, ckpt, args);
    const [flat] = await model.logits([ids]);
    const out = args.optStr('out');
    if (out) {
      // large outputs (512 positions x 152K vocabulary = 311 MB) as safetensors, for numpy / torch
      writeFileSync(out, encodeSafetensors([{ name: 'logits', dtype: 'F32', shape: [ids.length, V], data: flat }, { name: 'tokens', dtype: 'I32', shape: [ids.length], data: Int32Array.from(ids) }]));
      printJson({ tokens: ids.length, vocab: V, out, memory: memoryReport(gpu) });
    } else {
      const logits: number[][] = [];
      for (let t = 0; t < ids.length; t++) logits.push(Array.from(flat.subarray(t * V, (t + 1) * V)));
      printJson({ tokens: ids, logits, memory: memoryReport(gpu) });
    }
    gpu.destroy();
  },
};
