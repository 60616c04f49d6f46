// Phi-3, added through its entry in src/model/architectures.ts: its config dialect (published Phi-3-mini-4k and
// a longrope config as Phi-3-mini-128k writes it), the longrope tables against the formula worked by hand, the
// fused qkv_proj / gate_up_proj presented split, the published shape written fused, and the forward pass of tiny
// random Phi-3 checkpoints against transformers' logits and the float64 reference (tests/helpers/forward-ref.ts).
import { describe, expect, it } from 'vitest';
import { dirFiles, fileSource } from '../../src/cli/files';
import { ARCHITECTURES, findArchitecture, supportedArchitectures } from '../../src/model/architectures';
import { Checkpoint } from '../../src/model/checkpoint';
import { nonEmbeddingParams, parseConfig, totalParams } from '../../src/model/config';
import { CheckpointError, UnsupportedModelError } from '../../src/model/errors';
import { ropeTables, usesLongFactors } from '../../src/model/rope';
import { encodeSafetensors, SafetensorsFile } from '../../src/model/safetensors';
import { blobFiles } from '../../src/model/source';
import { PUBLISHED_SHAPES } from '../../src/model/shapes';
import { syntheticCheckpoint } from '../../src/model/synthetic';
import { Transformer } from '../../src/model/transformer';
import { argmax, decodeFloats, forwardRef, relToRange } from '../helpers/forward-ref';
import { randomF32, testGpu } from '../helpers/gpu';

const phi3Mini4k = PUBLISHED_SHAPES['phi-3-mini-4k'].config as Record<string, unknown>;
// Phi-3-mini-128k's config.json differs from the 4k one in these fields (its 48 factors replaced by made-up ones)
const longFactor = Array.from({ length: 48 }, (_, i) => 1 + i / 4), shortFactor = Array.from({ length: 48 }, (_, i) => 1 + i / 40);
const longrope = { type: 'longrope', long_factor: longFactor, short_factor: shortFactor };
const phi3Mini128k: Record<string, unknown> = { ...phi3Mini4k, max_position_embeddings: 131072, sliding_window: 262144, rope_scaling: longrope };

describe('Phi-3 config.json', () => {
  it('Phi-3-mini-4k: the registry entry, no biases, default rope, the context bounded by its sliding window', () => {
    const c = parseConfig(phi3Mini4k);
    expect(findArchitecture(phi3Mini4k)).toBe('phi3');
    expect(c).toMatchObject({ arch: 'phi3', hidden: 3072, heads: 32, kvHeads: 32, headDim: 96, intermediate: 8192, vocab: 32064, tied: false });
    expect(c).toMatchObject({ qkvBias: false, oBias: false, mlpBias: false, qkNorm: false });
    expect(c.rope).toMatchObject({ type: 'default', theta: 10000 });
    // keys more than 2046 positions back are masked: 2047 tokens are the exact range
    expect(c.maxPosition).toBe(2047);
    expect(parseConfig({ ...phi3Mini4k, sliding_window: null }).maxPosition).toBe(4096);
  });
  it('Phi-3-mini-4k has 3,821,079,552 parameters (the model card\'s 3.8B), 3,624,078,336 outside the embeddings', () => {
    const c = parseConfig(phi3Mini4k);
    expect(totalParams(c)).toBe(3_821_079_552);
    expect(nonEmbeddingParams(c)).toBe(3_624_078_336);
  });
  it('longrope (and its first name "su"): factor max / original = 32, attention scaling sqrt(1 + ln 32 / ln 4096) = sqrt(17/12)', () => {
    for (const type of ['longrope', 'su']) {
      const c = parseConfig({ ...phi3Mini128k, rope_scaling: { ...longrope, type } });
      expect(c.rope).toMatchObject({ type: 'longrope', theta: 10000, factor: 32, originalMaxPosition: 4096, longFactor, shortFactor });
      expect(c.rope.attentionFactor).toBeCloseTo(Math.sqrt(17 / 12), 14); // ln 32 / ln 4096 = 5 / 12
      expect(c.maxPosition).toBe(131072);
    }
    // the transformers-5 layout: rope_parameters with the original length inside
    const { rope_scaling: _r, original_max_position_embeddings: _o, ...rest } = phi3Mini128k;
    const v5 = parseConfig({ ...rest, rope_parameters: { rope_type: 'longrope', rope_theta: 10000, original_max_position_embeddings: 4096, long_factor: longFactor, short_factor: shortFactor } });
    expect(v5.rope).toEqual(parseConfig(phi3Mini128k).rope);
  });
  it('refuses factors of the wrong length, a rope type Phi-3 does not have, naming what to do', () => {
    expect(() => parseConfig({ ...phi3Mini128k, rope_scaling: { type: 'longrope', long_factor: [1, 2], short_factor: shortFactor } })).toThrow(CheckpointError);
    expect(() => parseConfig({ ...phi3Mini128k, rope_scaling: { type: 'longrope', long_factor: [1, 2], short_factor: shortFactor } })).toThrow(/long_factor must be 48/);
    expect(() => parseConfig({ ...phi3Mini4k, rope_scaling: { rope_type: 'llama3', factor: 8 } })).toThrow(UnsupportedModelError);
    expect(() => parseConfig({ ...phi3Mini4k, architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' })).toThrow(/Phi3ForCausalLM/);
    expect(supportedArchitectures()).toContain('SmolLM2');
  });
});

describe('longrope tables', () => {
  const c = parseConfig(phi3Mini128k);
  it('switch to the long factors for sequences past original_max_position_embeddings', () => {
    expect(usesLongFactors(c.rope, 4096)).toBe(false);
    expect(usesLongFactors(c.rope, 4097)).toBe(true);
    expect(usesLongFactors(parseConfig(phi3Mini4k).rope, 100000)).toBe(false);
  });
  it('cos, sin = sqrt(17/12) * cos, sin(p / (factor_i * 10000^(2i/96))), short and long, to f32 rounding', () => {
    const scale = Math.sqrt(17 / 12);
    for (const long of [false, true]) {
      const ext = long ? longFactor : shortFactor;
      const P = 4100;
      const { cos, sin } = ropeTables(c.rope, 96, P, long);
      for (const p of [0, 1, 7, 1000, 4099]) {
        for (const i of [0, 5, 23, 47]) {
          const angle = p / (ext[i] * 10000 ** ((2 * i) / 96));
          // f32 rounding of the frequency and of the angle (as transformers), relative to p
          const tol = 2e-7 * (1 + p * (1 / ext[i]));
          expect(Math.abs(cos[p * 48 + i] - scale * Math.cos(angle)), `cos p=${p} i=${i} long=${long}`).toBeLessThan(tol);
          expect(Math.abs(sin[p * 48 + i] - scale * Math.sin(angle)), `sin p=${p} i=${i} long=${long}`).toBeLessThan(tol);
        }
      }
    }
  });
  it('Phi-3-mini-4k\'s default rope is the plain table (no scaling)', () => {
    const { cos } = ropeTables(parseConfig(phi3Mini4k).rope, 96, 3);
    expect(cos[48 + 1]).toBeCloseTo(Math.cos(1 / 10000 ** (2 / 96)), 6);
  });
});

describe('the published shape, written fused as on the Hub', () => {
  it('phi-3-mini-4k: qkv_proj [9216, 3072] and gate_up_proj [16384, 3072] per layer, no split names', async () => {
    const files = syntheticCheckpoint({ shape: 'phi-3-mini-4k', layers: 1, vocab: 2048 });
    const st = files.find((f) => f.name === 'model.safetensors')!;
    const header = st.chunks().next().value as Uint8Array; // the header alone: the weights are not generated
    const n = Number(new DataView(header.buffer, header.byteOffset).getBigUint64(0, true));
    const json = JSON.parse(new TextDecoder().decode(header.subarray(8, 8 + n))) as Record<string, { shape: number[] }>;
    expect(json['model.layers.0.self_attn.qkv_proj.weight'].shape).toEqual([9216, 3072]);
    expect(json['model.layers.0.mlp.gate_up_proj.weight'].shape).toEqual([16384, 3072]);
    expect(json['model.layers.0.self_attn.o_proj.weight'].shape).toEqual([3072, 3072]);
    expect(json['lm_head.weight'].shape).toEqual([2048, 3072]);
    expect(Object.keys(json).some((n) => /q_proj|k_proj|v_proj|gate_proj|up_proj/.test(n) && !/qkv_proj|gate_up_proj/.test(n))).toBe(false);
  });
});

const FIXTURES = ['phi3', 'phi3-longrope'];

describe('tiny random Phi-3 checkpoints', () => {
  it('present q, k, v, gate, up as views of the stored fused tensors, byte for byte', async () => {
    const ckpt = await Checkpoint.open(dirFiles('tests/fixtures/tiny/phi3'));
    const c = ckpt.config, qd = c.heads * c.headDim, kvd = c.kvHeads * c.headDim, d = c.hidden;
    const p = 'model.layers.1.';
    const fused = decodeFloats(ckpt.info(`${p}self_attn.qkv_proj.weight`).dtype, await ckpt.bytes(`${p}self_attn.qkv_proj.weight`));
    expect(ckpt.tensorNames()).not.toContain(`${p}self_attn.k_proj.weight`);
    expect(ckpt.info(`${p}self_attn.k_proj.weight`).shape).toEqual([kvd, d]);
    expect(Array.from(await ckpt.f32(`${p}self_attn.k_proj.weight`))).toEqual(Array.from(fused.subarray(qd * d, (qd + kvd) * d)));
    expect(Array.from(await ckpt.f32(`${p}self_attn.v_proj.weight`))).toEqual(Array.from(fused.subarray((qd + kvd) * d)));
    const gu = await SafetensorsFile.open(fileSource('tests/fixtures/tiny/phi3/model.safetensors'));
    const gateUp = await gu.f32(`${p}mlp.gate_up_proj.weight`);
    expect(Array.from(await ckpt.f32(`${p}mlp.up_proj.weight`))).toEqual(Array.from(gateUp.subarray(c.intermediate * d)));
    // a range of a view is that range of the stored rows
    const range = await ckpt.bytesRange(`${p}mlp.up_proj.weight`, 8, 16);
    const whole = await ckpt.bytes(`${p}mlp.up_proj.weight`);
    expect(Array.from(range)).toEqual(Array.from(whole.subarray(8, 24)));
  });

  for (const name of FIXTURES) {
    it(`${name}: the WGSL forward pass matches transformers' logits and the float64 reference`, { timeout: 300_000 }, async () => {
      const dir = `tests/fixtures/tiny/${name}`;
      const gpu = await testGpu();
      const ckpt = await Checkpoint.open(dirFiles(dir));
      const model = await Transformer.load(gpu, ckpt);
      const st = await SafetensorsFile.open(fileSource(`${dir}/logits.safetensors`));
      const tokens = (await st.decoded('tokens')) as Int32Array, golden = await st.f32('logits');
      const [, T, V] = st.info('logits').shape;
      const lengths = JSON.parse(st.header.metadata.lengths) as number[];
      const weights = async (n: string) => decodeFloats(ckpt.info(n).dtype, await ckpt.bytes(n));
      for (let b = 0; b < lengths.length; b++) {
        const seq = Array.from(tokens.subarray(b * T, b * T + lengths[b]));
        const [mine] = await model.logits([seq]);
        const positions = [...seq.keys()];
        const ref = await forwardRef(ckpt.rawConfig, weights, seq, positions);
        for (const t of positions) {
          const want = golden.subarray((b * T + t) * V, (b * T + t + 1) * V), got = mine.subarray(t * V, (t + 1) * V);
          expect(relToRange(got, want), `${name} sequence ${b} (${seq.length} tokens) position ${t} vs transformers`).toBeLessThan(1e-3);
          expect(relToRange(ref[t], want), `float64 reference vs transformers, position ${t}`).toBeLessThan(1e-4);
          expect(argmax(got)).toBe(argmax(want));
        }
      }
      model.destroy();
    });
  }

  // Generation chooses the table for its whole length up front (src/model/transformer.ts): with a prompt within the
  // original length (32) and a generation past it, every step uses the long factors, as the full pass over the
  // final sequence does. The context is the sliding window's 48 tokens: generation stops there.
  for (const name of FIXTURES) {
    it(`${name}: greedy generation with the KV cache agrees with the full forward pass, up to the context`, { timeout: 300_000 }, async () => {
      const gpu = await testGpu();
      const model = await Transformer.load(gpu, await Checkpoint.open(dirFiles(`tests/fixtures/tiny/${name}`)));
      const V = model.config.vocab, prompt = Array.from({ length: 20 }, (_, i) => (i * 37 + 11) % V);
      const out = await model.generate(prompt, 60, { stepsPerRead: 4 });
      expect(out.length).toBe(model.config.maxPosition - prompt.length + 1);
      const [logits] = await model.logits([[...prompt, ...out.slice(0, -1)]]);
      expect(out.map((_, j) => argmax(logits.subarray((prompt.length - 1 + j) * V, (prompt.length + j) * V)))).toEqual(out);
      model.destroy();
    });
  }

  it('phi3-longrope: a generation that feeds exactly the original length (32 tokens) keeps the short factors, as the full pass over it', { timeout: 300_000 }, async () => {
    const gpu = await testGpu();
    const model = await Transformer.load(gpu, await Checkpoint.open(dirFiles('tests/fixtures/tiny/phi3-longrope')));
    const V = model.config.vocab, prompt = Array.from({ length: 20 }, (_, i) => (i * 53 + 7) % V);
    // 13 tokens: the last is never fed back, so the longest sequence fed is 20 + 12 = 32
    const out = await model.generate(prompt, 13, { stepsPerRead: 4 });
    expect(out.length).toBe(13);
    const [logits] = await model.logits([[...prompt, ...out.slice(0, -1)]]);
    expect(out.map((_, j) => argmax(logits.subarray((prompt.length - 1 + j) * V, (prompt.length + j) * V)))).toEqual(out);
    model.destroy();
  });

  it('phi3-longrope: a long pass, then a short one, then a long one again use the factors of their own length', { timeout: 300_000 }, async () => {
    const gpu = await testGpu();
    const ckpt = await Checkpoint.open(dirFiles('tests/fixtures/tiny/phi3-longrope'));
    const model = await Transformer.load(gpu, ckpt);
    const long = Array.from({ length: 40 }, (_, i) => (i * 31 + 5) % 256), short = long.slice(0, 20);
    const [a] = await model.logits([short]);
    const [l1] = await model.logits([long]);
    const [b] = await model.logits([short]);
    const [l2] = await model.logits([long]);
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(l2)).toEqual(Array.from(l1));
    // the first 20 positions of the long pass differ from the short pass: other factors, other scaling
    expect(relToRange(l1.subarray(0, 20 * 256), a)).toBeGreaterThan(1e-3);
    model.destroy();
  });
});

/**
 * A random Phi-3 with Phi-3-mini's head_dim 96 (and 2 heads, 1 layer), fused tensors in f32, in memory: the widths
 * the kernels see in the published model, at a size a CPU adapter runs.
 */
function randomPhi3(headDim: number, rope: Record<string, unknown> | null): Checkpoint | Promise<Checkpoint> {
  const heads = 2, d = heads * headDim, I = 128, V = 256;
  const config = {
    architectures: ['Phi3ForCausalLM'], model_type: 'phi3', hidden_size: d, intermediate_size: I, num_hidden_layers: 1, num_attention_heads: heads,
    num_key_value_heads: heads, max_position_embeddings: 256, original_max_position_embeddings: 64, rms_norm_eps: 1e-5, rope_theta: 10000,
    rope_scaling: rope, sliding_window: 255, tie_word_embeddings: false, vocab_size: V, hidden_act: 'silu', bos_token_id: 1, eos_token_id: 2,
  };
  let seed = 1;
  const t = (name: string, shape: number[], scale: number, offset = 0) => {
    const data = randomF32(shape.reduce((a, b) => a * b, 1), seed++, scale).map((x) => x + offset);
    return { name, dtype: 'F32' as const, shape, data };
  };
  const p = 'model.layers.0.';
  const tensors = [
    t('model.embed_tokens.weight', [V, d], 1), t('lm_head.weight', [V, d], 0.1), t('model.norm.weight', [d], 0.2, 1),
    t(`${p}input_layernorm.weight`, [d], 0.2, 1), t(`${p}post_attention_layernorm.weight`, [d], 0.2, 1),
    t(`${p}self_attn.qkv_proj.weight`, [3 * d, d], 0.15), t(`${p}self_attn.o_proj.weight`, [d, d], 0.1),
    t(`${p}mlp.gate_up_proj.weight`, [2 * I, d], 0.1), t(`${p}mlp.down_proj.weight`, [d, I], 0.1),
  ];
  const files = new Map<string, Blob>([
    ['config.json', new Blob([JSON.stringify(config)])],
    ['model.safetensors', new Blob([encodeSafetensors(tensors) as Uint8Array<ArrayBuffer>])],
  ]);
  return Checkpoint.open(blobFiles(`random-phi3-hd${headDim}`, files));
}

describe('Phi-3-mini\'s head_dim 96', () => {
  // the kernels a GPU takes (tiled attention, chained GEMV decoding) as well as SwiftShader's serial ones
  for (const serial of [true, false]) {
    it(`${serial ? 'serial' : 'GPU'} kernels: the forward pass against float64 (default rope, 70 tokens) and longrope (long factors, 100 tokens), and cached decoding`, { timeout: 600_000 }, async () => {
      const gpu = await testGpu();
      const was = gpu.serialKernels;
      gpu.serialKernels = serial;
      try {
        const long = { type: 'longrope', short_factor: Array.from({ length: 48 }, (_, i) => 1 + i / 30), long_factor: Array.from({ length: 48 }, (_, i) => 1 + i / 5) };
        for (const [rope, T] of [[null, 70], [long, 100]] as const) {
          const ckpt = await randomPhi3(96, rope);
          const model = await Transformer.load(gpu, ckpt);
          const seq = Array.from({ length: T }, (_, i) => (i * 53 + 7) % 256);
          const [mine] = await model.logits([seq]);
          const positions = [0, 1, 31, 63, 64, T - 1];
          const ref = await forwardRef(ckpt.rawConfig, async (n) => ckpt.f32(n), seq, positions);
          positions.forEach((t, r) => expect(relToRange(mine.subarray(t * 256, (t + 1) * 256), ref[r]), `position ${t} of ${T}, rope ${rope ? 'longrope' : 'default'}`).toBeLessThan(1e-4));
          const out = await model.generate(seq.slice(0, T - 8), 8, { stepsPerRead: 4 });
          const [full] = await model.logits([[...seq.slice(0, T - 8), ...out.slice(0, -1)]]);
          expect(out.map((_, j) => argmax(full.subarray((T - 9 + j) * 256, (T - 8 + j) * 256)))).toEqual(out);
          model.destroy();
        }
      } finally {
        gpu.serialKernels = was;
      }
    });
  }
});

it('the registry names every architecture by its class and model_type', () => {
  for (const [id, a] of Object.entries(ARCHITECTURES)) {
    expect(findArchitecture({ architectures: [a.className] })).toBe(id);
    expect(findArchitecture({ model_type: a.modelType })).toBe(id);
  }
});
