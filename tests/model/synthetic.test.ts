// Real-shape checkpoints with random weights: the published configs give the published N (docs/study.md, The factors), the
// files open as checkpoints (single file and shards with an index, tied and untied), a slice holds exactly the
// first layers of the full-depth checkpoint, bf16 is rounded as torch rounds it, and the tokenizer's special
// tokens sit at the published ids.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dirFiles, writeFolder } from '../../src/cli/files';
import { Checkpoint } from '../../src/model/checkpoint';
import { nonEmbeddingParams, parseConfig } from '../../src/model/config';
import { f32ToBf16 } from '../../src/model/safetensors';
import { PUBLISHED_SHAPES } from '../../src/model/shapes';
import { syntheticCheckpoint, syntheticFiles } from '../../src/model/synthetic';
import { TextTokenizer } from '../../src/model/tokenizer';

const root = mkdtempSync(join(tmpdir(), 'quantlab-synth-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const write = (opts: Parameters<typeof syntheticCheckpoint>[0]) => {
  const dir = join(root, `${n++}-${opts.shape}`);
  writeFolder(dir, syntheticCheckpoint(opts));
  return dir;
};

/** The small files of a synthetic checkpoint (config, tokenizer) in memory: no weights read. */
async function smallFiles(shape: string) {
  const files = syntheticFiles({ shape, layers: 1, vocab: undefined });
  return { files, config: parseConfig(JSON.parse(new TextDecoder().decode(await (await files.open('config.json')).read(0, 1 << 20)))) };
}

describe('published shapes', () => {
  it('give the N that docs/study.md states for Qwen3-0.6B, Qwen3-1.7B and Llama-3.2-1B', () => {
    const N = (s: string) => nonEmbeddingParams(parseConfig(PUBLISHED_SHAPES[s].config));
    expect(N('qwen3-0.6b')).toBe(440_467_456);
    expect(N('qwen3-1.7b')).toBe(1_409_410_048);
    expect(N('llama-3.2-1b')).toBe(973_146_112);
  });
  it('parse with the traits the lab must honour: q/k norms, q/k/v biases, llama3 rope, GQA, widths 576-2048', () => {
    const c = (s: string) => parseConfig(PUBLISHED_SHAPES[s].config);
    expect(c('qwen3-0.6b')).toMatchObject({ qkNorm: true, headDim: 128, kvHeads: 8, vocab: 151936, tied: true });
    expect(c('qwen2.5-0.5b')).toMatchObject({ qkvBias: true, hidden: 896, heads: 14, kvHeads: 2, headDim: 64 });
    expect(c('llama-3.2-1b').rope).toMatchObject({ type: 'llama3', factor: 32, theta: 500000 });
    expect(c('smollm2-135m')).toMatchObject({ hidden: 576, heads: 9, kvHeads: 3, headDim: 64, vocab: 49152 });
    expect(c('smollm2-360m')).toMatchObject({ hidden: 960, heads: 15, kvHeads: 5 });
  });
});

describe('synthetic checkpoints', () => {
  it('a 2-layer slice in 3 shards with an index opens, and its tensors equal the same names of a 1-layer single file', async () => {
    const sharded = await Checkpoint.open(dirFiles(write({ shape: 'smollm2-135m', layers: 2, shards: 3 })));
    const single = await Checkpoint.open(dirFiles(write({ shape: 'smollm2-135m', layers: 1 })));
    expect(sharded.files.list().filter((f) => f.endsWith('.safetensors')).length).toBe(3);
    expect(sharded.config.layers).toBe(2);
    expect(sharded.nonEmbeddingParams).toBe(sharded.nonEmbeddingFromTensors());
    for (const name of ['model.embed_tokens.weight', 'model.layers.0.mlp.down_proj.weight', 'model.layers.0.input_layernorm.weight']) {
      const [a, b] = [await sharded.bytes(name), await single.bytes(name)];
      expect(a.byteLength).toBeGreaterThan(0);
      expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)), name).toBe(true);
    }
    expect(sharded.has('model.layers.1.self_attn.q_proj.weight')).toBe(true);
    expect(single.has('model.layers.1.self_attn.q_proj.weight')).toBe(false);
    expect(sharded.has('lm_head.weight')).toBe(false);
  });

  it('weights ~ N(0, 0.02) in bf16, norms ~ 1, q/k/v biases present for Qwen2, lm_head when untied', async () => {
    const ck = await Checkpoint.open(dirFiles(write({ shape: 'qwen2.5-0.5b', layers: 1, untied: true, vocab: 4096 })));
    expect(ck.info('model.layers.0.self_attn.q_proj.weight')).toMatchObject({ dtype: 'BF16', shape: [896, 896] });
    const w = await ck.f32('model.layers.0.mlp.up_proj.weight', [4864, 896]);
    let s = 0, s2 = 0;
    for (const v of w) (s += v), (s2 += v * v);
    const mean = s / w.length, sd = Math.sqrt(s2 / w.length - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(1e-4);
    expect(sd).toBeGreaterThan(0.0199);
    expect(sd).toBeLessThan(0.0201);
    const norm = await ck.f32('model.layers.0.input_layernorm.weight', [896]);
    expect(Math.min(...norm)).toBeGreaterThan(0.85);
    expect(Math.max(...norm)).toBeLessThan(1.15);
    expect(ck.has('model.layers.0.self_attn.k_proj.bias')).toBe(true);
    expect(ck.info('lm_head.weight').shape).toEqual([4096, 896]);
    expect(ck.config.tied).toBe(false);
  });

  it('bf16 rounds to nearest even, as torch does', () => {
    // 1 + 2^-8 is halfway between bf16 neighbours 1 and 1 + 2^-7: ties go to the even mantissa (1)
    expect(f32ToBf16(1 + 2 ** -8)).toBe(0x3f80);
    expect(f32ToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82); // halfway between 1 + 2^-7 (odd) and 1 + 2^-6: up
    expect(f32ToBf16(-2.5)).toBe(0xc020);
  });

  it('the tokenizer has the published special tokens: Llama 3 prepends <|begin_of_text|> 128000, Qwen none', async () => {
    const llama = await smallFiles('llama-3.2-1b');
    const t = await TextTokenizer.load(llama.files, llama.config);
    expect(t.prefix).toEqual([128000]);
    expect(t.eosIds).toContain(128001);
    expect(t.decode(t.encode('héllo, world'))).toBe('héllo, world');
    expect(t.encode('hi').every((id) => id < llama.config.vocab)).toBe(true);
    const qwen = await smallFiles('qwen3-0.6b');
    const q = await TextTokenizer.load(qwen.files, qwen.config);
    expect(q.prefix).toEqual([]);
    expect(q.eosIds).toContain(151645);
  });
});
