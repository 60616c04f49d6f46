// Export to the GPTQModel format and load it back: the re-imported model computes the same logits as the
// quantized model in memory, for symmetric v1 zeros with act-order and for asymmetric v2 zeros; a model stored
// with fused tensors (Phi-3) is written fused again, under the names of the Hub's checkpoints, and GPTQModel's
// per-module settings (`dynamic`) reach a fused module's parts by the fused name.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dirFiles } from '../../src/cli/files';
import { Checkpoint } from '../../src/model/checkpoint';
import { SafetensorsFile } from '../../src/model/safetensors';
import type { Transformer } from '../../src/model/transformer';
import { blobFiles, bytesSource } from '../../src/model/source';
import { TextTokenizer } from '../../src/model/tokenizer';
import { corpusTokens, drawCalibration } from '../../src/quant/calibration';
import { exportQuantized } from '../../src/quant/export';
import { loadModel } from '../../src/quant/load';
import { PackedLinear } from '../../src/quant/packed';
import { quantizeModel } from '../../src/quant/quantize-model';
import { testGpu } from '../helpers/gpu';
import { memFiles, splicedExport } from '../helpers/exported';

/** The model quantized in memory and the one loaded back from its export give the same logits (1e-4 absolute). */
async function expectSameLogits(inMemory: Transformer, loaded: Transformer, ids: number[]) {
  const [a] = await inMemory.logits([ids]);
  const [b] = await loaded.logits([ids]);
  let err = 0;
  for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i] - b[i]));
  expect(err).toBeLessThan(1e-4);
}

describe('export and import in the GPTQModel format', () => {
  for (const s of [{ sym: true, actOrder: true, bits: 4, groupSize: 32 }, { sym: false, actOrder: true, bits: 3, groupSize: 64 }, { sym: true, actOrder: false, bits: 8, groupSize: -1 }]) {
    it(`${s.bits}-bit G=${s.groupSize} ${s.sym ? 'sym' : 'asym'}${s.actOrder ? ' act-order' : ''}`, async () => {
      const gpu = await testGpu();
      const ckpt = await Checkpoint.open(dirFiles('public/models/llama-dict-74k'));
      const tok = await TextTokenizer.load(ckpt.files, ckpt.config);
      const fp = (await loadModel(gpu, ckpt)).model;
      const calib = drawCalibration(corpusTokens(tok, readFileSync('public/data/calib_dict.txt', 'utf8').slice(0, 50_000)), 4, 64, 3, tok.prefix);
      const opts = { method: 'gptq' as const, ...s, mode: 'shared' as const, reconError: false };
      const q = await quantizeModel(fp, calib, opts);
      const files = await exportQuantized(gpu, ckpt, q.model, opts);
      const map = new Map(files.map((f) => [f.name, new Blob([f.data as Uint8Array<ArrayBuffer>])]));
      const back = await Checkpoint.open(blobFiles('exported', map));
      const cfg = back.config.gptq!;
      expect(cfg).toMatchObject({ bits: s.bits, groupSize: s.groupSize, sym: s.sym, descAct: s.actOrder, checkpointFormat: s.sym ? 'gptq' : 'gptq_v2' });
      // the checkpoint layout GPTQModel expects
      const st = await SafetensorsFile.open(bytesSource('m', files.find((f) => f.name === 'model.safetensors')!.data));
      const base = 'model.layers.1.mlp.down_proj';
      expect(st.info(`${base}.qweight`)).toMatchObject({ dtype: 'I32', shape: [(128 * s.bits) / 32, 64] });
      expect(st.info(`${base}.scales`).dtype).toBe('F16');
      expect(st.info(`${base}.g_idx`).shape).toEqual([128]);
      expect(back.has(`${base}.weight`)).toBe(false);
      const loaded = await loadModel(gpu, back);
      const ids = [0, ...tok.encode('A poodle is a kind of dog.')];
      await expectSameLogits(q.model, loaded.model, ids);
      for (const m of [q.model, loaded.model, fp]) m.destroy();
    });
  }
});

describe('export and import of a model with fused tensors (Phi-3)', () => {
  for (const s of [{ sym: true, actOrder: true, bits: 4, groupSize: 32 }, { sym: false, actOrder: false, bits: 3, groupSize: 32 }]) {
    it(`${s.bits}-bit G=${s.groupSize} ${s.sym ? 'sym' : 'asym'}${s.actOrder ? ' act-order' : ''}: qkv_proj and gate_up_proj re-fused, the same logits back`, async () => {
      const gpu = await testGpu();
      const ckpt = await Checkpoint.open(dirFiles('tests/fixtures/tiny/phi3'));
      const c = ckpt.config, qd = c.heads * c.headDim, kvd = c.kvHeads * c.headDim;
      const fp = (await loadModel(gpu, ckpt)).model;
      const tokens = Int32Array.from({ length: 4 * 32 }, (_, i) => (i * 73 + 11) % c.vocab);
      const opts = { method: 'gptq' as const, ...s, mode: 'shared' as const, reconError: false };
      const q = await quantizeModel(fp, { tokens, count: 4, seqLen: 32, seed: 0 }, opts);
      const files = await exportQuantized(gpu, ckpt, q.model, opts);
      const st = await SafetensorsFile.open(bytesSource('m', files.find((f) => f.name === 'model.safetensors')!.data));
      const p = 'model.layers.1.';
      expect(st.info(`${p}self_attn.qkv_proj.qweight`)).toMatchObject({ dtype: 'I32', shape: [(c.hidden * s.bits) / 32, qd + 2 * kvd] });
      expect(st.info(`${p}self_attn.qkv_proj.scales`)).toMatchObject({ dtype: 'F16', shape: [c.hidden / 32, qd + 2 * kvd] });
      expect(st.info(`${p}self_attn.qkv_proj.qzeros`).shape).toEqual([c.hidden / 32, Math.ceil(((qd + 2 * kvd) * s.bits) / 32)]);
      expect(st.info(`${p}mlp.gate_up_proj.qweight`).shape).toEqual([(c.hidden * s.bits) / 32, 2 * c.intermediate]);
      expect(st.names.filter((n) => /\.(q|k|v|gate|up)_proj\./.test(n))).toEqual([]);
      expect(st.names.some((n) => n.endsWith('qkv_proj.weight') || n.endsWith('gate_up_proj.weight'))).toBe(false);
      // the fused tensors' parts are the parts' own packed tensors: k's columns of qweight are k's qweight
      const back = await Checkpoint.open(blobFiles('exported', new Map(files.map((f) => [f.name, new Blob([f.data as Uint8Array<ArrayBuffer>])]))));
      const k = q.model.layers[1].linears.k as PackedLinear;
      const kWords = await gpu.readU32(k.packed.qweight, ((c.hidden * s.bits) / 32) * kvd);
      const kBack = new Uint32Array((await back.bytes(`${p}self_attn.k_proj.qweight`)).slice().buffer);
      if (!k.packed.order) expect(Array.from(kBack)).toEqual(Array.from(kWords));
      const loaded = await loadModel(gpu, back);
      const ids = Array.from({ length: 24 }, (_, i) => (i * 29 + 3) % c.vocab);
      await expectSameLogits(q.model, loaded.model, ids);
      for (const m of [q.model, loaded.model, fp]) m.destroy();
    });
  }
});

describe('GPTQModel dynamic on a fused module (Phi-3)', () => {
  it('a rule naming layer 1\'s gate_up_proj gives both its parts those settings: 8-bit gate and up beside 4-bit layers, the logits of that model in memory', async () => {
    const gpu = await testGpu();
    const ckpt = await Checkpoint.open(dirFiles('tests/fixtures/tiny/phi3'));
    const fp = (await loadModel(gpu, ckpt)).model;
    const rtn = (bits: number) => ({ method: 'rtn' as const, bits, groupSize: 32, sym: true, actOrder: false, reconError: false });
    const [q4, q8] = [await quantizeModel(fp, null, rtn(4)), await quantizeModel(fp, null, rtn(8))];
    const [four, eight] = [await exportQuantized(gpu, ckpt, q4.model, rtn(4)), await exportQuantized(gpu, ckpt, q8.model, rtn(8))];
    // as GPTQModel writes it: the fused module stored at its own bits, named in `dynamic` by its stored name
    const files = await splicedExport(four, eight, (t) => t.startsWith('model.layers.1.mlp.gate_up_proj.'), { '+:.*\\.1\\.mlp\\.gate_up_proj': { bits: 8 } });
    const mixed = await Checkpoint.open(memFiles('mixed', files));
    expect(mixed.storedModule('model.layers.1.mlp.up_proj')).toBe('model.layers.1.mlp.gate_up_proj');
    expect(mixed.storedModule('model.layers.1.mlp.down_proj')).toBe('model.layers.1.mlp.down_proj');
    const loaded = (await loadModel(gpu, mixed)).model;
    const bits = (m: Transformer, l: number, n: 'gate' | 'up' | 'down' | 'q') => (m.layers[l].linears[n] as PackedLinear).packed.bits;
    expect([bits(loaded, 1, 'gate'), bits(loaded, 1, 'up'), bits(loaded, 1, 'down'), bits(loaded, 0, 'up'), bits(loaded, 1, 'q')]).toEqual([8, 8, 4, 4, 4]);
    // the same model in memory: the 4-bit one with layer 1's gate and up from the 8-bit one
    const expected = q4.model.derive(q4.model.layers.map((l, i) => (i === 1 ? { ...l.linears, gate: q8.model.layers[1].linears.gate, up: q8.model.layers[1].linears.up } : l.linears)));
    await expectSameLogits(expected, loaded, Array.from({ length: 24 }, (_, i) => (i * 29 + 3) % ckpt.config.vocab));
    for (const m of [loaded, q4.model, q8.model, fp]) m.destroy();
  });
});
