import { SHAPE_NAMES } from '../../model/shapes';
import { syntheticCheckpoint, syntheticSummary } from '../../model/synthetic';
import type { Command } from '../command';
import { log } from '../command';
import { checkReplaceable, writeFolder } from '../files';

export const synthCommand: Command = {
  name: 'synth',
  summary: 'write a checkpoint of a published shape (Qwen3-0.6B, Llama-3.2-1B, ...) with random weights, for tests and timings',
  usage: `quantlab synth --shape ${SHAPE_NAMES.join('|')} [--layers N (a slice: the first N layers; default all)] [--shards K (default 1)] [--untied] [--dtype bf16|f16|f32 (default bf16)] [--seed S] --out DIR`,
  flags: ['untied'],
  async run(args) {
    const opts = {
      shape: args.choice('shape', SHAPE_NAMES),
      layers: args.has('layers') ? args.int('layers', undefined, 1) : undefined,
      shards: args.int('shards', 1, 1),
      untied: args.flag('untied'),
      dtype: args.choice('dtype', ['bf16', 'f16', 'f32'] as const, 'bf16').toUpperCase() as 'BF16' | 'F16' | 'F32',
      seed: args.int('seed', 0),
    };
    const out = args.str('out');
    // --out is replaced whole: only an earlier synthetic checkpoint (or an empty folder) may be there
    checkReplaceable(out, 'config.json', 'a checkpoint');
    const { nonEmbeddingParams, bytes } = syntheticSummary(opts);
    log(`writing ${opts.shape}${opts.layers ? ` (${opts.layers} layers)` : ''}: N = ${nonEmbeddingParams.toLocaleString('en-US')}, ${(bytes / 2 ** 20).toFixed(0)} MiB to ${out}`);
    const t0 = performance.now();
    writeFolder(out, syntheticCheckpoint(opts));
    log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  },
};
