// Through the built CLI (npm run build:cli): a sweep resumed with another --damp runs its GPTQ configuration
// again instead of counting it as done (the damping is part of the configuration's identity), and a results file
// written before the damping was recorded still counts as done for a sweep with the default damping.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { QUANTIZE_DEFAULTS } from '../../src/quant/settings';
import { configId, parseJsonl } from '../../src/sweep/results';

const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/quantlab.mjs', ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
// the cheapest GPTQ sweep there is: one point, 8 calibration sequences of 32 tokens, one perplexity window
const SWEEP = ['sweep', '--model', 'qwen3-dict-74k', '--methods', 'gptq', '--bits', '4', '--group', '128', '--calib', '8', '--seqlen', '32', '--tasks', 'ppl', '--ppl-windows', '1'];

describe('quantlab sweep --damp', () => {
  it('a resumed sweep with another damping runs the configuration again; rows written before damping was recorded count as the default', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ql-damp-'));
    const out = join(dir, 'results.jsonl');
    const first = cli(...SWEEP, '--out', out);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toContain('2 configuration(s) run, 0 already done');

    const other = QUANTIZE_DEFAULTS.percdamp * 2;
    const second = cli(...SWEEP, '--damp', String(other), '--out', out);
    expect(second.status, second.stderr).toBe(0);
    // the float baseline is done; the GPTQ configuration with the other damping is not
    expect(second.stderr).toContain('1 configuration(s) run, 1 already done');
    const rows = parseJsonl(readFileSync(out, 'utf8'));
    const gptq = rows.filter((r) => r.method === 'gptq');
    expect(gptq.map((r) => r.damp)).toEqual([QUANTIZE_DEFAULTS.percdamp, other]);
    // the dampening each quantization started from (no layer needed more here)
    expect(gptq.map((r) => r.damp_used)).toEqual([QUANTIZE_DEFAULTS.percdamp, other]);
    expect(new Set(rows.map(configId)).size).toBe(3);

    // the first run's rows as a results file of before: without the damping, static groups and calibration text
    const old = join(dir, 'old.jsonl');
    const stripped = rows.slice(0, 2).map(({ damp: _d, static_groups: _s, calib_text: _c, ...r }) => JSON.stringify(r));
    writeFileSync(old, stripped.join('\n') + '\n');
    const resumed = cli(...SWEEP, '--out', old);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('0 configuration(s) run, 2 already done');
  });
});

describe('quantlab sweep --lm-head-bits', () => {
  it('quantizes every configuration\'s LM head as quantize does, records it in the rows, and resumes by it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ql-head-'));
    const out = join(dir, 'results.jsonl');
    const rtn = ['sweep', '--model', 'qwen3-dict-74k', '--methods', 'rtn', '--bits', '4', '--group', '128', '--calib', '0', '--tasks', 'ppl', '--ppl-windows', '1'];
    const head = ['--lm-head-bits', '2', '--lm-head-group', '32'];
    const first = cli(...rtn, ...head, '--out', out);
    expect(first.status, first.stderr).toBe(0);
    const rows = parseJsonl(readFileSync(out, 'utf8'));
    const q = rows.find((r) => r.method === 'rtn')!;
    expect(q).toMatchObject({ lm_head_bits: 2, lm_head_group_size: 32 });
    // the float baseline's head is float, whatever the sweep quantizes
    expect(rows.find((r) => r.method === 'fp')).toMatchObject({ lm_head_bits: 16, lm_head_group_size: 0 });

    // the same quantization through quantize and eval (export, load, evaluate): the same perplexity
    const ckpt = join(dir, 'q');
    const quantize = cli('quantize', '--model', 'qwen3-dict-74k', '--method', 'rtn', '--bits', '4', '--group', '128', '--calib', '0', ...head, '--out', ckpt);
    expect(quantize.status, quantize.stderr).toBe(0);
    const ev = cli('eval', '--model', ckpt, '--tasks', 'ppl', '--ppl-windows', '1');
    expect(ev.status, ev.stderr).toBe(0);
    expect(q.perplexity).toBeCloseTo(JSON.parse(ev.stdout).perplexity[0].ppl, 3);

    // resumed with the head: done; without it: the float-head configuration is another one, and a 2-bit head costs perplexity
    const again = cli(...rtn, ...head, '--out', out);
    expect(again.stderr).toContain('0 configuration(s) run, 2 already done');
    const plain = cli(...rtn, '--out', out);
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stderr).toContain('1 configuration(s) run, 1 already done');
    const floatHead = parseJsonl(readFileSync(out, 'utf8')).filter((r) => r.method === 'rtn').find((r) => r.lm_head_bits === 16)!;
    expect(q.perplexity!).toBeGreaterThan(floatHead.perplexity! * 1.01);

    // GPTQ with shared Hessians (the head's among them, from the float model): the same as quantize --mode shared
    const shared = ['--methods', 'gptq', '--bits', '4', '--group', '128', '--calib', '8', '--seqlen', '32', '--mode', 'shared', ...head];
    const sweepShared = cli('sweep', '--model', 'qwen3-dict-74k', ...shared, '--tasks', 'ppl', '--ppl-windows', '1', '--out', join(dir, 'shared.jsonl'));
    expect(sweepShared.status, sweepShared.stderr).toBe(0);
    const g = parseJsonl(readFileSync(join(dir, 'shared.jsonl'), 'utf8')).find((r) => r.method === 'gptq')!;
    expect(g).toMatchObject({ mode: 'shared', lm_head_bits: 2, lm_head_group_size: 32 });
    const qShared = cli('quantize', '--model', 'qwen3-dict-74k', ...shared.filter((a) => a !== '--methods' && a !== 'gptq'), '--out', join(dir, 'qs'));
    expect(qShared.status, qShared.stderr).toBe(0);
    const evShared = cli('eval', '--model', join(dir, 'qs'), '--tasks', 'ppl', '--ppl-windows', '1');
    expect(g.perplexity).toBeCloseTo(JSON.parse(evShared.stdout).perplexity[0].ppl, 3);

    const bad = cli(...rtn, '--lm-head-bits', '5', '--dry-run', '--out', out);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--lm-head-bits / --lm-head-group');
  });
});
