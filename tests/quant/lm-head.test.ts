// The LM head quantized as GPTQModel's lm_head: its Hessian taken from the final-normed calibration states
// (against the float64 forward pass), solved a slice of rows at a time into the very tensors one piece gives,
// run by the packed kernels as the dequantized matrix (whole passes and decode steps), exported as
// lm_head.qweight ... beside a float, untied embedding with GPTQModel's per-module settings, and loaded back
// with the same logits.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dirFiles } from '../../src/cli/files';
import type { Gpu } from '../../src/gpu/gpu';
import { Checkpoint } from '../../src/model/checkpoint';
import { moduleGptq, parseGptqConfig } from '../../src/model/config';
import { DenseLinear } from '../../src/model/linear';
import { checkPlan, headSliceRows, planMemory } from '../../src/model/memory';
import { SafetensorsFile } from '../../src/model/safetensors';
import { blobFiles, bytesSource } from '../../src/model/source';
import { TextTokenizer } from '../../src/model/tokenizer';
import { LINEAR_NAMES, type LinearName, type Transformer } from '../../src/model/transformer';
import { type CalibrationSet, corpusTokens, drawCalibration } from '../../src/quant/calibration';
import { exportQuantized } from '../../src/quant/export';
import { loadModel, modelMemory } from '../../src/quant/load';
import { PackedLinear, type PackedWeights, readDequantized } from '../../src/quant/packed';
import { computeSharedHessians, destroyHessians, quantizeModel, type QuantizeOptions } from '../../src/quant/quantize-model';
import { forwardRef } from '../helpers/forward-ref';
import { testGpu } from '../helpers/gpu';
import { memFiles, rtnExport, splicedExport } from '../helpers/exported';

let gpu: Gpu, ckpt: Checkpoint, fp: Transformer, tok: TextTokenizer, calib: CalibrationSet;
const HEAD = { bits: 8, groupSize: 32, sym: true };

beforeAll(async () => {
  gpu = await testGpu();
  ckpt = await Checkpoint.open(dirFiles('public/models/qwen3-dict-74k'));
  tok = await TextTokenizer.load(ckpt.files, ckpt.config);
  fp = (await loadModel(gpu, ckpt)).model;
  calib = drawCalibration(corpusTokens(tok, readFileSync('public/data/calib_dict.txt', 'utf8').slice(0, 50_000)), 3, 48, 5, tok.prefix);
});
afterAll(() => fp.destroy());

/** The packed tensors' words, as the GPU holds them. */
async function packedWords(gpu: Gpu, p: PackedWeights) {
  return Promise.all([p.qweight, p.qzeros, p.scales].map(async (b) => new Uint32Array(await gpu.read(b, b.size))));
}

/** Max |a - b| / max |b|. */
function relMax(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0, mag = 0;
  for (let i = 0; i < a.length; i++) (err = Math.max(err, Math.abs(a[i] - b[i]))), (mag = Math.max(mag, Math.abs(b[i])));
  return err / mag;
}

describe('the LM head quantized (GPTQModel lm_head)', () => {
  it('its Hessian is 2/n sum x x^T over the final-normed calibration states of the float64 forward pass', async () => {
    const hs = await computeSharedHessians(fp, calib, {}, 4096, true);
    const d = ckpt.config.hidden;
    const got = await gpu.readF32(hs.get('head')!.H, d * d);
    destroyHessians(hs);
    const want = new Float64Array(d * d);
    for (let s = 0; s < calib.count; s++) {
      const seq = Array.from(calib.tokens.subarray(s * calib.seqLen, (s + 1) * calib.seqLen));
      await forwardRef(ckpt.rawConfig, (n) => ckpt.f32(n), seq, seq.map((_, i) => i), (x) => {
        for (let t = 0; t < seq.length; t++) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) want[i * d + j] += (2 / calib.count) * x[t * d + i] * x[t * d + j];
      });
    }
    expect(relMax(got, want)).toBeLessThan(1e-4);
  });

  it('GPTQ in slices of rows packs what one piece packs; the packed head computes what its dequantized matrix does', async () => {
    const opts: QuantizeOptions = { method: 'gptq', bits: 4, groupSize: 32, sym: true, actOrder: true, percdamp: 0.01, lmHead: HEAD };
    const whole = await quantizeModel(fp, calib, opts);
    const sliced = await quantizeModel(fp, calib, { ...opts, headSlice: 96 }); // 2048 rows: 22 slices, the last of 32
    expect(whole.head).toMatchObject({ method: 'gptq', rows: ckpt.config.vocab, cols: ckpt.config.hidden, fallback: null });
    expect(whole.head!.reconError).toBeGreaterThan(0);
    expect(whole.head!.reconError).toBeLessThan(0.01);
    expect(sliced.head!.reconError).toBeCloseTo(whole.head!.reconError, 8);
    const [a, b] = [whole, sliced].map((r) => (r.model.lmHead as PackedLinear).packed);
    expect(a).toMatchObject({ bits: 8, groupSize: 32, sym: true, descAct: false, order: null });
    expect(await packedWords(gpu, b)).toEqual(await packedWords(gpu, a));
    // the float model's head is untouched, and the quantized model's own
    expect(fp.lmHead).toBeInstanceOf(DenseLinear);
    sliced.model.destroy();

    // a float model with every dequantized matrix: the same logits (GEMMs) and the same greedy tokens (GEMVs with the norm inside)
    const deq = async (p: PackedLinear) => new DenseLinear(gpu, gpu.upload(await readDequantized(gpu, p.packed), 'deq'), p.outFeatures, p.inFeatures);
    const layers = await Promise.all(whole.model.layers.map(async (l) => {
      const out = {} as Record<LinearName, DenseLinear>;
      for (const n of LINEAR_NAMES) out[n] = await deq(l.linears[n] as PackedLinear);
      return out;
    }));
    const dense = fp.derive(layers, await deq(whole.model.lmHead as PackedLinear));
    const ids = [0, ...tok.encode('A poodle is a kind of dog. dog (noun): a member of the genus Canis')];
    const [x] = await whole.model.logits([ids]);
    const [y] = await dense.logits([ids]);
    expect(relMax(x, y)).toBeLessThan(1e-4);
    const serial = gpu.serialKernels;
    gpu.serialKernels = false;
    try {
      expect(await whole.model.generate(ids.slice(0, 6), 8)).toEqual(await dense.generate(ids.slice(0, 6), 8));
    } finally {
      gpu.serialKernels = serial;
    }
    dense.destroy();
    whole.model.destroy();
  });

  it('exported as lm_head.qweight ... beside the float embedding, untied, with its settings in `dynamic`; loaded back with the same logits', async () => {
    const opts: QuantizeOptions = { method: 'rtn', bits: 4, groupSize: 32, sym: false, actOrder: false, mode: 'shared', reconError: false, lmHead: { bits: 4, groupSize: 64, sym: true } };
    const q = await quantizeModel(fp, null, opts);
    expect(q.head).toMatchObject({ method: 'rtn' });
    const files = await exportQuantized(gpu, ckpt, q.model, opts);
    const text = (name: string) => JSON.parse(new TextDecoder().decode(files.find((f) => f.name === name)!.data));
    const config = text('config.json');
    expect(config.tie_word_embeddings).toBe(false);
    expect(config.quantization_config).toMatchObject({ bits: 4, group_size: 32, sym: false, lm_head: true, dynamic: { lm_head: { bits: 4, group_size: 64, sym: true, desc_act: false } } });
    expect(text('quantize_config.json').lm_head).toBe(true);
    const st = await SafetensorsFile.open(bytesSource('m', files.find((f) => f.name === 'model.safetensors')!.data));
    const { vocab, hidden } = ckpt.config;
    expect(st.info('lm_head.qweight')).toMatchObject({ dtype: 'I32', shape: [hidden / 8, vocab] });
    expect(st.info('lm_head.scales')).toMatchObject({ dtype: 'F16', shape: [hidden / 64, vocab] });
    expect(st.info('lm_head.qzeros').shape).toEqual([hidden / 64, vocab / 8]);
    expect(st.info('lm_head.g_idx').shape).toEqual([hidden]);
    expect(st.names).not.toContain('lm_head.weight');
    expect(st.info('model.embed_tokens.weight').shape).toEqual([vocab, hidden]);

    const back = await Checkpoint.open(blobFiles('exported', new Map(files.map((f) => [f.name, new Blob([f.data as Uint8Array<ArrayBuffer>])]))));
    expect(back.config.tied).toBe(false);
    expect(moduleGptq(back.config.gptq!, 'lm_head')).toMatchObject({ bits: 4, groupSize: 64, sym: true });
    expect(modelMemory(back, 'auto').packedHead).toEqual({ bits: 4, groupSize: 64 });
    expect(modelMemory(back, 'auto').packed).toEqual({ bits: 4, groupSize: 32, actOrder: false });
    const loaded = (await loadModel(gpu, back)).model;
    expect(loaded.lmHead).toBeInstanceOf(PackedLinear);
    expect((loaded.lmHead as PackedLinear).packed).toMatchObject({ bits: 4, groupSize: 64, rows: vocab, cols: hidden });
    const ids = [0, ...tok.encode('dog (noun): a member of the genus Canis')];
    const [a] = await q.model.logits([ids]);
    const [b] = await loaded.logits([ids]);
    expect(relMax(b, a)).toBeLessThan(1e-5);
    loaded.destroy();
    q.model.destroy();
  });

  it('refuses a head setting the kernels cannot run, and names the head when the plan cannot fit', async () => {
    await expect(quantizeModel(fp, null, { method: 'rtn', bits: 4, groupSize: 32, sym: true, actOrder: false, lmHead: HEAD, headSlice: 48 })).rejects.toThrow(/headSlice 48 is not a positive multiple of 32/);
    const c = ckpt.config;
    const plan = (head?: typeof HEAD) => ({ weights: 'f32' as const, context: 0, passRows: 1, quantize: { bits: 4, groupSize: 32, calibTokens: 0, maxRows: 4096, mode: 'rtn' as const, keepStages: false, head } });
    // a memory budget the float head fits and the quantized one (its packed copy and a slice's solve beside the float model) does not
    const budget = (planMemory(c, plan(HEAD)).total + planMemory(c, plan()).total) / 2;
    // slices of ~128 MiB of f32 in 32s; an odd vocabulary (its f16 scales' runs off whole words) in one piece, as planned
    expect([headSliceRows(151936, 1024), headSliceRows(128256, 2048), headSliceRows(32001, 4096)]).toEqual([32768, 16384, 32001]);
    expect(() => checkPlan(c, plan(HEAD), { maxBuffer: 2 ** 30, budget })).toThrow(/LM head being quantized \(8-bit, 2048 rows at a time\).*What would fit: the LM head left float/s);
  });
});

describe('GPTQModel dynamic (per-module settings)', () => {
  it('a checkpoint whose `dynamic` gives one layer\'s MLP 8 bits beside 4-bit layers loads it so, and the memory plan prices each module at its own settings', async () => {
    // the layers of a 4-bit export, but layer 1's MLP from an 8-bit one, as GPTQModel writes such a checkpoint
    const [four, eight] = [await rtnExport(gpu, fp, ckpt, 4), await rtnExport(gpu, fp, ckpt, 8)];
    const files = await splicedExport(four, eight, (t) => t.startsWith('model.layers.1.mlp.'), { '+:.*\\.1\\.mlp\\..*': { bits: 8 } });
    const mixed = await Checkpoint.open(memFiles('mixed', files));
    const memory = modelMemory(mixed, 'auto');
    const four4 = { bits: 4, groupSize: 32, actOrder: false }, eight8 = { ...four4, bits: 8 };
    expect(memory.packed).toEqual(four4);
    expect(memory.packedLayers![1]).toEqual([four4, four4, four4, four4, eight8, eight8, eight8]);
    expect(memory.packedLayers![0]).toEqual(Array(7).fill(four4));
    const model = (await loadModel(gpu, mixed)).model;
    const packedBits = (l: number, n: LinearName) => (model.layers[l].linears[n] as PackedLinear).packed.bits;
    expect([packedBits(1, 'gate'), packedBits(1, 'down'), packedBits(1, 'q'), packedBits(0, 'up')]).toEqual([8, 8, 4, 4]);
    const taken = model.layers.reduce((a, l) => a + LINEAR_NAMES.reduce((b, n) => b + (l.linears[n] as PackedLinear).weightBytes, 0), 0);
    const layersItem = (o: typeof memory) => planMemory(mixed.config, { ...o, context: 0 }).items.find((i) => /layers/.test(i.what))!;
    // the plan's layers: the packed linears as allocated, plus the norms (4 bytes a value)
    const c = mixed.config, norms = c.layers * (2 * c.hidden + 2 * c.headDim) * 4;
    expect(layersItem(memory)).toMatchObject({ bytes: taken + norms, what: `${c.layers} layers (4/8-bit packed)` });
    // the base settings alone, as the plan priced it before: short of what the layers take
    expect(layersItem({ ...memory, packedLayers: undefined }).bytes).toBeLessThan(taken + norms);
    model.destroy();
  });
  it('the first matching pattern applies: "-:" leaves a module float, "+:" and bare keys override its settings', () => {
    const cfg = parseGptqConfig({
      bits: 4, group_size: 128, lm_head: true,
      dynamic: { '-:.*\\.0\\.mlp\\.down_proj': {}, '+:.*\\.mlp\\..*': { bits: 8 }, lm_head: { bits: 8, group_size: 32, desc_act: false } },
    });
    expect(cfg.lmHead).toBe(true);
    expect(moduleGptq(cfg, 'model.layers.0.mlp.down_proj')).toBeNull();
    expect(moduleGptq(cfg, 'model.layers.1.mlp.down_proj')).toMatchObject({ bits: 8, groupSize: 128 });
    expect(moduleGptq(cfg, 'model.layers.0.self_attn.q_proj')).toMatchObject({ bits: 4, groupSize: 128 });
    expect(moduleGptq(cfg, 'lm_head')).toMatchObject({ bits: 8, groupSize: 32 });
    // anchored at the start, as Python's re.match: a bare "mlp" names no module
    expect(moduleGptq(parseGptqConfig({ bits: 4, dynamic: { mlp: { bits: 8 } } }), 'model.layers.0.mlp.up_proj')).toMatchObject({ bits: 4 });
    expect(() => parseGptqConfig({ bits: 4, dynamic: { lm_head: { bits: 5 } } })).toThrow(/GPTQ bits 5 not supported/);
    expect(() => parseGptqConfig({ bits: 4, dynamic: { '+:(': {} } })).toThrow(/"dynamic" key "\+:\(" is not a regular expression/);
  });
});
