// Every attention kernel (shaders/attention.wgsl) against the float64 reference on odd shapes. SwiftShader's
// production path runs the serial kernels (Gpu.serialKernels); the GPU kernels (flash, decode +
// decode_combine, main) run here by forcing the 'workgroup' variant. Each case checks which kernels ran, so
// that it tests the kernel it names.
import { describe, expect, it, vi } from 'vitest';
import { attention, decodeSplits } from '../../src/model/ops';
import { attentionRef } from '../../src/model/reference';
import { maxRelErr, randomF32, testGpu } from '../helpers/gpu';

type Shape = { batch: number; seq: number; past: number; kvLen: number; heads: number; kvHeads: number; headDim: number };

async function run(s: Shape, seed: number, variant: 'workgroup' | 'serial' = 'workgroup'): Promise<{ err: number; kernels: string[] }> {
  const gpu = await testGpu();
  const q = randomF32(s.batch * s.seq * s.heads * s.headDim, seed, 2);
  const k = randomF32(s.batch * s.kvLen * s.kvHeads * s.headDim, seed + 1, 2);
  const v = randomF32(s.batch * s.kvLen * s.kvHeads * s.headDim, seed + 2);
  const out = gpu.upload(new Float32Array(q.length).fill(NaN), 'o');
  const b = gpu.batch();
  const dispatch = vi.spyOn(b, 'dispatch');
  attention(b, gpu.upload(q, 'q'), gpu.upload(k, 'k'), gpu.upload(v, 'v'), out, s, variant);
  const kernels = dispatch.mock.calls.map(([spec]) => spec.entry ?? 'main');
  await b.submit();
  return { err: maxRelErr(await gpu.readF32(out, q.length), attentionRef(q, k, v, s)), kernels };
}

const prefill = (name: string, s: Shape) => ({ name, s });
const prefills = [
  prefill('MHA, hd 64, 70 rows (not a multiple of the block)', { batch: 1, seq: 70, past: 0, kvLen: 70, heads: 3, kvHeads: 3, headDim: 64 }),
  prefill('GQA 2, hd 128, batch 2', { batch: 2, seq: 45, past: 0, kvLen: 45, heads: 4, kvHeads: 2, headDim: 128 }),
  prefill('GQA 7 (14 / 2 heads, Qwen2.5-0.5B), hd 64', { batch: 1, seq: 33, past: 0, kvLen: 33, heads: 14, kvHeads: 2, headDim: 64 }),
  prefill('a prompt continuing a cache (past 50), cache longer than the keys, hd 128', { batch: 2, seq: 40, past: 50, kvLen: 97, heads: 4, kvHeads: 2, headDim: 128 }),
  prefill('past 7, 5 rows, hd 16', { batch: 2, seq: 5, past: 7, kvLen: 12, heads: 2, kvHeads: 1, headDim: 16 }),
  prefill('hd 72 (a partial second chunk), past 300', { batch: 1, seq: 3, past: 300, kvLen: 303, heads: 2, kvHeads: 1, headDim: 72 }),
  prefill('hd 12, GQA 4', { batch: 3, seq: 9, past: 2, kvLen: 11, heads: 4, kvHeads: 1, headDim: 12 }),
  prefill('calibration-like: batch 2 x 160 rows, hd 128', { batch: 2, seq: 160, past: 0, kvLen: 160, heads: 2, kvHeads: 1, headDim: 128 }),
];

// one query row per sequence: keys = past + 1
const decode = (name: string, keys: number, s: Omit<Shape, 'seq' | 'past'>) => ({ name, keys, s: { ...s, seq: 1, past: keys - 1 } });
const decodes = [
  decode('1 key, GQA 7, hd 128', 1, { batch: 1, kvLen: 8, heads: 14, kvHeads: 2, headDim: 128 }),
  decode('37 keys, GQA 2, hd 64, batch 3, cache longer than the keys', 37, { batch: 3, kvLen: 50, heads: 4, kvHeads: 2, headDim: 64 }),
  decode('300 keys (split), MHA, hd 128', 300, { batch: 1, kvLen: 300, heads: 4, kvHeads: 4, headDim: 128 }),
  decode('5000 keys (split), GQA 7, hd 64', 5000, { batch: 1, kvLen: 5001, heads: 14, kvHeads: 2, headDim: 64 }),
  decode('5000 keys (split), GQA 4, hd 128, batch 2', 5000, { batch: 2, kvLen: 5000, heads: 4, kvHeads: 1, headDim: 128 }),
  decode('40 keys, hd 72 (a row not a whole number of quad reads)', 40, { batch: 2, kvLen: 40, heads: 3, kvHeads: 1, headDim: 72 }),
  decode('9 keys, hd 8', 9, { batch: 2, kvLen: 16, heads: 4, kvHeads: 4, headDim: 8 }),
  // every quad busy with head dims < 16: more merge groups than quads
  decode('60 keys, hd 8, GQA 3 (the tiny llama)', 60, { batch: 1, kvLen: 64, heads: 6, kvHeads: 2, headDim: 8 }),
  decode('100 keys, hd 12', 100, { batch: 1, kvLen: 100, heads: 2, kvHeads: 1, headDim: 12 }),
  // splits follow the cache's length (one dispatch shape for a whole generation): most of them hold no key yet
  decode('10 keys of a 5000-position cache (empty splits), GQA 2, hd 128', 10, { batch: 2, kvLen: 5000, heads: 4, kvHeads: 2, headDim: 128 }),
  decode('300 keys of a 3000-position cache, GQA 7, hd 64', 300, { batch: 1, kvLen: 3000, heads: 14, kvHeads: 2, headDim: 64 }),
];

describe('attention kernels (workgroup variant)', () => {
  for (const { name, s } of decodes) {
    it(`decode: ${name}`, async (ctx) => {
      const gpu = await testGpu();
      if (!gpu.subgroupReduce) ctx.skip('the adapter has no subgroups laid out as aligned runs (decode needs them)');
      const { err, kernels } = await run(s, 30);
      expect(kernels).toEqual(decodeSplits(s.kvLen, s.heads * s.batch).splits > 1 ? ['decode', 'decode_combine'] : ['decode']);
      expect(err).toBeLessThan(1e-5);
    });
  }

  it('decode splits: one pass for a few keys, whole splits of at least 128 keys beyond, never an empty split', () => {
    expect(decodeSplits(1, 16)).toEqual({ splits: 1, splitLen: 1 });
    expect(decodeSplits(256, 16)).toEqual({ splits: 1, splitLen: 256 });
    for (const [keys, rows] of [[300, 4], [5000, 14], [5000, 8], [40000, 16], [40000, 1], [100000, 1], [3000, 2048]]) {
      const { splits, splitLen } = decodeSplits(keys, rows);
      expect(splits * splitLen).toBeGreaterThanOrEqual(keys);
      expect((splits - 1) * splitLen).toBeLessThan(keys);
      expect(splits).toBeLessThanOrEqual(128);
      if (splits > 1) expect(splitLen).toBeGreaterThanOrEqual(128);
    }
    expect(decodeSplits(3000, 2048).splits).toBe(1); // enough workgroups already
  });

  it('decode steps run flash (one row of a block) where the adapter has no usable subgroups', async () => {
    const gpu = await testGpu();
    const had = gpu.subgroupReduce;
    gpu.subgroupReduce = false;
    try {
      const { err, kernels } = await run({ batch: 2, seq: 1, past: 299, kvLen: 300, heads: 4, kvHeads: 2, headDim: 64 }, 35);
      expect(kernels).toEqual(['flash']);
      expect(err).toBeLessThan(1e-5);
    } finally {
      gpu.subgroupReduce = had;
    }
  });

  // main: head dims that are not a multiple of 4, or above 128
  const mains = [
    { name: 'prefill, GQA 3, hd 10', s: { batch: 2, seq: 7, past: 0, kvLen: 7, heads: 6, kvHeads: 2, headDim: 10 } },
    { name: 'decode, 300 keys (more than one chunk), hd 10', s: { batch: 1, seq: 1, past: 299, kvLen: 300, heads: 2, kvHeads: 1, headDim: 10 } },
    { name: 'hd 256', s: { batch: 1, seq: 4, past: 0, kvLen: 4, heads: 2, kvHeads: 2, headDim: 256 } },
  ];
  for (const { name, s } of mains) {
    it(`main: ${name}`, async () => {
      const { err, kernels } = await run(s, 40);
      expect(kernels).toEqual(['main']);
      expect(err).toBeLessThan(1e-5);
    });
  }

  it('head_dim above 256 is refused', async () => {
    const gpu = await testGpu();
    const s = { batch: 1, seq: 1, past: 0, kvLen: 1, heads: 1, kvHeads: 1, headDim: 260 };
    expect(() => attention(gpu.batch(), gpu.empty, gpu.empty, gpu.empty, gpu.empty, s)).toThrow(/head_dim 260 > 256/);
  });
});

// serial and serial_vec4 (CPU adapters): one invocation per query row
describe('attention kernels (serial variant)', () => {
  const serials = [
    { name: 'prefill, GQA 3, hd 10', s: { batch: 2, seq: 7, past: 0, kvLen: 7, heads: 6, kvHeads: 2, headDim: 10 } },
    { name: 'decode with a cache longer than the keys seen', s: { batch: 2, seq: 1, past: 9, kvLen: 16, heads: 4, kvHeads: 4, headDim: 8 } },
    { name: 'past 300, hd 72', s: { batch: 1, seq: 3, past: 300, kvLen: 303, heads: 2, kvHeads: 1, headDim: 72 } },
    { name: 'hd 256', s: { batch: 1, seq: 4, past: 0, kvLen: 4, heads: 2, kvHeads: 2, headDim: 256 } },
    { name: 'hd 12, GQA 4', s: { batch: 3, seq: 9, past: 2, kvLen: 11, heads: 4, kvHeads: 1, headDim: 12 } },
  ];
  for (const { name, s } of serials) {
    it(name, async () => {
      const { err, kernels } = await run(s, 50, 'serial');
      expect(kernels).toEqual([s.headDim % 4 === 0 ? 'serial_vec4' : 'serial']);
      expect(err).toBeLessThan(1e-5);
    });
  }

  for (const { name, s } of prefills) {
    it(`flash: ${name}`, async () => {
      const { err, kernels } = await run(s, 20);
      expect(kernels).toEqual(['flash']);
      expect(err).toBeLessThan(1e-5);
    });
  }
});
