// Quantizing a real-shape slice: SmolLM2-135M (width 576, 9 heads, 49K vocabulary; 1 layer). K = 576 is not a
// multiple of G = 128, so the last group of q/k/v/gate/up holds 64 columns, as GPTQModel makes it (groups of G
// in the solve's order, the last one shorter). Each result is exported in the GPTQModel format and read back
// independently (tests/helpers/gptq-unpack.ts): RTN at every bit width and G in {32, 128, per channel} gives
// the float64 reference's codes, and the packed forward pass equals a float64 forward pass with the weights
// dequantized from the export; GPTQ (4-bit, G = 128, act-order) gives the float64 reference's codes on q_proj
// (its Hessian computed in float64 from the calibration inputs), and its export, written to a folder and
// loaded again, computes the quantized model's logits.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dirFiles, writeFolder } from '../../src/cli/files';
import type { Gpu } from '../../src/gpu/gpu';
import { Checkpoint } from '../../src/model/checkpoint';
import { BIT_WIDTHS } from '../../src/model/config';
import { f32ToF16, SafetensorsFile } from '../../src/model/safetensors';
import { bytesSource } from '../../src/model/source';
import { syntheticCheckpoint } from '../../src/model/synthetic';
import { TextTokenizer } from '../../src/model/tokenizer';
import { HF_LINEAR, LINEAR_NAMES, type Transformer } from '../../src/model/transformer';
import { corpusTokens, drawCalibration } from '../../src/quant/calibration';
import { exportFormat, exportQuantized } from '../../src/quant/export';
import { loadModel } from '../../src/quant/load';
import { quantizeModel, type QuantizeOptions } from '../../src/quant/quantize-model';
import { gptqRef, HessianRef, rtnRef } from '../../src/quant/reference';
import { rmsnormRef } from '../../src/model/reference';
import { argmax, decodeFloats, forwardRef, relToRange } from '../helpers/forward-ref';
import { agreement, maxRel } from '../helpers/gptq';
import { groupCounts, unpackLinear, type UnpackedLinear } from '../helpers/gptq-unpack';
import { testGpu } from '../helpers/gpu';

const root = mkdtempSync(join(tmpdir(), 'quantlab-slice-quant-'));
const dir = join(root, 'smollm2-135m-1l');
let gpu: Gpu, ckpt: Checkpoint, tok: TextTokenizer, fp: Transformer;
const float = new Map<string, Float32Array>();
/** The stored float weights, decoded by the test (kept: the slice is 64 MB). */
const stored = async (name: string) => {
  if (!float.has(name)) float.set(name, decodeFloats(ckpt.info(name).dtype, await ckpt.bytes(name)));
  return float.get(name)!;
};

beforeAll(async () => {
  writeFolder(dir, syntheticCheckpoint({ shape: 'smollm2-135m', layers: 1 }));
  gpu = await testGpu();
  ckpt = await Checkpoint.open(dirFiles(dir));
  tok = await TextTokenizer.load(ckpt.files, ckpt.config);
  fp = (await loadModel(gpu, ckpt)).model;
});
afterAll(() => {
  fp?.destroy();
  rmSync(root, { recursive: true, force: true });
});

const dims = () => {
  const c = ckpt.config, d = c.hidden, qd = c.heads * c.headDim, kvd = c.kvHeads * c.headDim;
  return { q: [qd, d], k: [kvd, d], v: [kvd, d], o: [d, qd], gate: [c.intermediate, d], up: [c.intermediate, d], down: [d, c.intermediate] } as const;
};

/** Every quantized linear of the exported model.safetensors, read back independently. */
async function unpackExport(data: Uint8Array, bits: number, format: 'gptq' | 'gptq_v2') {
  const st = await SafetensorsFile.open(bytesSource('model.safetensors', data));
  const out = new Map<string, UnpackedLinear>();
  for (const n of LINEAR_NAMES) {
    const base = `model.layers.0.${HF_LINEAR[n]}`;
    expect(st.names, base).not.toContain(`${base}.weight`);
    out.set(n, await unpackLinear(st, base, bits, format));
  }
  return out;
}

/** The slice's float64 forward pass with these linears in place of the stored ones. */
function withLinears(linears: Map<string, UnpackedLinear>) {
  return async (name: string) => {
    const n = LINEAR_NAMES.find((l) => name === `model.layers.0.${HF_LINEAR[l]}.weight`);
    return n ? linears.get(n)!.weight : stored(name);
  };
}

const ids = () => [...tok.prefix, ...tok.encode('A dog.')];

/** The packed model's logits against the float64 forward pass of the exported weights, at two positions. */
async function expectPackedEqualsExport(model: Transformer, linears: Map<string, UnpackedLinear>, tag: string) {
  const seq = ids(), V = ckpt.config.vocab, positions = [2, seq.length - 1];
  const [logits] = await model.logits([seq]);
  const ref = await forwardRef(ckpt.rawConfig, withLinears(linears), seq, positions);
  positions.forEach((t, i) => {
    const row = logits.subarray(t * V, (t + 1) * V);
    expect(relToRange(row, ref[i]), `${tag} position ${t}`).toBeLessThan(1e-5);
    expect(argmax(row), `${tag} position ${t}`).toBe(argmax(ref[i]));
  });
}

/**
 * The quantized levels (code - zero) equal the float64 reference's except where w / scale is a tie (x.5): bf16
 * weights often make w / scale exactly halfway (the minimum of a symmetric group is -(2^(b-1) - 0.5) steps), and
 * there float32 and float64 round differently. Zeros likewise, at ties only.
 */
function expectSameLevels(got: UnpackedLinear, want: { codes: ArrayLike<number>; scales: ArrayLike<number>; zeros: ArrayLike<number> }, W: ArrayLike<number>, G: number, tag: string) {
  const { rows, cols } = got;
  let ties = 0, firstBad = '';
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c, gz = Math.floor(c / G) * rows + r;
      const lg = got.codes[i] - got.zeros[gz], lw = want.codes[i] - want.zeros[gz];
      if (lg === lw) continue;
      const t = W[i] / want.scales[gz];
      if (Math.abs(lg - lw) === 1 && Math.abs(Math.abs(t % 1) - 0.5) < 1e-5) ties++;
      else firstBad ||= `row ${r} column ${c}: level ${lg}, reference ${lw} (w / scale = ${t})`;
    }
  }
  expect(firstBad, tag).toBe('');
  expect(ties / (rows * cols), `${tag}: levels at ties`).toBeLessThan(0.01);
  // a zero is round(-min(w, 0) / scale): it may differ only where that is a tie
  for (let g = 0; g < got.zeros.length / rows; g++) {
    for (let r = 0; r < rows; r++) {
      const k = g * rows + r;
      if (got.zeros[k] === want.zeros[k]) continue;
      let xmin = 0;
      for (let c = g * G; c < Math.min(cols, (g + 1) * G); c++) xmin = Math.min(xmin, W[r * cols + c]);
      const t = -xmin / want.scales[k];
      expect(Math.abs(got.zeros[k] - want.zeros[k]) === 1 && Math.abs(Math.abs(t % 1) - 0.5) < 1e-5, `${tag}: zero of row ${r} group ${g}: ${got.zeros[k]}, reference ${want.zeros[k]} (-min / scale = ${t})`).toBe(true);
    }
  }
}

const f16 = (x: number) => decodeFloats('F16', new Uint8Array(Uint16Array.of(f32ToF16(x)).buffer))[0];

describe('RTN on the smollm2-135m slice at every bit width, G = 32, 128 and per channel', () => {
  for (const bits of BIT_WIDTHS) {
    for (const groupSize of [32, 128, -1]) {
      // per channel asymmetric (exported with v2 zeros), grouped symmetric (v1 zeros)
      const sym = groupSize !== -1;
      it(`${bits}-bit G=${groupSize} ${sym ? 'sym' : 'asym'}`, async () => {
        const opts: QuantizeOptions = { method: 'rtn', bits, groupSize, sym, actOrder: false };
        const q = await quantizeModel(fp, null, opts);
        try {
          const files = await exportQuantized(gpu, ckpt, q.model, opts);
          const format = exportFormat(sym);
          const linears = await unpackExport(files.find((f) => f.name === 'model.safetensors')!.data, bits, format);
          for (const n of LINEAR_NAMES) {
            const [rows, cols] = dims()[n];
            const got = linears.get(n)!;
            const want = rtnRef(await stored(`model.layers.0.${HF_LINEAR[n]}.weight`), rows, cols, bits, groupSize, sym);
            const G = groupSize === -1 ? cols : groupSize;
            expect(groupCounts(got.gIdx), n).toEqual(Array.from({ length: Math.ceil(cols / G) }, (_, g) => Math.min(G, cols - g * G)));
            expectSameLevels(got, want, await stored(`model.layers.0.${HF_LINEAR[n]}.weight`), G, n);
            expect(maxRel(got.scales, Float64Array.from(want.scales, f16)), n).toBeLessThan(1e-6);
          }
          await expectPackedEqualsExport(q.model, linears, `RTN ${bits}-bit G=${groupSize}`);
        } finally {
          q.model.destroy();
        }
      });
    }
  }
});

describe('GPTQ on the smollm2-135m slice: 4-bit, G = 128, act-order', () => {
  it('groups as GPTQModel makes them, q_proj as the float64 reference, the export read back and loaded again', async () => {
    const corpus = corpusTokens(tok, readFileSync('public/data/calib_dict.txt', 'utf8').slice(0, 20_000));
    const calib = drawCalibration(corpus, 4, 64, 1, tok.prefix);
    const opts: QuantizeOptions = { method: 'gptq', bits: 4, groupSize: 128, sym: true, actOrder: true, percdamp: 0.05 };
    const q = await quantizeModel(fp, calib, opts);
    const back: Transformer[] = [];
    try {
      expect(q.layers.map((r) => `${r.module}:${r.method}:${r.fallback}`)).toEqual(LINEAR_NAMES.map((n) => `${n}:gptq:null`));
      const files = await exportQuantized(gpu, ckpt, q.model, { ...opts, calibSize: calib.count, seqLen: calib.seqLen });
      const linears = await unpackExport(files.find((f) => f.name === 'model.safetensors')!.data, 4, 'gptq');
      for (const n of LINEAR_NAMES) {
        const { gIdx, cols } = linears.get(n)!;
        // groups of 128 columns in the solve's (act-order) order, the last one shorter: 576 = 4 x 128 + 64
        expect(groupCounts(gIdx), n).toEqual(Array.from({ length: Math.ceil(cols / 128) }, (_, g) => Math.min(128, cols - g * 128)));
        expect(gIdx.some((g, c) => g !== Math.floor(c / 128)), `${n}: act-order scatters the groups`).toBe(true);
      }

      // q_proj against the float64 GPTQ, its Hessian from the calibration inputs: RMSNorm of the embeddings
      const c = ckpt.config, d = c.hidden, embed = await stored('model.embed_tokens.weight');
      const X = new Float64Array(calib.tokens.length * d);
      calib.tokens.forEach((t, r) => X.set(embed.subarray(t * d, (t + 1) * d), r * d));
      const H = new HessianRef(d);
      H.addBatch(rmsnormRef(X, await stored('model.layers.0.input_layernorm.weight'), calib.tokens.length, d, c.rmsEps), calib.tokens.length, calib.count);
      const want = gptqRef(await stored('model.layers.0.self_attn.q_proj.weight'), H.H, d, d, { ...opts, blockSize: 128 })!;
      const got = linears.get('q')!;
      expect(agreement(got.gIdx, want.gIdx)).toBeGreaterThan(0.99);
      expect(agreement(got.codes, want.codes)).toBeGreaterThan(0.99);

      // the packed forward pass computes with exactly the exported weights
      await expectPackedEqualsExport(q.model, linears, 'GPTQ 4-bit G=128 act-order');

      // written as a folder (as `quantlab quantize` does) and loaded again: the same logits
      const out = join(root, 'gptq');
      writeFolder(out, files);
      const ck2 = await Checkpoint.open(dirFiles(out));
      expect(ck2.config.gptq).toMatchObject({ bits: 4, groupSize: 128, descAct: true, sym: true, checkpointFormat: 'gptq' });
      back.push((await loadModel(gpu, ck2)).model);
      const seq = ids();
      const [a] = await q.model.logits([seq]);
      const [b] = await back[0].logits([seq]);
      expect(relToRange(b, a)).toBeLessThan(1e-6);
    } finally {
      for (const m of [q.model, ...back]) m.destroy();
    }
  });
});
