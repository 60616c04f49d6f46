// Export to the GPTQModel format and load it back: the re-imported model computes the same logits as the
// quantized model in memory, for symmetric v1 zeros with act-order and for asymmetric v2 zeros.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dirFiles } from '../../src/cli/files';
import { Checkpoint } from '../../src/model/checkpoint';
import { SafetensorsFile } from '../../src/model/safetensors';
import { blobFiles, bytesSource } from '../../src/model/source';
import { TextTokenizer } from '../../src/model/tokenizer';
import { corpusTokens, drawCalibration } from '../../src/quant/calibration';
import { exportQuantized } from '../../src/quant/export';
import { loadModel } from '../../src/quant/load';
import { quantizeModel } from '../../src/quant/quantize-model';
import { testGpu } from '../helpers/gpu';

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
      const [a] = await q.model.logits([ids]);
      const [b] = await loaded.model.logits([ids]);
      let err = 0;
      for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i] - b[i]));
      expect(err).toBeLessThan(1e-4);
      for (const m of [q.model, loaded.model, fp]) m.destroy();
    });
  }
});
