// Loads --model (and, later, --quantized) for commands that run the model.
import type { Gpu } from '../gpu/gpu';
import { TextTokenizer } from '../model/tokenizer';
import { Transformer } from '../model/transformer';
import type { Args } from './args';
import { openCheckpoint } from './model';

export async function loadForCli(gpu: Gpu, args: Args) {
  const ckpt = await openCheckpoint(args.str('model'));
  const tokenizer = await TextTokenizer.load(ckpt.files, ckpt.config);
  const model = await Transformer.load(gpu, ckpt);
  return { ckpt, tokenizer, model };
}
