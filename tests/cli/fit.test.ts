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
    // the study's main fit: 3, 4 and 8 bits (2 bits apart), 6 per model x 48 less the 18 G = 128 / 1024 pairs whose
    // results were identical (one quantization counted once)
    expect(all.fits[0].n).toBe(270);
    expect(all.bits).toBe('main');
    expect(all.apart.bits).toBe('2');
    expect(all.apart.fits[0].n).toBe(90);
    expect([family.fits[0].n, family.fits[0].n_holdout]).toEqual([135, 135]);
    expect([model.fits[0].n, model.fits[0].n_holdout]).toEqual([234, 36]);
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
        { setting: 'sym,act-order,sequential,seqlen=256', configurations: 360 },
        { setting: 'sym,act-order,shared,seqlen=256', configurations: 36 },
      ]);
      expect(mixed.fits[0].coef).toEqual(fit(SWEEP, '--level', 'General').fits[0].coef);
      const pooled = fit(file, '--level', 'General', '--setting', 'all', '--bits', 'all');
      expect(pooled.fits[0].n + pooled.fits[0].n_dropped).toBe(360 + 36);
      const bad = spawnSync(process.execPath, ['bin/quantlab.mjs', 'fit', file, '--setting', 'shared'], { encoding: 'utf8' });
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toMatch(/no results in the setting "shared"; the results hold: "sym,act-order,sequential,seqlen=256" \(360 configurations\)/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('fits a subset of bit-widths as the study does: 3, 4 and 8 bits together, 2 bits apart, 3 bits for its surface', () => {
    const main = fit(SWEEP, '--level', 'General', '--bits', '3,4,8');
    expect(main.fits[0].n).toBe(270);
    expect(main.fits[0].coef).toEqual(fit(SWEEP, '--level', 'General').fits[0].coef);
    const three = fit(SWEEP, '--level', 'General', '--bits', '3', '--published', 'qwen3');
    expect(three.fits[0].n).toBe(90);
    expect(three.fits[0].coef.beta).toBeUndefined(); // B has one value: left out
    expect(three.fits[0].notes.join()).toMatch(/B has one value/);
    expect(three.published.find((p: { level: string }) => p.level === 'General').law).toBe('qwen3-3bit-General');
    const bad = spawnSync(process.execPath, ['bin/quantlab.mjs', 'fit', SWEEP, '--bits', '5'], { encoding: 'utf8' });
    expect(bad.stderr).toMatch(/bits "5": give main \(3,4,8, the study's main fit\), all, or a comma list of 2, 3, 4, 8/);
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

  it('reports cluster-robust and cluster-bootstrap errors beside OLS, says which the verdicts use, and prints tiny p-values as "< 1e-16"', () => {
    const out = fit(SWEEP, '--level', 'General');
    const f = out.fits[0];
    expect(f.clusters).toBe(8);
    expect(f.inference).toBe('cluster');
    expect(out.inference).toMatch(/^Verdicts use cluster-robust standard errors \(clustered by model, 8 models/);
    // the configurations of one model are not independent: the size exponent's error grows several-fold
    expect(f.robust.alpha.se / f.coef.alpha.se).toBeGreaterThan(2);
    expect(f.bootstrap.alpha.ci[0]).toBeLessThan(f.coef.alpha.est);
    expect(f.bootstrap.alpha.ci[1]).toBeGreaterThan(f.coef.alpha.est);
    expect(f.coef.alpha.p).toBeGreaterThan(0); // exact, not 1 - cdf rounded to 0
    const levels = fit(SWEEP);
    expect(levels.findings.map((x: { verdict: string }) => x.verdict).every((v: string) => ['consistent', 'not significant', 'contradicted'].includes(v))).toBe(true);
    expect(levels.findings.every((x: { differences: unknown[]; inference: string }) => x.differences.length === 2 && x.inference === 'cluster')).toBe(true);
    const text = execFileSync(process.execPath, ['bin/quantlab.mjs', 'fit', SWEEP, '--level', 'General'], { encoding: 'utf8' });
    expect(text).toMatch(/alpha .* OLS ± \S+ p < 1e-16/);
    expect(text).toMatch(/cluster ± \S+ p \S+ CI \[.*bootstrap ± /);
    expect(text).toMatch(/2-bit configurations, fitted apart/);
    expect(text).toMatch(/18 configurations stand for several group sizes whose results were identical/);
  });

  it('a held-out name that matches nothing is an error naming the models and families', () => {
    const r = spawnSync(process.execPath, ['bin/quantlab.mjs', 'fit', SWEEP, '--holdout', 'llama'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--holdout llama matches no configuration: models .*llama-dict-74k.*; families \(family:NAME\) llama, qwen3/);
  });
});
