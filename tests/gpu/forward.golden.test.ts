// The WGSL forward pass against logits from Hugging Face transformers (tools/golden/goldens.py):
// random-weight tiny Qwen3 (f32), Llama (GQA, llama3 rope scaling, untied, bf16, sharded), Qwen2 (q/k/v
// bias, f16), and every model of the lab's trained family (f16).
import { readdirSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { dirFiles, fileSource } from '../../src/cli/files';
import { Checkpoint } from '../../src/model/checkpoint';
import { DenseLinear } from '../../src/model/linear';
import { SafetensorsFile } from '../../src/model/safetensors';
import { Transformer } from '../../src/model/transformer';
import { testGpu } from '../helpers/gpu';

async function golden(path: string) {
  const st = await SafetensorsFile.open(fileSource(path));
  const tokens = (await st.decoded('tokens')) as Int32Array;
  const logits = await st.f32('logits');
  const [B, T, V] = st.info('logits').shape;
  const lengths = JSON.parse(st.header.metadata.lengths) as number[];
  return { B, T, V, lengths, tokens, logits };
}

async function check(modelDir: string, goldenPath: string) {
  const gpu = await testGpu();
  const ckpt = await Checkpoint.open(dirFiles(modelDir));
  const model = await Transformer.load(gpu, ckpt);
  const g = await golden(goldenPath);
  const seqs = g.lengths.map((n, b) => Array.from(g.tokens.subarray(b * g.T, b * g.T + n)));
  const got = await model.logits(seqs);
  for (let b = 0; b < g.B; b++) {
    let range = 0, err = 0, argmaxSame = true;
    for (let t = 0; t < g.lengths[b]; t++) {
      const want = g.logits.subarray((b * g.T + t) * g.V, (b * g.T + t + 1) * g.V);
      const mine = got[b].subarray(t * g.V, (t + 1) * g.V);
      let lo = Infinity, hi = -Infinity, am = 0, bm = 0;
      for (let i = 0; i < g.V; i++) {
        lo = Math.min(lo, want[i]); hi = Math.max(hi, want[i]);
        err = Math.max(err, Math.abs(want[i] - mine[i]));
        if (want[i] > want[am]) am = i;
        if (mine[i] > mine[bm]) bm = i;
      }
      range = Math.max(range, hi - lo);
      if (am !== bm) argmaxSame = false;
    }
    expect(err / range, `max |logit error| / logit range, sequence ${b}`).toBeLessThan(1e-3);
    expect(argmaxSame, 'same argmax at every position').toBe(true);
  }
  model.destroy();
}

describe('forward pass matches transformers', () => {
  for (const arch of ['qwen3', 'llama', 'qwen2']) {
    it(`tiny random ${arch}`, () => check(`tests/fixtures/tiny/${arch}`, `tests/fixtures/tiny/${arch}/logits.safetensors`));
  }
  for (const f of readdirSync('tests/fixtures/logits')) {
    const name = f.replace('.safetensors', '');
    it(`trained ${name}`, () => check(`public/models/${name}`, `tests/fixtures/logits/${f}`));
  }
});

/** The argmax of the cache-free forward pass's logits at each generated token's position (prompt, then tokens). */
async function fullPassArgmax(model: Transformer, prompt: number[], tokens: number[]): Promise<number[]> {
  const V = model.config.vocab;
  const [logits] = await model.logits([[...prompt, ...tokens.slice(0, -1)]]);
  return tokens.map((_, j) => {
    const t = prompt.length - 1 + j;
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[t * V + i] > logits[t * V + best]) best = i;
    return best;
  });
}

describe('greedy generation with the KV cache', () => {
  // Steps chained on the GPU (each step's argmax copied into the next step's input, several steps per read)
  // against the cache-free forward pass: every generated token must be the argmax of the full pass's logits at
  // its position, up to the end of the context (64 positions: a 58-token prompt leaves room for 7 tokens).
  // llama: plain rope; qwen2: q/k/v biases; qwen3: q/k norms, applied with the rope and the cache writes in one dispatch
  for (const arch of ['llama', 'qwen2', 'qwen3']) it(`${arch}: chained steps agree with the full forward pass and stop at the context length`, async () => {
    const gpu = await testGpu();
    const model = await Transformer.load(gpu, await Checkpoint.open(dirFiles(`tests/fixtures/tiny/${arch}`)));
    const V = model.config.vocab;
    const prompt = Array.from({ length: 58 }, (_, i) => (i * 37 + 11) % V);
    const chained = await model.generate(prompt, 12, { stepsPerRead: 4 });
    expect(chained.length).toBe(7);
    expect(await model.generate(prompt, 12, { stepsPerRead: 1 })).toEqual(chained);
    // steps after the first are one frozen step replayed at each position: recording each anew agrees
    expect(await model.generate(prompt, 12, { stepsPerRead: 4, replay: false })).toEqual(chained);
    expect(await fullPassArgmax(model, prompt, chained)).toEqual(chained);
    // an EOS in the middle of a chunk ends the output there
    const eos = chained[2];
    expect(await model.generate(prompt, 12, { stepsPerRead: 4, eos: [eos] })).toEqual(chained.slice(0, chained.indexOf(eos) + 1));
    // decode steps as on a GPU (not SwiftShader's one-invocation kernels): GEMVs, each layer's q, k and v in
    // one dispatch, each MLP's gate, up and SwiGLU in one; prompts through the tiled GEMM; the same tokens,
    // the 6 decode steps recorded once (replayed) or each anew
    const fused = vi.spyOn(DenseLinear.prototype, 'encodeGateUp'), qkv = vi.spyOn(DenseLinear.prototype, 'encodeQkv');
    const serial = gpu.serialKernels;
    gpu.serialKernels = false;
    const fusedCalls = () => fused.mock.results.filter((r) => r.value === true).length;
    try {
      expect(await model.generate(prompt, 12, { stepsPerRead: 4 })).toEqual(chained);
      expect(fusedCalls()).toBe(model.config.layers);
      expect(qkv.mock.results.filter((r) => r.value === true).length).toBe(model.config.layers);
      fused.mockClear();
      expect(await model.generate(prompt, 12, { stepsPerRead: 4, replay: false })).toEqual(chained);
      expect(fusedCalls()).toBe(6 * model.config.layers);
    } finally {
      gpu.serialKernels = serial;
      fused.mockRestore();
      qkv.mockRestore();
    }
    model.destroy();
  });

  // head_dim 32: decode steps run the attention that norms and rotates q and k and writes the cache itself
  // (decode_rope); the tiny fixtures' head dims (8, 16) keep rope_cache + decode
  for (const name of ['llama-dict-788k', 'qwen3-dict-788k']) it(`${name}: decode with rope inside the attention agrees with the full forward pass`, async () => {
    const gpu = await testGpu();
    const model = await Transformer.load(gpu, await Checkpoint.open(dirFiles(`public/models/${name}`)));
    const V = model.config.vocab;
    const prompt = Array.from({ length: 9 }, (_, i) => (i * 37 + 11) % V);
    const serial = gpu.serialKernels;
    gpu.serialKernels = false;
    gpu.dispatchCounts = new Map();
    try {
      const replayed = await model.generate(prompt, 6, { stepsPerRead: 4, eos: [] });
      expect(gpu.dispatchCounts.get('attention:decode_rope')).toBe(model.config.layers); // recorded once, replayed
      expect(gpu.dispatchCounts.get('rope:rope_cache')).toBe(model.config.layers); // the prompt's step
      expect(await model.generate(prompt, 6, { stepsPerRead: 4, eos: [], replay: false })).toEqual(replayed);
      expect(await fullPassArgmax(model, prompt, replayed)).toEqual(replayed);
    } finally {
      gpu.dispatchCounts = null;
      gpu.serialKernels = serial;
      model.destroy();
    }
  });

  // A decode step's cost on a GPU is mostly the CPU recording its dispatches: what one layer records
  it('a decode step of a Qwen3 layer: 6 dispatches (the norms in the GEMVs that read them; q, k and v in one; q/k norms, rope and the cache writes in one), no copies', async () => {
    const gpu = await testGpu();
    const model = await Transformer.load(gpu, await Checkpoint.open(dirFiles('tests/fixtures/tiny/qwen3')));
    const serial = gpu.serialKernels;
    gpu.serialKernels = false;
    try {
      const b = gpu.batch();
      const dispatch = vi.spyOn(b, 'dispatch'), copy = vi.spyOn(b, 'copy');
      model.layer(b, 0, model.activations(1), { batch: 1, seq: 1, past: 3 }, model.newCache(1, 8));
      const kernels = dispatch.mock.calls.map(([spec]) => `${spec.shader}:${(spec.entry ?? 'main').replace(/_subgroups$/, '')}`);
      expect(kernels).toEqual([
        'matmul:gemv_qkv', // input norm + q + k + v
        'rope:rope_cache', 'attention:decode', 'matmul:gemv', // q/k norms + rope + cache writes, attention, o (+ residual)
        'matmul:gemv_swiglu', 'matmul:gemv', // post norm + gate + up + SwiGLU, down (+ residual)
      ]);
      expect(dispatch.mock.calls.filter(([spec]) => spec.defines?.includes('input_norm')).length).toBe(2);
      expect(copy).not.toHaveBeenCalled();
      await b.submit();
    } finally {
      gpu.serialKernels = serial;
      model.destroy();
    }
  });

  // generate --ablate: a decode step's kernels counted (a generation of 3 steps less one of 2), then each left out
  it('ablation: a decode step counted kernel by kernel (the head reads the one row in place: no gather); a kernel left out does not run', async () => {
    const gpu = await testGpu();
    const model = await Transformer.load(gpu, await Checkpoint.open(dirFiles('tests/fixtures/tiny/qwen3')));
    const serial = gpu.serialKernels;
    gpu.serialKernels = false;
    const prompt = [5, 9, 2];
    try {
      const count = async (steps: number) => {
        gpu.dispatchCounts = new Map();
        await model.generate(prompt, steps, { replay: false });
        const c = gpu.dispatchCounts;
        gpu.dispatchCounts = null;
        return c;
      };
      const two = await count(2), three = await count(3);
      const step = new Map([...three].map(([k, n]) => [k.replace(/_subgroups$/, ''), n - (two.get(k) ?? 0)]));
      const L = model.config.layers;
      // the embedding's gather, 6 a layer, the LM head's GEMV with the final norm, the argmax in two passes
      expect([...step.values()].reduce((a, n) => a + n, 0)).toBe(6 * L + 4);
      expect(step.get('elementwise:gather_rows')).toBe(1);
      expect(step.get('matmul:gemv_qkv')).toBe(L);
      expect(step.get('logits:argmax_split')).toBe(1);
      expect(step.get('logits:argmax_merge')).toBe(1);
      const tokens = await model.generate(prompt, 4);
      // the argmax left out: no step writes the scores, so the tokens read back are not the model's
      gpu.omitKernels = new Set(['logits:argmax_merge']);
      const blind = await model.generate(prompt, 4, { eos: [] });
      gpu.omitKernels = null;
      expect(blind).not.toEqual(tokens);
      expect(await model.generate(prompt, 4)).toEqual(tokens);
    } finally {
      gpu.omitKernels = null;
      gpu.serialKernels = serial;
      model.destroy();
    }
  });
});
