// Honest uncertainty: cluster-robust (by model) errors against statsmodels' cov_type="cluster" (fixtures from
// tools/golden/cluster_fits.py), the cross-level covariance the findings test uses, p-values far below 1e-16,
// the cluster bootstrap, and a simulation where configurations of one model share an error: OLS intervals
// are too narrow there and the cluster-robust ones are not.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { aggregate, type CoefName, type FitRow, fitLaw, type Point, predictLaw } from '../../src/fit/law';
import { clusterBootstrap, crossCovariance, formatP, tTwoSided } from '../../src/fit/ols';
import { seededRandom } from '../../src/random';

const rows: FitRow[] = readFileSync('tests/fixtures/fit/synthetic_rows.jsonl', 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const sm = JSON.parse(readFileSync('tests/fixtures/fit/statsmodels_cluster_fits.json', 'utf8')) as {
  fits: { level: 'KM' | 'KA' | 'KR'; formula: string; n: number; clusters: number; df_t: number; cov: number[][]; coef: Record<string, { est: number; se: number; t: number; p: number; ci: [number, number] }> }[];
  cross: { formula: string; levels: ['KM', 'KR']; cov: number[][] }[];
};
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
const fitOf = (level: 'KM' | 'KA' | 'KR', formula: string) => fitLaw(aggregate(rows, level), { level, formula, bootstrap: 0 });

describe('cluster-robust errors equal statsmodels (cov_type="cluster", use_t=True)', () => {
  for (const want of sm.fits) {
    it(`${want.level} ${want.formula}`, () => {
      const fit = fitOf(want.level, want.formula);
      expect(fit.n).toBe(want.n);
      expect(fit.clusters).toBe(want.clusters);
      expect(fit.cluster!.dof).toBe(want.df_t);
      for (const [name, c] of Object.entries(want.coef)) {
        const mine = fit.robust![name as CoefName]!;
        expect(rel(mine.est, c.est), `${name} est`).toBeLessThan(1e-6);
        expect(rel(mine.se, c.se), `${name} se`).toBeLessThan(1e-6);
        expect(rel(mine.t, c.t), `${name} t`).toBeLessThan(1e-6);
        expect(rel(mine.p, c.p), `${name} p`).toBeLessThan(1e-6);
        expect(rel(mine.ci[0], c.ci[0]), `${name} ci`).toBeLessThan(1e-6);
        expect(rel(mine.ci[1], c.ci[1]), `${name} ci`).toBeLessThan(1e-6);
      }
      want.cov.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(fit.cluster!.cov[i][j] - v), `cov ${i},${j}`).toBeLessThan(1e-6 * Math.abs(want.cov[i][i] * want.cov[j][j]) ** 0.5)));
      expect(fit.inference).toBe('cluster'); // 6 models
    });
  }

  for (const want of sm.cross) {
    it(`covariance between the KM and KR fits' coefficients, ${want.formula}`, () => {
      const [a, b] = [fitOf('KM', want.formula), fitOf('KR', want.formula)];
      const cov = crossCovariance({ ols: a.ols, cluster: a.cluster! }, { ols: b.ols, cluster: b.cluster! });
      want.cov.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(cov[i][j] - v)).toBeLessThan(1e-6 * Math.abs(a.cluster!.cov[i][i] * b.cluster!.cov[j][j]) ** 0.5)));
    });
  }
});

describe('p-values', () => {
  it('keep their digits far below 1e-16 (scipy.stats.t.sf) and print as "< 1e-16" there', () => {
    expect(rel(tTwoSided(40, 100), 2.462107602140071e-63)).toBeLessThan(1e-6);
    expect(rel(tTwoSided(-2, 100), 0.04821217873113365)).toBeLessThan(1e-7);
    expect(rel(tTwoSided(9, 7), 4.265700921124329e-5)).toBeLessThan(1e-6);
    expect(formatP(2.46e-63)).toBe('< 1e-16');
    expect(formatP(3.2e-9)).toBe('3.20e-9');
    expect(formatP(0.0482)).toBe('0.0482');
  });
});

// Configurations of 8 models; each model's measurements share an error (its item sample, its weights), as a
// sweep's do: y = law + u_model + e.
function clustered(seed: number) {
  const rnd = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const pts: Point[] = [];
  for (const n of [7e4, 3e5, 8e5, 2.4e6, 7.5e4, 3.1e5, 7.9e5, 2.3e6]) {
    const u = 0.3 * gauss();
    for (const bits of [3, 4, 8]) for (const G of [32, 64, 128]) for (const calib of [8, 32, 128]) {
      const p = { model: `m${n}`, family: 'f', n_params: n, bits, group_size: G, calib_size: calib, setting: '', tasks: 1 };
      const adj = Math.exp(-Math.exp(Math.log(-Math.log(predictLaw(40, { N: -0.25, B: -0.5, C: -0.05, G: 0.02 }, p))) + u + 0.05 * gauss()));
      pts.push({ ...p, acc: adj, acc_chance: 0, acc_adj: adj });
    }
  }
  return pts;
}

describe('clustered measurements', () => {
  it('OLS intervals of the size exponent miss the truth far more often than the cluster-robust ones', () => {
    let olsCover = 0, robustCover = 0;
    const runs = 200;
    for (let s = 0; s < runs; s++) {
      const fit = fitLaw(clustered(s), { level: 'General', bootstrap: 0 });
      const inside = (ci: [number, number]) => ci[0] <= -0.25 && -0.25 <= ci[1];
      olsCover += inside(fit.coef.alpha!.ci) ? 1 : 0;
      robustCover += inside(fit.robust!.alpha!.ci) ? 1 : 0;
    }
    expect(olsCover / runs).toBeLessThan(0.5);
    expect(robustCover / runs).toBeGreaterThan(0.85);
  });

  it('the cluster bootstrap: reproducible from its seed, its interval about the cluster-robust one', () => {
    const fit = fitLaw(clustered(1), { level: 'General', bootstrap: 999, seed: 7 });
    const again = fitLaw(clustered(1), { level: 'General', bootstrap: 999, seed: 7 });
    expect(again.bootstrap).toEqual(fit.bootstrap);
    const b = fit.bootstrap!.alpha!, r = fit.robust!.alpha!;
    expect(b.ci[0]).toBeLessThan(fit.coef.alpha!.est);
    expect(b.ci[1]).toBeGreaterThan(fit.coef.alpha!.est);
    expect(b.se / r.se).toBeGreaterThan(0.5);
    expect(b.se / r.se).toBeLessThan(2);
    expect(b.se).toBeGreaterThan(3 * fit.coef.alpha!.se); // the OLS error is far too small here
  });

  it('the bootstrap redraws resamples it cannot fit (every model of one size) and counts them', () => {
    const X = [[1, 0], [1, 0], [1, 1], [1, 1]], y = [0, 0.1, 1, 1.1];
    const r = clusterBootstrap(X, y, ['a', 'a', 'b', 'b'], { draws: 50, seed: 3 });
    expect(r.draws).toBe(50);
    expect(r.redrawn).toBeGreaterThan(0); // half the draws pick one model twice: x has one value
    expect(r.ci[1][0]).toBeCloseTo(1, 10); // every fittable draw has both models: the slope is exact
  });

  it('with fewer than 4 models the verdicts use OLS errors, and the notes say so', () => {
    const three = clustered(2).filter((p) => ['m70000', 'm300000', 'm2400000'].includes(p.model));
    const fit = fitLaw(three, { level: 'General', bootstrap: 0 });
    expect(fit.clusters).toBe(3);
    expect(fit.inference).toBe('ols');
    expect(fit.notes.join(' ')).toMatch(/verdicts use OLS errors: 3 models are too few clusters/);
  });
});
