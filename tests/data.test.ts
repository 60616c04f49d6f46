// The shipped data and models are what their manifests say: checksums, configs, tokenizers, N.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dirFiles } from '../src/cli/files';
import { Checkpoint } from '../src/model/checkpoint';
import { nonEmbeddingParams } from '../src/model/config';
import { TextTokenizer } from '../src/model/tokenizer';

describe('public/data', () => {
  const sums = JSON.parse(readFileSync('public/data/checksums.json', 'utf8')) as Record<string, [number, string]>;
  for (const [path, [size, sha]] of Object.entries(sums)) {
    it(`${path} matches its checksum`, () => {
      const bytes = readFileSync(`public/data/${path}`);
      expect(bytes.length).toBe(size);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(sha);
    });
  }
});

describe('public/models', () => {
  const index = JSON.parse(readFileSync('public/models/index.json', 'utf8')) as {
    default: string;
    models: { name: string; n_params_non_embedding: number; arch: string }[];
  };
  it('has 4 sizes of each architecture spanning >= 30x in N, and a default', () => {
    for (const arch of ['qwen3', 'llama']) {
      const ns = index.models.filter((m) => m.arch === arch).map((m) => m.n_params_non_embedding);
      expect(ns.length).toBeGreaterThanOrEqual(4);
      expect(Math.max(...ns) / Math.min(...ns)).toBeGreaterThanOrEqual(30);
    }
    expect(index.models.some((m) => m.name === index.default)).toBe(true);
  });
  for (const m of index.models) {
    it(`${m.name}: config, tokenizer and N agree`, async () => {
      const ckpt = await Checkpoint.open(dirFiles(`public/models/${m.name}`));
      expect(ckpt.config.arch).toBe(m.arch);
      expect(nonEmbeddingParams(ckpt.config)).toBe(m.n_params_non_embedding);
      expect(ckpt.nonEmbeddingFromTensors()).toBe(m.n_params_non_embedding);
      const tok = await TextTokenizer.load(ckpt.files, ckpt.config);
      expect(tok.prefix).toEqual([0]);
      expect(tok.decode(tok.encode('A poodle is a kind of dog.'))).toBe('A poodle is a kind of dog.');
    });
  }
});
