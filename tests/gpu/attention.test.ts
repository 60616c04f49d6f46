// Every attention kernel (shaders/attention.wgsl) against the float64 reference on odd shapes. SwiftShader's
// production path runs the serial kernels (Gpu.serialKernels); the GPU kernels (flash, decode +
// decode_combine, main) run here by forcing the 'workgroup' variant. Each case checks which kernels ran, so
// that it tests the kernel it names.
import { describe, expect, it, vi } from 'vitest';
import { attention, attentionRopeDecode, decodeSplits } from '../../src/model/ops';
import { attentionRef, rmsnormRef, ropeRef } from '../../src/model/reference';
import { ropeTables } from '../../src/model/rope';
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
  // a quad takes keys j and j + 32 per trip (64 keys a trip): a second key past the end, one whole trip, a trip and one key
  decode('33 keys, GQA 2, hd 128', 33, { batch: 1, kvLen: 40, heads: 4, kvHeads: 2, headDim: 128 }),
  decode('64 keys, hd 64, batch 2', 64, { batch: 2, kvLen: 64, heads: 2, kvHeads: 1, headDim: 64 }),
  decode('65 keys, GQA 2, hd 128', 65, { batch: 1, kvLen: 70, heads: 4, kvHeads: 2, headDim: 128 }),
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

  // decode_rope: q and this step's k normed (Qwen3) and rotated, k and v written into the cache at the step's
  // position, then attention over the cache, in one dispatch (+ decode_combine past one split): against the
  // float64 norm, rope and attention references, and the cache row by row
  const ropeDecodes = [
    { name: 'Qwen3-like: q/k norms, GQA 2, hd 128, 9 keys of a 16-position cache', s: { batch: 1, past: 8, kvLen: 16, heads: 4, kvHeads: 2, headDim: 128 }, norm: true },
    { name: 'Llama-like: GQA 4, hd 64, batch 2, the first position', s: { batch: 2, past: 0, kvLen: 5, heads: 8, kvHeads: 2, headDim: 64 }, norm: false },
    { name: 'hd 32, MHA, 300 keys (split: the new key in the last split)', s: { batch: 1, past: 299, kvLen: 300, heads: 3, kvHeads: 3, headDim: 32 }, norm: true },
    { name: 'Qwen3-like: hd 128, GQA 2, 65 keys (a whole trip of 64 cached keys, then the new key)', s: { batch: 1, past: 64, kvLen: 80, heads: 4, kvHeads: 2, headDim: 128 }, norm: true },
    { name: 'hd 64, 257 keys of a 300-position cache (the last split holds only the new key)', s: { batch: 1, past: 256, kvLen: 300, heads: 2, kvHeads: 1, headDim: 64 }, norm: false },
    { name: '10 keys of a 5000-position cache (empty splits), GQA 7, hd 64', s: { batch: 1, past: 9, kvLen: 5000, heads: 14, kvHeads: 2, headDim: 64 }, norm: true },
  ];
  for (const { name, s, norm } of ropeDecodes) {
    it(`decode_rope: ${name}`, async (ctx) => {
      const gpu = await testGpu();
      if (!gpu.subgroupReduce) ctx.skip('the adapter has no subgroups laid out as aligned runs (decode needs them)');
      const { batch, past, kvLen, heads, kvHeads, headDim: hd } = s, kvd = kvHeads * hd, eps = 1e-6;
      const { cos, sin, table } = ropeTables({ theta: 10000, type: 'default', factor: 1, lowFreqFactor: 1, highFreqFactor: 1, originalMaxPosition: 64 }, hd, kvLen);
      const q = randomF32(batch * heads * hd, 50, 2), k = randomF32(batch * kvd, 51, 2), v = randomF32(batch * kvd, 52);
      const qw = randomF32(hd, 53), kw = randomF32(hd, 54);
      const kc0 = randomF32(batch * kvLen * kvd, 55, 2), vc0 = randomF32(batch * kvLen * kvd, 56);
      const kCache = gpu.upload(kc0, 'kc'), vCache = gpu.upload(vc0, 'vc'), out = gpu.upload(new Float32Array(q.length).fill(NaN), 'o');
      const b = gpu.batch();
      const dispatch = vi.spyOn(b, 'dispatch');
      const ran = attentionRopeDecode(
        b,
        { q: gpu.upload(q, 'q'), k: gpu.upload(k, 'k'), v: gpu.upload(v, 'v'), table: { buffer: gpu.upload(table, 'rope'), positions: kvLen }, kCache, vCache, out },
        { ...s, seq: 1 },
        norm ? { qk: gpu.upload(Float32Array.from([...qw, ...kw]), 'qk'), eps } : undefined,
        'workgroup',
      );
      expect(ran).toBe(true);
      expect(dispatch.mock.calls.map(([spec]) => spec.entry)).toEqual(decodeSplits(kvLen, heads * batch).splits > 1 ? ['decode_rope', 'decode_combine'] : ['decode_rope']);
      await b.submit();
      const normed = (x: Float32Array, w: Float32Array, n: number) => (norm ? rmsnormRef(x, w, n, hd, eps) : x);
      const qRot = ropeRef(normed(q, qw, batch * heads), batch, heads, hd, 1, past, cos, sin);
      const kRot = ropeRef(normed(k, kw, batch * kvHeads), batch, kvHeads, hd, 1, past, cos, sin);
      const kWant = Float64Array.from(kc0), vWant = Float64Array.from(vc0);
      for (let i = 0; i < batch; i++) {
        kWant.set(kRot.subarray(i * kvd, (i + 1) * kvd), (i * kvLen + past) * kvd);
        vWant.set(v.subarray(i * kvd, (i + 1) * kvd), (i * kvLen + past) * kvd);
      }
      expect(maxRelErr(await gpu.readF32(kCache, kc0.length), kWant)).toBeLessThan(1e-5);
      expect(maxRelErr(await gpu.readF32(vCache, vc0.length), vWant)).toBe(0);
      const want = attentionRef(Float32Array.from(qRot), Float32Array.from(kWant), Float32Array.from(vWant), { ...s, seq: 1 });
      expect(maxRelErr(await gpu.readF32(out, q.length), want)).toBeLessThan(1e-5);
    });
  }

  it('decode_rope is declined (nothing recorded) where it cannot run: head_dim not a multiple of 32, several rows, CPU kernels', async () => {
    const gpu = await testGpu();
    const e = gpu.empty, t = { q: e, k: e, v: e, table: { buffer: e, positions: 8 }, kCache: e, vCache: e, out: e };
    const shape = { batch: 1, seq: 1, past: 3, kvLen: 8, heads: 2, kvHeads: 1, headDim: 48 };
    const b = gpu.batch();
    expect(attentionRopeDecode(b, t, shape, undefined, 'workgroup')).toBe(false);
    expect(attentionRopeDecode(b, t, { ...shape, headDim: 64, seq: 2 }, undefined, 'workgroup')).toBe(false);
    expect(attentionRopeDecode(b, t, { ...shape, headDim: 64 }, undefined, 'serial')).toBe(false);
    expect(b.size).toBe(0);
  });

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
