// Loads --model for commands that run the model: a float checkpoint, or a GPTQ one (packed weights).
import type { Gpu } from '../gpu/gpu';
import type { Checkpoint } from '../model/checkpoint';
import { TextTokenizer } from '../model/tokenizer';
import { WEIGHT_FORMATS } from '../model/weights';
import { loadModel } from '../quant/load';
import type { Args } from './args';
import { log } from './command';
import { openCheckpoint } from './model';

/** The usage text of the options of every command that loads a model on the GPU (--f16 is a flag: list it in `flags`). */
export const WEIGHTS_USAGE = '[--weights auto|f16|f32 (float weights on the GPU; auto: f16 for a bf16/f16 checkpoint, f32 for an f32 one)] [--f16 (through Dawn: expose shader-f16 on NVIDIA, for the f16 4-bit GEMV, and the matrix units where Dawn offers them, for the GEMMs)]';

/** The model of an opened checkpoint on the GPU (no tokenizer: token ids need none). */
export async function loadCheckpointModel(gpu: Gpu, ckpt: Checkpoint, args: Args) {
  const { model, notes } = await loadModel(gpu, ckpt, { weights: args.choice('weights', WEIGHT_FORMATS, 'auto') });
  for (const n of notes) log(`note: ${n}`);
  return model;
}

/** --model with its tokenizer (a folder without tokenizer.json is refused before the GPU work). */
export async function loadForCli(gpu: Gpu, args: Args) {
  const ckpt = await openCheckpoint(args.str('model'));
  const tokenizer = await TextTokenizer.load(ckpt.files, ckpt.config);
  return { ckpt, tokenizer, model: await loadCheckpointModel(gpu, ckpt, args) };
}
