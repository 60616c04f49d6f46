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
