// The built CLI (npm run build:cli) on a real-shape slice: SmolLM2-135M at full width and vocabulary, 1 layer.
// info gives the published shape and N; logits (9 MB of JSON through a pipe) and generate equal the float64
// forward pass; quantize writes its export whole or not at all (a process killed while it quantizes, or while
// it writes, leaves --out as it was); eval runs the real-model suite and a sweep runs two RTN configurations.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dirFiles, writeFolder } from '../../src/cli/files';
import { Checkpoint } from '../../src/model/checkpoint';
import { syntheticCheckpoint } from '../../src/model/synthetic';
import { TextTokenizer } from '../../src/model/tokenizer';
import { argmax, decodeFloats, forwardRef, relToRange } from '../helpers/forward-ref';

const root = mkdtempSync(join(tmpdir(), 'quantlab-slice-cli-'));
const model = join(root, 'smollm2-135m-1l');
let ckpt: Checkpoint, tok: TextTokenizer;

beforeAll(async () => {
  writeFolder(model, syntheticCheckpoint({ shape: 'smollm2-135m', layers: 1 }));
  ckpt = await Checkpoint.open(dirFiles(model));
  tok = await TextTokenizer.load(ckpt.files, ckpt.config);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const quantlab = (...args: string[]) => spawnSync(process.execPath, ['bin/quantlab.mjs', ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
const json = (r: ReturnType<typeof quantlab>) => {
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};
const weights = async (name: string) => decodeFloats(ckpt.info(name).dtype, await ckpt.bytes(name));

/** Files and sizes of a folder, and the quantization settings it records. */
const snapshot = (dir: string) => ({
  files: readdirSync(dir).sort().map((f) => `${f}:${statSync(join(dir, f)).size}`),
  quantize: readFileSync(join(dir, 'quantize_config.json'), 'utf8'),
});

describe('the CLI on the smollm2-135m slice', () => {
  it('info: the published shape, N counted from config.json and from the tensors', () => {
    const info = json(quantlab('info', '--model', model, '--json'));
    expect(info).toMatchObject({ architecture: 'LlamaForCausalLM', layers: 1, hidden_size: 576, intermediate_size: 1536, heads: 9, kv_heads: 3, head_dim: 64, vocab: 49152, tied_embeddings: true });
    // one layer: q, o 576 x 576; k, v 192 x 576; gate, up, down 576 x 1536; two norms; the final norm
    const N = 2 * 576 * 576 + 2 * 192 * 576 + 3 * 576 * 1536 + 2 * 576 + 576;
    expect(info.n_params_non_embedding).toBe(N);
    expect(info.n_params_non_embedding_from_tensors).toBe(N);
    expect(info.n_params).toBe(N + 49152 * 576);
  });

  it('logits of a text and greedy generation equal the float64 forward pass', async () => {
    const r = json(quantlab('logits', '--model', model, '--text', 'Hi there'));
    const ids = [...tok.prefix, ...tok.encode('Hi there')];
    expect(r.tokens).toEqual(ids);
    const positions = [0, ids.length - 1];
    const ref = await forwardRef(ckpt.rawConfig, weights, ids, positions);
    positions.forEach((t, i) => expect(relToRange(r.logits[t], ref[i]), `position ${t}`).toBeLessThan(1e-5));

    const g = json(quantlab('generate', '--model', model, '--prompt', 'Hi', '--max-tokens', '3', '--ignore-eos', '--json'));
    const prompt = [...tok.prefix, ...tok.encode('Hi')];
    expect(g.tokens.length).toBe(3);
    const seq = [...prompt, ...g.tokens.slice(0, 2)];
    const steps = await forwardRef(ckpt.rawConfig, weights, seq, [prompt.length - 1, prompt.length, prompt.length + 1]);
    expect(g.tokens).toEqual(steps.map(argmax));
  });

  it('quantize writes the export whole: killed while it quantizes or while it writes, --out is as it was', async () => {
    const out = join(root, 'q');
    const first = quantlab('quantize', '--model', model, '--method', 'rtn', '--bits', '4', '--group', '128', '--out', out);
    expect(first.status, first.stderr).toBe(0);
    const before = snapshot(out);
    expect(before.files.map((f) => f.split(':')[0])).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'quantize-report.json', 'quantize_config.json', 'tokenizer.json', 'tokenizer_config.json']);
    expect(json(quantlab('info', '--model', out, '--json')).quantization).toMatchObject({ bits: 4, groupSize: 128, sym: true });

    // killed while GPTQ runs (after its first linear layer)
    const gptq = spawn(process.execPath, ['bin/quantlab.mjs', 'quantize', '--model', model, '--method', 'gptq', '--bits', '3', '--calib', '1', '--seqlen', '32', '--out', out]);
    let err = '';
    gptq.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (/layer 1\/1 q /.test(err)) gptq.kill('SIGKILL'); // its progress line once q_proj is quantized
    });
    const [, sig] = await new Promise<[number | null, string | null]>((res) => gptq.on('exit', (c, s) => res([c, s])));
    expect(sig, err).toBe('SIGKILL');
    expect(snapshot(out)).toEqual(before);

    // killed as soon as it starts writing a new folder: no folder, and the next write clears what was left
    const fresh = join(root, 'q8');
    const rtn = spawn(process.execPath, ['bin/quantlab.mjs', 'quantize', '--model', model, '--method', 'rtn', '--bits', '8', '--out', fresh]);
    const watcher = watch(root, (_, name) => name?.toString().includes('q8') && rtn.kill('SIGKILL'));
    const [code2, sig2] = await new Promise<[number | null, string | null]>((res) => rtn.on('exit', (c, s) => res([c, s])));
    watcher.close();
    // killed while writing (or, on a slow tick of this process, just done): never a folder written in part
    expect(sig2 === 'SIGKILL' || code2 === 0, `exit ${code2} ${sig2}`).toBe(true);
    if (existsSync(fresh)) {
      expect(readdirSync(fresh).sort()).toEqual(before.files.map((f) => f.split(':')[0]));
      await Checkpoint.open(dirFiles(fresh)); // every header whole, every tensor the config implies
    }
    const again = quantlab('quantize', '--model', model, '--method', 'rtn', '--bits', '8', '--out', fresh);
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(fresh, 'quantize_config.json'), 'utf8')).bits).toBe(8);
    expect(readdirSync(root).filter((f) => f.includes('partial'))).toEqual([]);

    // a folder that is not an export is never replaced
    const refused = quantlab('quantize', '--model', model, '--method', 'rtn', '--out', model);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/--out: .* exists and is not a quantized checkpoint \(no quantize_config.json\)/);
    expect(existsSync(join(model, 'model.safetensors'))).toBe(true);
  });

  it('an export whose config.json gives other bits than its packed tensors: refused when it opens, naming the tensor', () => {
    const out = join(root, 'q'), bad = join(root, 'q-bad-bits');
    mkdirSync(bad);
    for (const f of readdirSync(out)) if (f !== 'config.json') linkSync(join(out, f), join(bad, f));
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    cfg.quantization_config.bits = 3;
    writeFileSync(join(bad, 'config.json'), JSON.stringify(cfg));
    const r = quantlab('info', '--model', bad);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`quantlab info: ${bad}/model.safetensors: tensor "model.layers.0.self_attn.q_proj.qweight" has shape [72,576] but config.json implies [54,576]. The weights do not belong to this config.json: re-download the checkpoint.\n`);
  });

  it('eval runs the real-model suite: one generated and one multiple-choice item', () => {
    const r = json(quantlab('eval', '--model', model, '--suite', 'real', '--tasks', 'nq_open,openbookqa', '--limit', '1', '--fewshot', '0'));
    expect(r.suite).toBe('real');
    expect(r.tasks.map((t: { task: string; items: number; fewshot: number }) => `${t.task}:${t.items}:${t.fewshot}`)).toEqual(['nq_open:1:0', 'openbookqa:1:0']);
    for (const t of r.tasks) expect([0, 1]).toContain(t.acc);
    expect(r.levels.map((l: { level: string }) => l.level)).toEqual(['KM', 'KR', 'General']);
  });

  it('a sweep of two RTN configurations writes the float baseline and both, with the slice\'s N', () => {
    const out = join(root, 'sweep.jsonl');
    const r = quantlab('sweep', '--model', model, '--methods', 'rtn', '--bits', '4,8', '--group', '128', '--calib', '0', '--tasks', 'nq_open', '--limit', '1', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((x) => `${x.method}:${x.bits}:${x.group_size}:${x.task}:${x.items}`)).toEqual(['fp:16:0:nq_open:1', 'rtn:4:128:nq_open:1', 'rtn:8:128:nq_open:1']);
    expect(new Set(rows.map((x) => x.n_params))).toEqual(new Set([ckpt.nonEmbeddingParams]));
  }, 600_000);
});
