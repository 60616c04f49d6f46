// Reduced-depth slices of the published checkpoints (full width, heads and vocabulary; 1-2 layers), written
// with random weights by the synth writer, through the WGSL forward pass: opened single-file and sharded, tied
// and untied; logits equal an independent float64 CPU forward pass (tests/helpers/forward-ref.ts) at a few
// positions (the LM head over a 49K-152K vocabulary is what is slow on SwiftShader); greedy tokens decoded
// with the KV cache are the argmax of the full pass. What each slice adds: Qwen3's q/k norms and head_dim 128
// (not hidden / heads), Llama-3.2's llama3 rope scaling and 128K vocabulary in two shards, SmolLM2's two layers
// (the second's attention and KV cache fed by the first's output) with an untied LM head in three shards, Qwen2.5's q/k/v biases and 7
// query heads per KV head. Token perplexity on the SmolLM2 slice (two windows in one batch, the 49K-wide logits
// scored 64 rows at a time) equals the float64 forward pass's.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dirFiles, writeFolder } from '../../src/cli/files';
import type { Gpu } from '../../src/gpu/gpu';
import { Checkpoint } from '../../src/model/checkpoint';
import { syntheticCheckpoint, type SyntheticOptions } from '../../src/model/synthetic';
import { TextTokenizer } from '../../src/model/tokenizer';
import { tokenPerplexity } from '../../src/eval/perplexity';
import { loadModel } from '../../src/quant/load';
import { argmax, decodeFloats, forwardRef, relToRange } from '../helpers/forward-ref';
import { testGpu } from '../helpers/gpu';

const SLICES: (SyntheticOptions & { layers: number })[] = [
  { shape: 'qwen3-0.6b', layers: 1 },
  { shape: 'llama-3.2-1b', layers: 1, shards: 2 },
  { shape: 'smollm2-135m', layers: 2, shards: 3, untied: true },
  { shape: 'qwen2.5-0.5b', layers: 1 },
];

const root = mkdtempSync(join(tmpdir(), 'quantlab-slices-'));
const dirOf = (s: SyntheticOptions) => join(root, `${s.shape}-${s.layers}l-${s.shards ?? 1}s${s.untied ? '-untied' : ''}`);
let gpu: Gpu;

beforeAll(async () => {
  gpu = await testGpu();
  for (const s of SLICES) writeFolder(dirOf(s), syntheticCheckpoint(s));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The stored weights, decoded by the reference itself; the embedding kept (read again for the tied head). */
function storedWeights(ckpt: Checkpoint) {
  const kept = new Map<string, Float32Array>();
  return async (name: string) => {
    const hit = kept.get(name);
    if (hit) return hit;
    const w = decodeFloats(ckpt.info(name).dtype, await ckpt.bytes(name));
    if (name === 'model.embed_tokens.weight') kept.set(name, w);
    return w;
  };
}

describe('real-shape slices: load, logits against float64, KV-cache generation', () => {
  for (const s of SLICES) {
    it(`${s.shape}, ${s.layers} layer(s), ${s.shards ?? 1} file(s), ${s.untied ? 'untied' : 'tied'}`, async () => {
      const ckpt = await Checkpoint.open(dirFiles(dirOf(s)));
      const c = ckpt.config;
      expect(ckpt.files.list().filter((f) => f.endsWith('.safetensors')).length).toBe(s.shards ?? 1);
      expect(ckpt.files.has('model.safetensors.index.json')).toBe((s.shards ?? 1) > 1);
      expect(c.layers).toBe(s.layers);
      expect(c.tied).toBe(!s.untied);
      expect(ckpt.has('lm_head.weight')).toBe(Boolean(s.untied));
      const model = (await loadModel(gpu, ckpt)).model;
      try {
        // the first and last rows of the embedding, a special token, bytes of text
        const V = c.vocab;
        const prompt = [V - 1, c.eosTokenIds[0], ...[...'Hi!'].map((ch) => 1000 + ch.charCodeAt(0)), 0];
        const P = prompt.length, NEW = 3;
        const generated = await model.generate(prompt, NEW, { stepsPerRead: 1 });
        expect(generated.length).toBe(NEW);
        const seq = [...prompt, ...generated];
        const [logits] = await model.logits([seq]);
        const row = (t: number) => logits.subarray(t * V, (t + 1) * V);
        // the cached decode steps chose the full pass's argmax at each position
        expect(generated).toEqual(generated.map((_, j) => argmax(row(P - 1 + j))));

        const positions = [0, P - 1, seq.length - 1];
        const ref = await forwardRef(ckpt.rawConfig, storedWeights(ckpt), seq, positions);
        positions.forEach((t, i) => {
          expect(relToRange(row(t), ref[i]), `position ${t}: max |logit error| / logit range`).toBeLessThan(1e-5);
          expect(argmax(row(t)), `position ${t}: argmax`).toBe(argmax(ref[i]));
        });
        if (c.rope.type === 'llama3') {
          // the check sees the scaling: without it the last position is off by far more than the tolerance
          const [plain] = await forwardRef({ ...ckpt.rawConfig, rope_scaling: null }, storedWeights(ckpt), seq, [seq.length - 1]);
          expect(relToRange(row(seq.length - 1), plain)).toBeGreaterThan(1e-4);
        }
      } finally {
        model.destroy();
      }
    });
  }

  it('token perplexity of the smollm2-135m slice: two windows of WikiText-2 in one batch equal the float64 pass', async () => {
    const s = SLICES.find((x) => x.shape === 'smollm2-135m')!;
    const ckpt = await Checkpoint.open(dirFiles(dirOf(s)));
    const tok = await TextTokenizer.load(ckpt.files, ckpt.config);
    const ids = tok.encodeDocument(readFileSync('public/data/wikitext2_test.txt', 'utf8').slice(0, 400));
    const S = 34; // 2 x 33 scored rows: a chunk of 64 and one of 2
    const model = (await loadModel(gpu, ckpt)).model;
    try {
      const got = await tokenPerplexity(model, ids, S, { maxWindows: 2 });
      expect(got).toMatchObject({ windows: 2, tokens: 2 * (S - 1) });
      let nll = 0;
      for (let w = 0; w < 2; w++) {
        const win = ids.slice(w * S, (w + 1) * S);
        const logits = await forwardRef(ckpt.rawConfig, storedWeights(ckpt), win, [...Array(S - 1).keys()]);
        logits.forEach((row, t) => {
          let mx = -Infinity, sum = 0;
          for (const v of row) mx = Math.max(mx, v);
          for (const v of row) sum += Math.exp(v - mx);
          nll -= row[win[t + 1]] - mx - Math.log(sum);
        });
      }
      expect(Math.abs(got.nll - nll) / nll).toBeLessThan(1e-5);
    } finally {
      model.destroy();
    }
  });
});
