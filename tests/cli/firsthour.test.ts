// What a newcomer meets first in the CLI, through the built CLI (npm run build:cli): quantize says what it did in
// a few lines and keeps the per-layer report in its folder; eval and sweep measure a perplexity over the same
// windows; sweep labels RTN without a C_b; the values the lab refuses are refused here with the same words; a
// fit of one model says that N does not vary.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { PPL_WINDOWS } from '../../src/eval/run';
import { itemsProblem } from '../../src/sweep/checks';
import { parseJsonl } from '../../src/sweep/results';

const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/quantlab.mjs', ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
const tmp = () => mkdtempSync(join(tmpdir(), 'ql-first-'));

describe('quantlab quantize', () => {
  it('prints a few lines (what, time, mean and worst layer error, where), and keeps the per-layer report in the folder', () => {
    const out = join(tmp(), 'q4');
    const r = cli('quantize', '--model', 'qwen3-dict-74k', '--calib', '2', '--seqlen', '32', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(5);
    expect(lines[0]).toMatch(/^GPTQ 4-bit G=128 C_b=2 \(32 tokens each\) of \S*qwen3-dict-74k: 14 linear layers in [\d.]+ s \(calibration passes and Hessians [\d.]+ s, solves [\d.]+ s\) on /);
    // the report in the folder: every linear layer; the summary's mean and worst are its errors'
    const report = JSON.parse(readFileSync(join(out, 'quantize-report.json'), 'utf8'));
    expect(report.layers).toHaveLength(14);
    const errors: number[] = report.layers.map((l: { reconError: number }) => l.reconError);
    const worst = report.layers[errors.indexOf(Math.max(...errors))];
    const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
    expect(lines[1]).toBe(`layer error ||WX - ŴX||² / ||WX||² on the calibration inputs: mean ${mean.toExponential(2)}, worst ${Math.max(...errors).toExponential(2)} (layer ${worst.layer} ${{ q: 'self_attn.q_proj', k: 'self_attn.k_proj', v: 'self_attn.v_proj', o: 'self_attn.o_proj', gate: 'mlp.gate_proj', up: 'mlp.up_proj', down: 'mlp.down_proj' }[worst.module as string]})`);
    expect(r.stdout).toContain(`to ${out}`);
    expect(r.stdout).toContain(`per-layer report: ${join(out, 'quantize-report.json')}`);
    // the folder still loads as a checkpoint, the report beside it
    const info = cli('info', '--model', out);
    expect(info.status, info.stderr).toBe(0);
  });

  it('--json prints the per-layer report (the one it saves)', () => {
    const out = join(tmp(), 'rtn');
    const r = cli('quantize', '--model', 'qwen3-dict-74k', '--method', 'rtn', '--json', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout);
    expect(printed.layers).toHaveLength(14);
    expect(printed).toEqual(JSON.parse(readFileSync(join(out, 'quantize-report.json'), 'utf8')));
  });

  it('--lm-head-bits quantizes the LM head too: reported, written untied with its settings, and the folder generates', () => {
    const out = join(tmp(), 'head');
    const r = cli('quantize', '--model', 'qwen3-dict-74k', '--method', 'rtn', '--lm-head-bits', '4', '--lm-head-group', '64', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/LM head \(2048 x 64\): RTN, error not measured/);
    const report = JSON.parse(readFileSync(join(out, 'quantize-report.json'), 'utf8'));
    expect(report.options.lmHead).toEqual({ bits: 4, groupSize: 64, sym: true });
    expect(report.head).toMatchObject({ method: 'rtn', rows: 2048, cols: 64 });
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.tie_word_embeddings).toBe(false);
    expect(config.quantization_config.dynamic).toEqual({ lm_head: { bits: 4, group_size: 64, sym: true, desc_act: false } });
    const info = cli('info', '--model', out);
    expect(info.stdout).toMatch(/GPTQ 4-bit, group 128, .*; LM head 4-bit, group 64/);
    expect(info.stdout).toMatch(/LM head \(2048 x 64, 4-bit packed\)/);
    const gen = cli('generate', '--model', out, '--prompt', 'dog (noun):', '--max-tokens', '4', '--json');
    expect(gen.status, gen.stderr).toBe(0);
    expect(JSON.parse(gen.stdout).tokens).toHaveLength(4);
  });
});

describe('quantlab run from another folder', () => {
  it('finds the bundled models and data in its own folder, not the working directory\'s', () => {
    const away = tmp();
    const run = (...args: string[]) => spawnSync(process.execPath, [join(process.cwd(), 'bin/quantlab.mjs'), ...args], { encoding: 'utf8', cwd: away });
    const info = run('info', '--model', 'qwen3-dict-74k', '--json');
    expect(info.status, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout).hidden_size).toBe(64);
    // eval's default data (public/data): the same perplexity as from the repository
    const here = cli('eval', '--model', 'qwen3-dict-74k', '--tasks', 'ppl', '--ppl-windows', '1');
    const there = run('eval', '--model', 'qwen3-dict-74k', '--tasks', 'ppl', '--ppl-windows', '1');
    expect(there.status, there.stderr).toBe(0);
    expect(JSON.parse(there.stdout).perplexity[0].ppl).toBe(JSON.parse(here.stdout).perplexity[0].ppl);
  });
});

describe('one perplexity-window default', () => {
  it('eval and sweep measure the float model over the same windows, and say how many', () => {
    const e = cli('eval', '--model', 'qwen3-dict-74k', '--tasks', 'ppl');
    expect(e.status, e.stderr).toBe(0);
    const ppl = JSON.parse(e.stdout).perplexity[0];
    expect(ppl.windows).toBe(PPL_WINDOWS);
    expect(e.stderr).toContain(`perplexity ${ppl.ppl.toFixed(2)} on ${PPL_WINDOWS} windows of 256 tokens of heldout_dict.txt (--ppl-windows: default ${PPL_WINDOWS})`);
    const file = join(tmp(), 'r.jsonl');
    const s = cli('sweep', '--model', 'qwen3-dict-74k', '--methods', 'rtn', '--bits', '4', '--group', '128', '--calib', '0', '--tasks', 'ppl', '--out', file);
    expect(s.status, s.stderr).toBe(0);
    const float = parseJsonl(readFileSync(file, 'utf8')).find((r) => r.method === 'fp')!;
    expect(float.items).toBe(PPL_WINDOWS);
    expect(float.perplexity).toBeCloseTo(ppl.ppl, 4);
    expect(s.stderr).toMatch(new RegExp(`ppl_heldout_dict=[\\d.]+ \\(${PPL_WINDOWS} windows\\)`));
  });
});

describe('quantlab sweep', () => {
  it('labels RTN configurations without the C_b they do not use', () => {
    const r = cli('sweep', '--model', 'qwen3-dict-74k', '--methods', 'gptq,rtn', '--bits', '4', '--group', '128', '--calib', '8,32', '--dry-run', '--out', 'x.jsonl');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      'qwen3-dict-74k float baseline', 'qwen3-dict-74k GPTQ 4-bit G=128 C_b=8', 'qwen3-dict-74k GPTQ 4-bit G=128 C_b=32', 'qwen3-dict-74k RTN 4-bit G=128',
    ]);
  });
});

describe('the checks the lab shares', () => {
  it('0 items per task is refused by eval and sweep with the sentence the Evaluate and Sweep tabs show', () => {
    for (const args of [['eval', '--model', 'qwen3-dict-74k'], ['sweep', '--model', 'qwen3-dict-74k', '--dry-run', '--out', 'x.jsonl']]) {
      const r = cli(...args, '--limit', '0');
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`--limit ${itemsProblem(0)}`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(itemsProblem(0)).toBe('must be a whole number >= 1 (got 0)');
  });
  it('GPTQ without calibration is refused by sweep as by quantize', () => {
    const r = cli('sweep', '--model', 'qwen3-dict-74k', '--bits', '4', '--group', '128', '--calib', '0', '--dry-run', '--out', 'x.jsonl');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('GPTQ needs at least 1 calibration sequence');
  });
});

describe('quantlab fit of one model', () => {
  it('says N does not vary where that is why a formula cannot be fitted', () => {
    const rows = gunzipSync(readFileSync('examples/family-sweep-h100.jsonl.gz')).toString('utf8').trim().split('\n').map((l) => JSON.parse(l))
      .filter((r) => r.model === 'qwen3-dict-74k' && r.method === 'gptq' && r.bits === 3 && r.group_size === 32 && [8, 32].includes(r.calib_size));
    const file = join(tmp(), 'one.jsonl');
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const r = cli('fit', file, '--level', 'General');
    expect(r.stdout + r.stderr).toContain('N does not vary: every configuration is of one model size (qwen3-dict-74k)');
    expect(r.stdout + r.stderr).toContain('2 usable configurations cannot fit 2 coefficients at level General');
  });
});
