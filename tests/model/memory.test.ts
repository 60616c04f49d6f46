// The memory plan: its weight bytes equal what the checkpoint holds and what loading allocates on the GPU, and a
// model over the adapter's per-buffer limit is refused before anything is allocated, naming a setting that fits.
import { describe, expect, it } from 'vitest';
import { Checkpoint } from '../../src/model/checkpoint';
import { parseConfig } from '../../src/model/config';
import { checkPlan, lessMemory, ModelTooLargeError, planMemory } from '../../src/model/memory';
import { PUBLISHED_SHAPES } from '../../src/model/shapes';
import { syntheticFiles } from '../../src/model/synthetic';
import { loadModel, modelMemory } from '../../src/quant/load';
import { testGpu } from '../helpers/gpu';

const qwen = parseConfig(PUBLISHED_SHAPES['qwen3-0.6b'].config);

describe('memory plan', () => {
  it('Qwen3-0.6B in f16: the weights are its 596M parameters at 2 bytes (the checkpoint is bf16: the same bytes)', () => {
    const plan = planMemory(qwen, { weights: 'f16', context: 0, passRows: 1 });
    const weights = plan.items.filter((i) => /embedding|layers/.test(i.what)).reduce((a, i) => a + i.bytes, 0);
    const linears = 2048 * 1024 + 2 * 1024 * 1024 + 1024 * 2048 + 3 * 3072 * 1024, norms = 2 * 1024 + 2 * 128; // a layer's
    expect(28 * (linears + norms) + 1024).toBe(440_467_456); // N (docs/study.md, The factors): the count is right
    expect(weights).toBe(2 * (151936 * 1024 + 28 * linears) + 4 * 28 * norms); // linears in f16, norms in f32
    expect(plan.largest.what).toMatch(/embedding/);
    expect(planMemory(qwen, { weights: 'f32', context: 0, passRows: 1 }).items[0].bytes).toBe(151936 * 1024 * 4);
  });

  it('4-bit packed layers hold a quarter of f16 plus scales and zeros', () => {
    const f16 = planMemory(qwen, { weights: 'f16', context: 0, passRows: 1 }).items[1].bytes;
    const q4 = planMemory(qwen, { weights: 'f16', packed: { bits: 4, groupSize: 128, actOrder: false }, context: 0, passRows: 1 }).items[1].bytes;
    expect(q4 / f16).toBeGreaterThan(0.255);
    expect(q4 / f16).toBeLessThan(0.3);
  });

  it('refuses a buffer over the limit, naming what fits: f16 weights for an f32 embedding, RTN where only GPTQ is over', () => {
    const f32 = planMemory(qwen, { weights: 'f32', context: 0, passRows: 1 });
    expect(() => checkPlan(qwen, { weights: 'f32', context: 0, passRows: 1 }, { maxBuffer: f32.largest.bytes - 1 }, 'Qwen3-0.6B'))
      .toThrow(/Qwen3-0.6B needs 594 MiB in one buffer for its embedding .* What would fit: f16 weights/);
    const gptq = { weights: 'f16' as const, context: 4096, passRows: 4096, quantize: { bits: 4, groupSize: 128, calibTokens: 128 * 2048, maxRows: 4096, mode: 'sequential' as const, keepStages: true } };
    const total = planMemory(qwen, gptq).total, rtn = planMemory(qwen, { ...gptq, quantize: { ...gptq.quantize, mode: 'rtn' } }).total;
    expect(() => checkPlan(qwen, gptq, { maxBuffer: 2 ** 31, budget: rtn + 1 })).toThrow(/What would fit: .*RTN instead of GPTQ/);
    expect(() => checkPlan(qwen, gptq, { maxBuffer: 2 ** 31, budget: total })).not.toThrow();
    expect(lessMemory(qwen, gptq).some((l) => /not keeping the calibration stages/.test(l))).toBe(true);
  });
});

describe('loading against the plan', () => {
  it('a 1-layer slice allocates what the plan says for its weights', async () => {
    const gpu = await testGpu();
    const ckpt = await Checkpoint.open(syntheticFiles({ shape: 'smollm2-135m', layers: 1 }));
    const before = gpu.memory.live;
    const { model } = await loadModel(gpu, ckpt);
    const allocated = gpu.memory.live - before;
    const plan = planMemory(ckpt.config, { ...modelMemory(ckpt, 'auto'), context: 0 });
    const weights = plan.items.filter((i) => /embedding|layers/.test(i.what)).reduce((a, i) => a + i.bytes, 0);
    // the rope table and 16-byte rounding of each buffer come on top
    expect(allocated).toBeGreaterThanOrEqual(weights);
    expect(allocated - weights).toBeLessThan(1 << 20);
    model.destroy();
  });

  it('a model over the per-buffer limit is refused before any allocation', async () => {
    const gpu = await testGpu();
    const ckpt = await Checkpoint.open(syntheticFiles({ shape: 'smollm2-135m', layers: 1 }));
    const limits = gpu.adapter.limits, saved = limits.maxStorageBufferBindingSize;
    limits.maxStorageBufferBindingSize = 40 << 20; // the f16 embedding is 54 MiB
    const before = gpu.memory.live;
    try {
      await expect(loadModel(gpu, ckpt)).rejects.toThrow(ModelTooLargeError);
      await expect(loadModel(gpu, ckpt)).rejects.toThrow(/needs 54 MiB in one buffer for its embedding/);
      expect(gpu.memory.live).toBe(before);
    } finally {
      limits.maxStorageBufferBindingSize = saved;
    }
  });
});
