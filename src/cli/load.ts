// Loads --model for commands that run the model: a float checkpoint, or a GPTQ one (packed weights).
import type { Gpu } from '../gpu/gpu';
import { TextTokenizer } from '../model/tokenizer';
import { loadModel } from '../quant/load';
import type { Args } from './args';
import { log } from './command';
import { openCheckpoint } from './model';

export async function loadForCli(gpu: Gpu, args: Args) {
  const ckpt = await openCheckpoint(args.str('model'));
  const tokenizer = await TextTokenizer.load(ckpt.files, ckpt.config);
  const { model, notes } = await loadModel(gpu, ckpt);
  for (const n of notes) log(`note: ${n}`);
  return { ckpt, tokenizer, model };
}
