// What scripts get from the built CLI through a pipe: JSON output larger than a pipe's buffer arrives whole,
// token ids run a checkpoint folder that has no tokenizer (as transformers runs it), and eval says which task
// suite it picked and why (from the model's provenance, not its folder name).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileSource } from '../../src/cli/files';
import { SafetensorsFile } from '../../src/model/safetensors';

/** Runs `quantlab ARGS | node -e <read all of stdin>` in a shell: the consumer reports the bytes and the JSON. */
function throughPipe(args: string[]): { status: number | null; bytes: number; json: { tokens: number[]; logits: number[][] }; stderr: string } {
  const consumer = "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{process.stdout.write(JSON.stringify({bytes:Buffer.byteLength(s),json:JSON.parse(s)}))})";
  const quoted = args.map((a) => `'${a}'`).join(' ');
  const r = spawnSync('sh', ['-c', `"${process.execPath}" bin/quantlab.mjs ${quoted} | "${process.execPath}" -e "${consumer}"`], { encoding: 'utf8', maxBuffer: 1 << 28 });
  expect(r.stdout, r.stderr).not.toBe('');
  return { status: r.status, stderr: r.stderr, ...JSON.parse(r.stdout) };
}

describe('quantlab output through a pipe', () => {
  it('logits --tokens on a folder without tokenizer files: the logits transformers gives', async () => {
    const dir = 'tests/fixtures/tiny/llama'; // no tokenizer.json: a checkpoint written by tools/golden/goldens.py
    const st = await SafetensorsFile.open(fileSource(join(dir, 'logits.safetensors')));
    const tokens = (await st.decoded('tokens')) as Int32Array;
    const want = await st.f32('logits');
    const [, T, V] = st.info('logits').shape;
    const n = (JSON.parse(st.header.metadata.lengths) as number[])[0];
    const ids = Array.from(tokens.subarray(0, n));
    const r = throughPipe(['logits', '--model', dir, '--tokens', ids.join(','), '--f16', '--weights', 'f32']); // every GPU command takes --f16
    expect(r.status, r.stderr).toBe(0);
    expect(r.json.tokens).toEqual(ids);
    let err = 0, range = 0;
    for (let t = 0; t < n; t++) {
      const row = want.subarray(t * V, (t + 1) * V);
      range = Math.max(range, Math.max(...row) - Math.min(...row));
      for (let i = 0; i < V; i++) err = Math.max(err, Math.abs(row[i] - r.json.logits[t][i]));
    }
    expect(T).toBeGreaterThanOrEqual(n);
    expect(err / range).toBeLessThan(1e-3);
    // --text needs the tokenizer: refused naming the missing file, no stack trace
    const text = spawnSync(process.execPath, ['bin/quantlab.mjs', 'logits', '--model', dir, '--text', 'hello'], { encoding: 'utf8' });
    expect(text.status).toBe(1);
    expect(text.stderr).toMatch(/has no tokenizer\.json/);
    expect(text.stderr).not.toMatch(/\n\s+at /);
  });

  it('a JSON document over 1 MiB arrives whole (the process waits for stdout to drain before it exits)', () => {
    const ids = Array.from({ length: 48 }, (_, i) => (i * 37) % 2048);
    const r = throughPipe(['logits', '--model', 'qwen3-dict-74k', '--tokens', ids.join(',')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.bytes).toBeGreaterThan(1 << 20);
    expect(r.json.logits.length).toBe(48);
    expect(r.json.logits.every((row) => row.length === 2048 && row.every(Number.isFinite))).toBe(true);
  });
});

describe('quantlab info', () => {
  it('reads as a summary (architecture, N, storage, the GPU memory it will need); JSON with --json', () => {
    const text = spawnSync(process.execPath, ['bin/quantlab.mjs', 'info', '--model', 'qwen3-dict-74k'], { encoding: 'utf8' });
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/Qwen3ForCausalLM, 2 layers, hidden 64/);
    expect(text.stdout).toMatch(/N = 74,112 non-embedding parameters/);
    expect(text.stdout).toMatch(/stored: F16/);
    expect(text.stdout).toMatch(/GPU memory to run it \(f16 float weights, 256-position KV cache\):/);
    const json = JSON.parse(spawnSync(process.execPath, ['bin/quantlab.mjs', 'info', '--model', 'qwen3-dict-74k', '--json', '--weights', 'f32'], { encoding: 'utf8' }).stdout);
    expect(json.n_params_non_embedding).toBe(74112);
    expect(json.memory.weights).toBe('f32');
    expect(json.memory.items[0].bytes).toBe(2048 * 64 * 4);
  });
});

describe('quantlab eval picks the task suite from the model, says so, and takes --suite', () => {
  const run = (model: string, ...extra: string[]) =>
    spawnSync(process.execPath, ['bin/quantlab.mjs', 'eval', '--model', model, '--tasks', 'ppl', '--ppl-windows', '1', ...extra], { encoding: 'utf8' });

  it('a bundled model (its config.json records the dictionary suite), copied under a name without "-dict-"', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'quantlab-suite-')), 'my-model');
    cpSync('public/models/qwen3-dict-74k', dir, { recursive: true, dereference: true }); // its tokenizer.json is a link to the family's one
    const r = run(dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/task suite: dict \(config\.json records task_suite "dict"/);
    expect(JSON.parse(r.stdout).perplexity[0].task).toBe('ppl_heldout_dict');
    // the same folder without the provenance field: a pretrained model, the real-data suite (WikiText-2)
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    delete cfg.quantlab;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
    const real = run(dir);
    expect(real.status, real.stderr).toBe(0);
    expect(real.stderr).toMatch(/task suite: real \(config\.json records no quantlab task suite/);
    expect(JSON.parse(real.stdout).perplexity[0].task).toBe('ppl_wikitext2_test');
    // and --suite overrides either
    const forced = run(dir, '--suite', 'dict');
    expect(forced.stderr).toMatch(/task suite: dict \(from --suite/);
    expect(JSON.parse(forced.stdout).suite).toBe('dict');
  });
});
