// `quantlab fit` on the H100 family sweep (examples/): one setting at a time, held-out models and families,
// and the errors a mistyped name gets. The coefficients themselves are checked against statsmodels in tests/fit.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJsonl, resultsText, toJsonl } from '../../src/sweep/results';

const SWEEP = 'examples/family-sweep-h100.jsonl.gz';
const fit = (...args: string[]) => JSON.parse(execFileSync(process.execPath, ['bin/quantlab.mjs', 'fit', ...args, '--json'], { encoding: 'utf8' }));

describe('quantlab fit', () => {
  it('holds out a model or a whole family and scores the law on it', () => {
    const all = fit(SWEEP, '--level', 'General');
    const family = fit(SWEEP, '--level', 'General', '--holdout', 'family:llama');
    const model = fit(SWEEP, '--level', 'General', '--holdout', 'qwen3-dict-2.4m');
    expect(all.fits[0].n).toBe(384);
    expect([family.fits[0].n, family.fits[0].n_holdout]).toEqual([192, 192]);
    expect([model.fits[0].n, model.fits[0].n_holdout]).toEqual([336, 48]);
    expect(family.fits[0].mae_holdout).toBeGreaterThan(0);
  });

  it('fits the largest setting unless told, and never pools another setting into its points', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ql-fit-'));
    try {
      // the same configurations again with shared Hessians and every task failed: another experiment
      const rows = parseJsonl(await resultsText(readFileSync(SWEEP)));
      const shared = rows.filter((r) => r.model === 'qwen3-dict-74k' && r.method === 'gptq').map((r) => ({ ...r, mode: 'shared', acc: 0 }));
      const file = join(dir, 'mixed.jsonl');
      writeFileSync(file, toJsonl([...rows, ...shared]));
      const mixed = fit(file, '--level', 'General');
      expect(mixed.setting).toBe('sym,act-order,sequential,seqlen=256');
      expect(mixed.settings).toEqual([
        { setting: 'sym,act-order,sequential,seqlen=256', configurations: 384 },
        { setting: 'sym,act-order,shared,seqlen=256', configurations: 48 },
      ]);
      expect(mixed.fits[0].coef).toEqual(fit(SWEEP, '--level', 'General').fits[0].coef);
      const pooled = fit(file, '--level', 'General', '--setting', 'all');
      expect(pooled.fits[0].n + pooled.fits[0].n_dropped).toBe(384 + 48);
      const bad = spawnSync(process.execPath, ['bin/quantlab.mjs', 'fit', file, '--setting', 'shared'], { encoding: 'utf8' });
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toMatch(/no results in the setting "shared"; the results hold: "sym,act-order,sequential,seqlen=256" \(384 configurations\)/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('fits a subset of bit-widths as the study does: 3, 4 and 8 bits together, 2 bits apart, 3 bits for its surface', () => {
    const main = fit(SWEEP, '--level', 'General', '--bits', '3,4,8');
    expect(main.fits[0].n).toBe(288);
    const three = fit(SWEEP, '--level', 'General', '--bits', '3', '--published', 'qwen3');
    expect(three.fits[0].n).toBe(96);
    expect(three.fits[0].coef.beta).toBeUndefined(); // B has one value: left out
    expect(three.fits[0].notes.join()).toMatch(/B has one value/);
    expect(three.published.find((p: { level: string }) => p.level === 'General').law).toBe('qwen3-3bit-General');
    const bad = spawnSync(process.execPath, ['bin/quantlab.mjs', 'fit', SWEEP, '--bits', '5'], { encoding: 'utf8' });
    expect(bad.stderr).toMatch(/bits "5": give all or a comma list of 2, 3, 4, 8/);
  });

  it('predicts a configuration per level with 95% intervals, and says where it extrapolates', () => {
    const out = fit(SWEEP, '--predict', 'N=8B,B=3,G=64,C=128');
    expect(out.at).toEqual({ n_params: 8e9, bits: 3, group_size: 64, calib_size: 128 });
    expect(out.prediction.map((p: { level: string }) => p.level)).toEqual(['General', 'KM', 'KA', 'KR']);
    for (const p of out.prediction) {
      expect(p.pi[0]).toBeLessThan(p.ci[0]);
      expect(p.ci[0]).toBeLessThan(p.acc_adj);
      expect(p.acc_adj).toBeLessThan(p.ci[1]);
      expect(p.ci[1]).toBeLessThan(p.pi[1]);
      expect(p.outside).toEqual([{ factor: 'N', lo: 74048, hi: 2361856 }]);
    }
    const inside = fit(SWEEP, '--predict', 'N=1M,B=4,G=128,C_b=32');
    expect(inside.prediction.every((p: { outside: unknown[] }) => p.outside.length === 0)).toBe(true);
    const bad = spawnSync(process.execPath, ['bin/quantlab.mjs', 'fit', SWEEP, '--predict', 'N=1M,B=4'], { encoding: 'utf8' });
    expect(bad.stderr).toMatch(/G is missing or not a positive number/);
  });

  it('a held-out name that matches nothing is an error naming the models and families', () => {
    const r = spawnSync(process.execPath, ['bin/quantlab.mjs', 'fit', SWEEP, '--holdout', 'llama'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--holdout llama matches no configuration: models .*llama-dict-74k.*; families \(family:NAME\) llama, qwen3/);
  });
});
