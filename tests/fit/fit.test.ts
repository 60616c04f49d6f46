// The fits against statsmodels (tools/golden/goldens.py fit fixtures), against the published law, and the
// older law's NLS against known parameters.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { aggregate, type FitRow, fitLaw, FORMULAS, type Point, predictLaw, predictLawInterval } from '../../src/fit/law';
import { mergeIdentical, parseSize, rowsOfBits, rowsOfSetting } from '../../src/fit/report';
import type { ResultRow } from '../../src/sweep/results';
import { findings } from '../../src/fit/findings';
import { effectiveBits, fitOlderLaw, olderLawPredict } from '../../src/fit/nls';
import { findPublished } from '../../src/fit/published';
import { seededRandom } from '../../src/random';

const rows: FitRow[] = readFileSync('tests/fixtures/fit/synthetic_rows.jsonl', 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const sm = JSON.parse(readFileSync('tests/fixtures/fit/statsmodels_fits.json', 'utf8')) as {
  level: 'KM' | 'KA' | 'KR'; formula: string; n: number; n_dropped: number; adj_r2_log: number; adj_r2_orig: number; mae_fit: number;
  coef: Record<string, { est: number; se: number; t: number; p: number; ci: [number, number] }>;
  predictions: { n_params: number; bits: number; calib_size: number; group_size: number; mean: number; mean_ci: [number, number]; obs_ci: [number, number] }[];
}[];

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe('OLS fits equal statsmodels', () => {
  for (const want of sm) {
    it(`${want.level} ${want.formula}`, () => {
      const fit = fitLaw(aggregate(rows, want.level), { level: want.level, formula: want.formula });
      expect(fit.n).toBe(want.n);
      expect(fit.n_dropped).toBe(want.n_dropped);
      for (const [name, c] of Object.entries(want.coef)) {
        const mine = fit.coef[name as keyof typeof fit.coef]!;
        expect(rel(mine.est, c.est), `${name} est`).toBeLessThan(1e-6);
        expect(rel(mine.se, c.se), `${name} se`).toBeLessThan(1e-6);
        expect(rel(mine.t, c.t), `${name} t`).toBeLessThan(1e-6);
        expect(Math.abs(mine.p - c.p), `${name} p`).toBeLessThan(1e-9 + 1e-6 * c.p);
        expect(rel(mine.ci[0], c.ci[0]), `${name} ci`).toBeLessThan(1e-6);
        expect(rel(mine.ci[1], c.ci[1]), `${name} ci`).toBeLessThan(1e-6);
      }
      expect(rel(fit.adj_r2_log, want.adj_r2_log)).toBeLessThan(1e-6);
      expect(rel(fit.adj_r2_orig, want.adj_r2_orig)).toBeLessThan(1e-6);
      expect(rel(fit.mae_fit, want.mae_fit)).toBeLessThan(1e-6);
      // statsmodels' get_prediction: the mean's CI and one new observation's, in and far outside the grid,
      // compared in the regression's space y = ln(-ln Acc_adj), where predictLawInterval's bounds come from
      // (bounds to 1e-6 of the interval's width: a bound near zero is as exact as the others)
      for (const q of want.predictions) {
        const r = predictLawInterval(fit, q);
        const y = (acc: number) => Math.log(-Math.log(acc));
        const close = (a: number, b: number, width: number) => Math.abs(a - b) < 1e-6 * (Math.abs(b) + width);
        expect(close(y(r.acc_adj), q.mean, 0), `mean at ${q.n_params}`).toBe(true);
        const [cw, pw] = [q.mean_ci[1] - q.mean_ci[0], q.obs_ci[1] - q.obs_ci[0]];
        expect([y(r.ci[1]), y(r.ci[0])].every((v, i) => close(v, q.mean_ci[i], cw)), `mean CI at ${q.n_params}`).toBe(true);
        expect([y(r.pi[1]), y(r.pi[0])].every((v, i) => close(v, q.obs_ci[i], pw)), `prediction interval at ${q.n_params}`).toBe(true);
        expect(r.pi[0] <= r.ci[0] && r.ci[0] <= r.acc_adj && r.acc_adj <= r.ci[1] && r.ci[1] <= r.pi[1]).toBe(true);
      }
    });
  }
});

// The study's grid: Qwen3 sizes; 3 and 4 bits over the full C_b x G grid; 8 bits at C_b = G = 128.
const N = [440467456, 1409410048, 3633511936, 6946075648, 13212482560, 31206298624];
function studyGrid(): Omit<Point, 'acc' | 'acc_chance' | 'acc_adj'>[] {
  const out = [];
  for (const n of N) {
    for (const bits of [3, 4]) for (const calib of [8, 32, 128, 1024]) for (const G of [32, 64, 128, 1024]) out.push({ n, bits, calib, G });
    out.push({ n, bits: 8, calib: 128, G: 128 });
  }
  return out.map((c) => ({ model: `m${c.n}`, family: 'qwen3', n_params: c.n, bits: c.bits, group_size: c.G, calib_size: c.calib, setting: '', tasks: 1 }));
}

describe('the law recovers known coefficients', () => {
  it('data from the published Qwen3 general law with small noise: exponents within their published SEs', () => {
    const law = findPublished('qwen3-General');
    const rnd = seededRandom(42);
    const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
    const pts: Point[] = studyGrid().map((p) => {
      const y = Math.log(-Math.log(predictLaw(law.A, law.exps, p))) + 0.05 * gauss();
      const adj = Math.exp(-Math.exp(y));
      return { ...p, acc: adj, acc_chance: 0, acc_adj: adj };
    });
    const fit = fitLaw(pts, { level: 'General', holdout: (p) => p.n_params === N[5] });
    expect(Math.abs(fit.coef.alpha!.est - law.exps.N!)).toBeLessThan(law.se!.N!);
    expect(Math.abs(fit.coef.beta!.est - law.exps.B!)).toBeLessThan(law.se!.B!);
    expect(Math.abs(fit.coef.gamma!.est - law.exps.C!)).toBeLessThan(law.se!.C!);
    expect(Math.abs(fit.coef.delta!.est - law.exps.G!)).toBeLessThan(law.se!.G!);
    expect(fit.adj_r2_log).toBeGreaterThan(0.9);
    expect(fit.n_holdout).toBe(33);
    expect(fit.mae_holdout!).toBeLessThan(0.05);
  });

  it('a factor with one value is left out with a note; collapsed rows are dropped and counted', () => {
    const pts: Point[] = studyGrid().filter((p) => p.calib_size === 128).map((p, i) => {
      const adj = i % 17 === 0 ? 0.005 : predictLaw(3e3, { N: -0.35, B: -1, G: 0.07 }, p) * (1 + 0.01 * Math.sin(i));
      return { ...p, acc: adj, acc_chance: 0, acc_adj: adj };
    });
    const fit = fitLaw(pts, { level: 'General' });
    expect(fit.factors).toEqual(['N', 'B', 'G']);
    expect(fit.notes.join(' ')).toMatch(/C_b has one value/);
    expect(fit.n_dropped).toBe(pts.filter((p) => p.acc_adj <= 0.01).length);
    expect(fit.n_dropped).toBeGreaterThan(0);
    expect(Object.keys(FORMULAS)).toContain(fit.formula);
  });
});

describe("the study's findings across levels", () => {
  // per-level data from the published Qwen3 laws with small noise: the findings must come out as published
  const fitsFrom = (family: 'qwen3' | 'llama3', levels: ('KM' | 'KA' | 'KR')[], noise: number) => levels.map((level) => {
    const law = findPublished(`${family}-${level}`);
    const rnd = seededRandom(7);
    const pts: Point[] = studyGrid().map((p) => {
      const adj = Math.exp(-Math.exp(Math.log(-Math.log(predictLaw(law.A, law.exps, p))) + noise * (rnd() - 0.5)));
      return { ...p, acc: adj, acc_chance: 0, acc_adj: adj };
    });
    return fitLaw(pts, { level, bootstrap: 0 });
  });

  it('data from the published Qwen3 laws are consistent with all four, at the levels the study names, by cluster-robust tests of the differences', () => {
    const f = findings(fitsFrom('qwen3', ['KM', 'KA', 'KR'], 0.01), 'qwen3');
    expect(f.map((x) => [x.factor, x.studyLevel, x.yourLevel, x.verdict])).toEqual([
      ['B', 'KR', 'KR', 'consistent'], ['G', 'KR', 'KR', 'consistent'], ['N', 'KA', 'KA', 'consistent'], ['C', 'KM', 'KM', 'consistent'],
    ]);
    expect(f[0].published).toEqual({ KM: -0.964, KA: -0.982, KR: -1.356 });
    expect(f.every((x) => x.inference === 'cluster' && x.differences.length === 2)).toBe(true);
    // KR's beta minus KM's, in the law's direction (more negative is larger): about 1.356 - 0.964
    expect(Math.abs(f[0].differences.find((d) => d.other === 'KM')!.est - 0.392)).toBeLessThan(0.02);
  });

  it('with more noise the point estimates still rank the levels as the study does, but the test says not significant', () => {
    const f = findings(fitsFrom('qwen3', ['KM', 'KA', 'KR'], 1.5), 'qwen3');
    const c = f.find((x) => x.factor === 'C')!;
    expect(c.verdict).toBe('not significant');
    expect(c.differences.some((d) => d.ci[0] < 0 && d.ci[1] > 0)).toBe(true);
  });

  it('the study level is read from the chosen family (Llama-3: the largest |gamma| is KR), and a missing level is not fitted', () => {
    expect(findings([], 'llama3').map((x) => [x.factor, x.studyLevel, x.verdict])).toEqual([
      ['B', 'KR', 'not fitted'], ['G', 'KR', 'not fitted'], ['N', 'KA', 'not fitted'], ['C', 'KR', 'not fitted'],
    ]);
    const twoLevels = findings(fitsFrom('qwen3', ['KM', 'KA'], 0.01), 'qwen3');
    expect(twoLevels.every((x) => x.verdict === 'not fitted' && x.yourLevel === null)).toBe(true);
    // Qwen3 data judged against the Llama-3 findings: calibration sensitivity lands on KM, significantly above
    // KR, where Llama-3 has it
    const cross = findings(fitsFrom('qwen3', ['KM', 'KA', 'KR'], 0.01), 'llama3');
    expect(cross.find((x) => x.factor === 'C')!.verdict).toBe('contradicted');
  });
});

describe('sizes as people write them', () => {
  it('8B, 600M, 74K, 1.5e9 and plain counts; anything else is NaN', () => {
    expect(['8B', '600m', '74K', '1.5e9', '2361600', ' 2.4 M '].map(parseSize)).toEqual([8e9, 6e8, 74e3, 1.5e9, 2361600, 2.4e6]);
    expect(['', 'B8', '8X', '-1M', '1,000'].map(parseSize).every(Number.isNaN)).toBe(true);
  });
});

describe('which results a fit pools', () => {
  const row = (o: Partial<FitRow>): FitRow => ({ model: 'm', n_params: 1e6, bits: 4, group_size: 128, calib_size: 32, task: 't1', level: 'KM', acc: 0.5, acc_chance: 0.25, setting: 'sym,act-order,sequential,seqlen=256', seed: 0, ...o });

  it('runs of one (model, B, G, C_b) in another setting or with another seed are separate points, tasks of one run are averaged', () => {
    const pts = aggregate([
      row({}), row({ task: 't2', acc: 0.75 }),
      row({ setting: 'sym,act-order,shared,seqlen=256', acc: 0.25 }),
      row({ seed: 1, acc: 1 }),
    ], 'KM');
    expect(pts.map((p) => [p.setting, p.tasks, p.acc_adj])).toEqual([
      ['sym,act-order,sequential,seqlen=256', 2, (1 / 3 + 2 / 3) / 2],
      ['sym,act-order,shared,seqlen=256', 1, 0],
      ['sym,act-order,sequential,seqlen=256', 1, 1],
    ]);
  });

  it('one setting at a time: the largest by default, any by name, all pooled; an unknown name lists those present', () => {
    const rows = [row({}), row({ bits: 3 }), row({ setting: 'asym,no-act-order,shared,seqlen=128' })];
    expect(rowsOfSetting(rows).rows).toHaveLength(2);
    expect(rowsOfSetting(rows).settings).toEqual([
      { setting: 'sym,act-order,sequential,seqlen=256', configurations: 2 },
      { setting: 'asym,no-act-order,shared,seqlen=128', configurations: 1 },
    ]);
    expect(rowsOfSetting(rows, 'asym,no-act-order,shared,seqlen=128').rows).toEqual([rows[2]]);
    expect(rowsOfSetting(rows, 'all').rows).toHaveLength(3);
    expect(() => rowsOfSetting(rows, 'sym')).toThrow(/no results in the setting "sym".*"sym,act-order,sequential,seqlen=256" \(2 configurations\).*"all"/);
  });

  it('round-to-nearest results (C_b = 0) fit without C_b, with a note saying why', () => {
    const rtn = studyGrid().filter((p) => p.calib_size === 8).map((p, i) => {
      const adj = predictLaw(3e3, { N: -0.35, B: -1, G: 0.07 }, p) * (1 + 0.02 * Math.sin(i));
      return { ...p, calib_size: 0, acc: adj, acc_chance: 0, acc_adj: adj };
    });
    const fit = fitLaw(rtn, { level: 'General' });
    expect(fit.factors).toEqual(['N', 'B', 'G']);
    expect(fit.notes).toContain('C_b has no logarithm in the data (no calibration: RTN): left out of the formula');
    expect(Math.abs(fit.coef.alpha!.est + 0.35)).toBeLessThan(0.02);
  });

  it('per-channel groups (G = -1) have no ln G: left out of the fits with G, with a note, and kept by those without', () => {
    const grid = studyGrid().map((p, i) => {
      const adj = predictLaw(3e3, { N: -0.35, B: -1, C: -0.03, G: 0.07 }, p) * (1 + 0.02 * Math.sin(i));
      return { ...p, acc: adj, acc_chance: 0, acc_adj: adj };
    });
    const perChannel = grid.filter((p) => p.group_size === 128).map((p) => ({ ...p, group_size: -1, acc_adj: p.acc_adj * 0.9 }));
    const withG = fitLaw([...grid, ...perChannel], { level: 'General' });
    const gridOnly = fitLaw(grid, { level: 'General' });
    expect(withG.n).toBe(grid.length);
    expect(withG.coef.delta!.est).toBe(gridOnly.coef.delta!.est);
    expect(withG.notes.join(' ')).toMatch(new RegExp(`${perChannel.length} configurations with no finite ln G \\(per-channel groups\\) left out`));
    const noG = fitLaw([...grid, ...perChannel], { level: 'General', formula: 'f(N,B,C_b)' });
    expect(noG.n).toBe(grid.length + perChannel.length);
    expect(Number.isFinite(noG.coef.beta!.est)).toBe(true);
    expect(fitOlderLaw([...grid, ...perChannel]).n).toBe(grid.length);
  });
});

describe('the older law by Levenberg-Marquardt', () => {
  it('B_eff examples of the study', () => {
    expect(effectiveBits(2, 16)).toBeCloseTo(3.125, 3);
    expect(effectiveBits(4, 128)).toBeCloseTo(4.156, 3);
    expect(effectiveBits(8, 1024)).toBeCloseTo(8.023, 3);
  });
  it('recovers known parameters from data with additive noise (where least squares on P and on ln P differ)', () => {
    const truth = { k: 0.02, alpha: 0.12, beta: 0.05, gamma: -0.03, delta: 0.4 };
    const rnd = seededRandom(3);
    const pts: Point[] = studyGrid().map((p) => {
      const acc = olderLawPredict(truth, p) + 0.002 * (rnd() - 0.5);
      return { ...p, acc, acc_chance: 0, acc_adj: acc };
    });
    const fit = fitOlderLaw(pts);
    for (const key of ['alpha', 'beta', 'gamma', 'delta'] as const) expect(Math.abs(fit[key] - truth[key]), key).toBeLessThan(0.01);
    expect(rel(fit.k, truth.k)).toBeLessThan(0.1);
    expect(fit.adj_r2).toBeGreaterThan(0.95);
    expect(fit.iterations).toBeGreaterThan(0);
  });
});

describe('the study\'s General score and bit-widths', () => {
  const row = (o: Partial<FitRow>): FitRow => ({ model: 'm', n_params: 1e6, bits: 4, group_size: 128, calib_size: 32, task: 't', level: 'KM', acc: 0.5, acc_chance: 0, setting: '', seed: 0, ...o });
  it('General is the mean of the three levels, however many tasks each has', () => {
    const pts = aggregate([row({ task: 'a', acc: 0.2 }), row({ task: 'b', acc: 0.4 }), row({ task: 'c', acc: 0.6 }), row({ task: 'd', level: 'KA', acc: 0.9 }), row({ task: 'e', level: 'KR', acc: 0.0 })], 'General');
    expect(pts[0].acc_adj).toBeCloseTo((0.4 + 0.9 + 0.0) / 3, 12); // not the mean of the five tasks (0.42)
    expect(pts[0].tasks).toBe(5);
  });
  it('the main fit takes 3, 4 and 8 bits; 2 bits are fitted apart', () => {
    const rs = [2, 3, 4, 8].map((bits) => row({ bits }));
    expect(rowsOfBits(rs).map((r) => r.bits)).toEqual([3, 4, 8]);
    expect(rowsOfBits(rs, 'all').map((r) => r.bits)).toEqual([2, 3, 4, 8]);
    expect(() => rowsOfBits(rs, '5')).toThrow(/give main \(3,4,8, the study's main fit\), all, or a comma list/);
  });
});

describe('configurations with identical results', () => {
  const base: ResultRow = {
    model: 'tiny', family: 'f', n_params: 74048, method: 'gptq', bits: 3, group_size: 128, calib_size: 8, seqlen: 256, sym: true, act_order: true, mode: 'sequential', seed: 0, damp: 0.05, static_groups: false, calib_text: 'calib_dict.txt', lm_head_bits: 16, lm_head_group_size: 0,
    task: 'ppl', level: '', metric: 'token_ppl@256', acc: null, acc_chance: null, acc_adj: null, stderr: null, perplexity: 20.123456789, items: 8, fewshot: 0,
    quant_seconds: 1, damp_used: 0.05, fallback: '', calib_tokens: 2048, eval_seconds: 1, adapter: 'x', lab_version: '0', created: '',
  };
  const config = (o: Partial<ResultRow>, acc: number, ppl = 20.123456789): ResultRow[] => [
    { ...base, ...o, perplexity: ppl },
    { ...base, ...o, task: 'dict_define_mc', level: 'KM', metric: 'acc_norm', acc, acc_chance: 0.25, perplexity: null, items: 100 },
  ];
  it('G = 128 and G = 1024 that measured the same everywhere are one point, with the other G noted; anything else stays', () => {
    const rows = [...config({ group_size: 128 }, 0.4), ...config({ group_size: 1024 }, 0.4), ...config({ group_size: 32 }, 0.4, 19.5), ...config({ group_size: 64, calib_size: 32 }, 0.4)];
    const { rows: kept, merged } = mergeIdentical(rows);
    expect(merged.map((m) => [m.kept.group_size, m.same_as_groups])).toEqual([[128, [1024]]]);
    expect(kept.filter((r) => r.group_size === 1024)).toEqual([]);
    expect(kept.filter((r) => r.task === 'dict_define_mc').map((r) => r.group_size)).toEqual([128, 32, 64]);
    const fit = fitLaw(aggregate(kept.filter((r) => r.level === 'KM').map((r) => ({ ...r, level: 'KM', acc: r.acc!, acc_chance: r.acc_chance!, setting: '' })), 'KM').concat(
      [2e5, 6e5, 2e6].flatMap((n, i) => [32, 64, 128].map((G, j) => ({ model: `x${n}`, family: 'f', n_params: n, bits: 3 + (j % 2), group_size: G, calib_size: 8 * (i + 1), setting: '', acc: 0.5 - 0.01 * i - 0.02 * j, acc_chance: 0.25, acc_adj: (0.25 - 0.01 * i - 0.02 * j) / 0.75, tasks: 1 })))), { level: 'KM', bootstrap: 0 });
    expect(fit.notes.join(' ')).toMatch(/1 configuration stands for several group sizes whose results were identical .*tiny 3-bit C_b=8 G=128=1024/);
  });
  it('configurations whose quantization fell back are left out of the fit, with a note', () => {
    const grid = studyGrid().map((p, i) => {
      const adj = predictLaw(3e3, { N: -0.35, B: -1, C: -0.03, G: 0.07 }, p) * (1 + 0.02 * Math.sin(i));
      return { ...p, acc: adj, acc_chance: 0, acc_adj: adj };
    });
    const fell = grid.slice(0, 5).map((p) => ({ ...p, group_size: 16 * (p.group_size / 16) + 0, calib_size: 2, acc_adj: 0.001, acc: 0.001, fell_back: true }));
    const fit = fitLaw([...grid, ...fell], { level: 'General', bootstrap: 0 });
    expect(fit.n).toBe(grid.length);
    expect(fit.notes.join(' ')).toMatch(/5 configurations whose quantization fell back .* left out/);
    expect(aggregate([{ model: 'm', n_params: 1e6, bits: 3, group_size: 32, calib_size: 8, task: 't', level: 'KM', acc: 0.5, acc_chance: 0, fallback: 'rtn x1' }], 'KM')[0].fell_back).toBe(true);
  });

  it('configurations that differ in a later identity column (dampening, the LM head) are never one point, nor are their tasks pooled', () => {
    const rows = [...config({ group_size: 128 }, 0.4), ...config({ group_size: 1024 }, 0.4), ...config({ group_size: 128, lm_head_bits: 8, lm_head_group_size: 32 }, 0.4), ...config({ group_size: 1024, damp: 0.1 }, 0.4)];
    const { rows: kept, merged } = mergeIdentical(rows);
    expect(merged.map((m) => [m.kept.group_size, m.kept.lm_head_bits, m.same_as_groups])).toEqual([[128, 16, [1024]]]);
    expect(kept).toHaveLength(6);
  });

  it('without a perplexity row equal accuracies are not taken for equal weights', () => {
    const rows = [...config({ group_size: 128 }, 0.4), ...config({ group_size: 1024 }, 0.4)].filter((r) => r.task !== 'ppl');
    expect(mergeIdentical(rows).merged).toEqual([]);
  });
});
