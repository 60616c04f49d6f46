// Whole-model quantization on the bundled default model: the packed forward pass equals a float forward with
// the dequantized weights, and GPTQ beats round-to-nearest in perplexity at 3 and 4 bits.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { dirFiles } from '../../src/cli/files';
import { tokenPerplexity } from '../../src/eval/perplexity';
import type { Gpu } from '../../src/gpu/gpu';
import { Checkpoint } from '../../src/model/checkpoint';
import { DenseLinear } from '../../src/model/linear';
import { TextTokenizer } from '../../src/model/tokenizer';
import { LINEAR_NAMES, type Transformer } from '../../src/model/transformer';
import { corpusTokens, drawCalibration } from '../../src/quant/calibration';
import { loadModel } from '../../src/quant/load';
import { PackedLinear, readDequantized } from '../../src/quant/packed';
import { quantizeModel } from '../../src/quant/quantize-model';
import { testGpu, withF16 } from '../helpers/gpu';

let gpu: Gpu, fp: Transformer, tok: TextTokenizer, heldout: Int32Array, calibCorpus: Int32Array;

beforeAll(async () => {
  gpu = await testGpu();
  const ckpt = await Checkpoint.open(dirFiles('public/models/qwen3-dict-74k'));
  tok = await TextTokenizer.load(ckpt.files, ckpt.config);
  fp = (await loadModel(gpu, ckpt)).model;
  heldout = corpusTokens(tok, readFileSync('public/data/heldout_dict.txt', 'utf8').slice(0, 60_000));
  calibCorpus = corpusTokens(tok, readFileSync('public/data/calib_dict.txt', 'utf8').slice(0, 200_000));
});

async function ppl(m: Transformer) {
  return (await tokenPerplexity(m, heldout, 256, { maxWindows: 6 })).ppl;
}

describe('quantizing qwen3-dict-74k', () => {
  it('the packed forward pass equals a float forward with the dequantized weights', async () => {
    const calib = drawCalibration(calibCorpus, 8, 128, 1, tok.prefix);
    const res = await quantizeModel(fp, calib, { method: 'gptq', bits: 3, groupSize: 32, sym: false, actOrder: true, percdamp: 0.01 });
    expect(res.layers.length).toBe(fp.config.layers * 7);
    expect(res.layers.every((r) => r.method === 'gptq' && r.reconError > 0 && r.reconError < 1)).toBe(true);
    const dense = fp.derive(await Promise.all(res.model.layers.map(async (l) => {
      const out = {} as Record<(typeof LINEAR_NAMES)[number], DenseLinear>;
      for (const n of LINEAR_NAMES) {
        const p = l.linears[n] as PackedLinear;
        out[n] = new DenseLinear(gpu, gpu.upload(await readDequantized(gpu, p.packed), 'deq'), p.outFeatures, p.inFeatures);
      }
      return out;
    })));
    const ids = [0, ...tok.encode('A poodle is a kind of dog. dog (noun): a member of the genus Canis')];
    const [a] = await res.model.logits([ids]);
    const [b] = await dense.logits([ids]);
    let err = 0, mag = 0;
    for (let i = 0; i < a.length; i++) (err = Math.max(err, Math.abs(a[i] - b[i]))), (mag = Math.max(mag, Math.abs(b[i])));
    expect(err / mag).toBeLessThan(1e-4);
    // decode steps as on a GPU (not SwiftShader's one-invocation kernels): GEMVs, and each MLP's gate, up and
    // SwiGLU in one dispatch (act-order: gate and up share their permutation), give the dense model's tokens;
    // the decode step is recorded once (then replayed): one fused dispatch per layer
    const serial = gpu.serialKernels;
    const fused = vi.spyOn(PackedLinear.prototype, 'encodeGateUp'), qkv = vi.spyOn(PackedLinear.prototype, 'encodeQkv');
    gpu.serialKernels = false;
    try {
      const prompt = ids.slice(0, 6);
      expect(await res.model.generate(prompt, 10)).toEqual(await dense.generate(prompt, 10));
      expect(fused.mock.results.filter((r) => r.value === true).length).toBe(fp.config.layers);
      // q, k and v in one GEMV reading the act-order input through the order they share, norming it on the way
      expect(qkv.mock.results.filter((r) => r.value === true).length).toBe(fp.config.layers);
    } finally {
      gpu.serialKernels = serial;
      fused.mockRestore();
      qkv.mockRestore();
    }
    res.model.destroy();
    dense.destroy();
  });

  it('decode steps with the f16 GEMVs (emulated in f32 without shader-f16) give the f32 GEMVs\' tokens', async () => {
    const res = await quantizeModel(fp, null, { method: 'rtn', bits: 4, groupSize: 32, sym: false, actOrder: false, percdamp: 0.01, reconError: false });
    const serial = gpu.serialKernels;
    gpu.serialKernels = false;
    try {
      const prompt = [0, ...tok.encode('dog (noun):')];
      const f32 = await res.model.generate(prompt, 10);
      const before = new Set(gpu.pipelines.keys());
      const f16 = await withF16(gpu, () => res.model.generate(prompt, 10));
      expect(f16).toEqual(f32);
      // the f16 variants of the single-matrix GEMV (o, down), of the fused q/k/v and of the fused gate+up+SwiGLU ran
      const made = [...gpu.pipelines.keys()].filter((k) => !before.has(k) && k.includes('|f16'));
      expect(made.some((k) => k.startsWith('qgemv|gemv4|'))).toBe(true);
      expect(made.some((k) => k.startsWith('qgemv|gemv4_qkv|'))).toBe(true);
      expect(made.some((k) => k.startsWith('qgemv|gemv4_swiglu|'))).toBe(true);
    } finally {
      gpu.serialKernels = serial;
      res.model.destroy();
    }
  });

  it('true-sequential GPTQ keeping each layer\'s stages (every part run once) packs exactly what rerunning each group\'s pass packs', async () => {
    const calib = drawCalibration(calibCorpus, 3, 96, 5, tok.prefix);
    const opts = { method: 'gptq' as const, bits: 4, groupSize: 32, sym: true, actOrder: true, percdamp: 0.01, reconError: false, maxRows: 192 };
    const layer = vi.spyOn(Object.getPrototypeOf(fp), 'layer');
    const kept = await quantizeModel(fp, calib, { ...opts, keepStages: true });
    const started = () => layer.mock.calls.filter((c) => c[7] !== undefined).length; // passes that start mid-layer
    expect(started()).toBe(3 * 2 * fp.config.layers); // gate/up, down and the output pass, 2 micro-batches each
    // the phases add up: the solves are the linear layers' own times, the passes the rest
    expect(kept.phases.solve).toBeCloseTo(kept.layers.reduce((a, r) => a + r.seconds, 0), 9);
    expect(kept.phases.calibration + kept.phases.solve).toBeCloseTo(kept.seconds, 9);
    expect(kept.phases.calibration).toBeGreaterThan(0);
    layer.mockClear();
    const rerun = await quantizeModel(fp, calib, { ...opts, keepStages: false });
    expect(started()).toBe(0);
    layer.mockRestore();
    const words = async (m: Transformer) => {
      const out: number[] = [];
      for (const l of m.layers) for (const n of LINEAR_NAMES) out.push(...(await readDequantized(gpu, (l.linears[n] as PackedLinear).packed)));
      return Float32Array.from(out);
    };
    const [a, b] = [await words(kept.model), await words(rerun.model)];
    expect(a.length).toBeGreaterThan(0);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    kept.model.destroy();
    rerun.model.destroy();
  });

  it('GPTQ (sequential) beats RTN in perplexity at 3 and 4 bits', async () => {
    const fpPpl = await ppl(fp);
    const calib = drawCalibration(calibCorpus, 16, 256, 7, tok.prefix);
    const row: Record<string, number> = { fp: fpPpl };
    for (const bits of [3, 4]) {
      for (const method of ['rtn', 'gptq'] as const) {
        const r = await quantizeModel(fp, method === 'gptq' ? calib : null, { method, bits, groupSize: 32, sym: true, actOrder: true, percdamp: 0.01, reconError: false });
        row[`${method}${bits}`] = await ppl(r.model);
        r.model.destroy();
      }
    }
    console.log('held-out token PPL @ 256:', JSON.stringify(row));
    expect(row.gptq3).toBeLessThan(row.rtn3);
    expect(row.gptq4).toBeLessThan(row.rtn4);
    expect(row.rtn3).toBeGreaterThan(fpPpl);
  });
});
