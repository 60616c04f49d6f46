// The study's task-stratified scaling law of post-training quantization (docs/study.md, "The law"):
//   -ln(Acc_adj) = A * N^alpha * (log2 B)^beta * (log2 C_b)^gamma * G^delta
// fitted by OLS on ln(-ln Acc_adj) = ln A + alpha ln N + beta ln log2 B + gamma ln log2 C_b + delta ln G,
// with the collapsed rows (Acc_adj <= 0.01) dropped, per knowledge level, with the ablations of Tables 1 and 5.
import { generalScore, type Level, LEVELS } from '../eval/tasks';
import { type ClusterFit, clusterBootstrap, clusterRobust, type Coefficient, ols, olsPredict, type OlsResult, adjustedR2, RankDeficientError } from './ols';

export type { Level };
export { LEVELS };
export type FitLevel = Level | 'General';
export const FIT_LEVELS: FitLevel[] = ['General', ...LEVELS];
export type Factor = 'N' | 'B' | 'C' | 'G';

/** The fields of a results-store row that the fits read. */
export interface FitRow {
  model: string;
  family?: string;
  n_params: number;
  bits: number;
  group_size: number;
  calib_size: number;
  method?: string;
  /** The run's setting (src/sweep/results.ts settingOf) and seed: rows that differ in them are different points. */
  setting?: string;
  seed?: number;
  task: string;
  level: Level;
  acc: number;
  acc_chance: number;
  /** Other group sizes of this model, B and C_b whose results were identical to this one's (mergeIdentical). */
  same_as_groups?: number[];
  /** Layers whose GPTQ fell back to a diagonal Hessian or to rounding ('' or absent: none). */
  fallback?: string;
}

/** One configuration at one level: the mean Acc_adj over the level's tasks. */
export interface Point {
  model: string;
  family: string;
  n_params: number;
  bits: number;
  group_size: number;
  calib_size: number;
  setting: string;
  acc: number;
  acc_chance: number;
  acc_adj: number;
  tasks: number;
  same_as_groups?: number[];
  /** Some layer's quantization fell back (a diagonal Hessian or plain rounding): not the configuration asked for. */
  fell_back?: boolean;
}

export const FORMULAS: Record<string, Factor[]> = {
  'f(N,B)': ['N', 'B'],
  'f(N,B,G)': ['N', 'B', 'G'],
  'f(N,B,C_b)': ['N', 'B', 'C'],
  'f(N,B,C_b,G)': ['N', 'B', 'C', 'G'],
};
export const FULL = 'f(N,B,C_b,G)';
export type CoefName = 'lnA' | 'alpha' | 'beta' | 'gamma' | 'delta';
export const COEF_NAME: Record<Factor, Exclude<CoefName, 'lnA'>> = { N: 'alpha', B: 'beta', C: 'gamma', G: 'delta' };
/**
 * The fits' configurations are clustered by model: a model's configurations share its weights and its item
 * sample, so they are not independent measurements. With at least this many models the verdicts (significance
 * marks, findings) use the cluster-robust errors; with fewer, the OLS ones, and the report says so.
 */
export const MIN_CLUSTERS = 4;
/** Cluster bootstrap draws per fit unless asked otherwise. */
export const BOOTSTRAP_DRAWS = 999;
/** A factor as the study writes it. */
export const FACTOR_NAME: Record<Factor, string> = { N: 'N', B: 'B', C: 'C_b', G: 'G' };
export const COLLAPSED = 0.01;

export function accAdj(acc: number, chance: number): number {
  return chance >= 1 ? 0 : (acc - chance) / (1 - chance);
}

type Config = Pick<Point, 'n_params' | 'bits' | 'calib_size' | 'group_size'>;

/** A factor's value in a configuration. */
export function factorValue(f: Factor, p: Config): number {
  switch (f) {
    case 'N': return p.n_params;
    case 'B': return p.bits;
    case 'C': return p.calib_size;
    case 'G': return p.group_size;
  }
}

/** ln of each factor as it enters the law: ln N, ln log2 B, ln log2 C_b, ln G. */
export function regressor(f: Factor, p: Config): number {
  const v = factorValue(f, p);
  return f === 'B' || f === 'C' ? Math.log(Math.log2(v)) : Math.log(v);
}

/** One run of a configuration: rows with this key are its tasks, averaged into one point. */
export function runKey(r: Pick<FitRow, 'model' | 'bits' | 'group_size' | 'calib_size' | 'setting' | 'seed'>): string {
  return [r.model, r.bits, r.group_size, r.calib_size, r.setting ?? '', r.seed ?? ''].join('|');
}

/**
 * Quantized configurations only (the float baseline has no B, G, C_b), averaged per level over tasks. A
 * configuration is all of its run: runs of the same (model, B, G, C_b) in another setting or with another seed
 * are separate points, never averaged into one.
 */
export function aggregate(rows: FitRow[], level: FitLevel): Point[] {
  const groups = new Map<string, FitRow[]>();
  for (const r of rows) {
    if (!(r.bits >= 2 && r.bits <= 8) || (r.method && r.method !== 'gptq')) continue;
    if (level !== 'General' && r.level !== level) continue;
    const key = runKey(r);
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(r);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return [...groups.values()].map((rs) => {
    // a level: the mean over its tasks; General: the mean of the levels (generalScore)
    const levels = LEVELS.map((l) => rs.filter((r) => r.level === l)).filter((x) => x.length);
    const over = (f: (r: FitRow) => number) => generalScore(levels.map((x) => mean(x.map(f))));
    const r0 = rs[0];
    return {
      model: r0.model, family: r0.family ?? '', n_params: r0.n_params, bits: r0.bits, group_size: r0.group_size, calib_size: r0.calib_size, setting: r0.setting ?? '',
      acc: over((r) => r.acc), acc_chance: over((r) => r.acc_chance), acc_adj: over((r) => accAdj(r.acc, r.acc_chance)), tasks: rs.length,
      ...(r0.same_as_groups?.length ? { same_as_groups: r0.same_as_groups } : {}),
      ...(rs.some((r) => r.fallback) ? { fell_back: true } : {}),
    };
  });
}

export interface LawFit {
  level: FitLevel;
  formula: string;
  /** Factors actually in the fit (a factor with one value in the data is left out). */
  factors: Factor[];
  notes: string[];
  n: number;
  n_dropped: number;
  A: number;
  coef: Partial<Record<'lnA' | 'alpha' | 'beta' | 'gamma' | 'delta', Coefficient>>;
  r2_log: number;
  adj_r2_log: number;
  adj_r2_orig: number;
  mae_fit: number;
  mae_holdout: number | null;
  n_holdout: number;
  /** Models in the fit: the clusters of the robust and bootstrap inference. */
  clusters: number;
  /** Cluster-robust (by model) coefficients, CR1 with t(G - 1); null with fewer than 2 models. */
  robust: LawFit['coef'] | null;
  cluster: ClusterFit | null;
  /** Cluster bootstrap (models resampled) percentile 95% CIs and SEs; null when not run or not possible. */
  bootstrap: Partial<Record<CoefName, { ci: [number, number]; se: number }>> | null;
  bootstrapDraws: number;
  /** Which errors the verdicts use: cluster-robust with at least MIN_CLUSTERS models, else OLS. */
  inference: 'cluster' | 'ols';
  /** The regression on ln(-ln Acc_adj), for prediction intervals (predictLawInterval). */
  ols: OlsResult;
  /** Fit rows with their prediction. */
  points: { point: Point; predicted: number }[];
  holdoutPoints: { point: Point; predicted: number }[];
}

/** Acc_adj predicted by a law: exp(-A * prod factor^exponent). */
export function predictLaw(A: number, exps: Partial<Record<Factor, number>>, p: Pick<Point, 'n_params' | 'bits' | 'calib_size' | 'group_size'>): number {
  let ln = Math.log(A);
  for (const [f, e] of Object.entries(exps) as [Factor, number][]) ln += e * regressor(f, p);
  return Math.exp(-Math.exp(ln));
}

export interface FitOptions {
  level: FitLevel;
  formula?: string;
  /** Rows held out of the fit and scored by it (e.g. the largest model, or another family). */
  holdout?: (p: Point) => boolean;
  /** Cluster bootstrap draws (default BOOTSTRAP_DRAWS; 0: none) and their seed. */
  bootstrap?: number;
  seed?: number;
}

/** The coefficient the verdicts read: cluster-robust or OLS, as the fit's `inference` says. */
export function verdictCoef(fit: LawFit, name: CoefName): Coefficient | undefined {
  return (fit.inference === 'cluster' ? fit.robust : fit.coef)?.[name];
}

/** Whether a coefficient's 95% CI excludes zero. */
export function significant(c: Coefficient | undefined): boolean {
  return !!c && (c.ci[0] > 0 || c.ci[1] < 0);
}

export function fitLaw(all: Point[], opts: FitOptions): LawFit {
  const formula = opts.formula ?? FULL;
  const wanted = FORMULAS[formula];
  if (!wanted) throw new Error(`Unknown formula ${formula}; one of ${Object.keys(FORMULAS).join(', ')}`);
  const notes: string[] = [];
  const fell = all.filter((p) => p.fell_back);
  if (fell.length) notes.push(`${fell.length} configuration${fell.length > 1 ? 's' : ''} whose quantization fell back (a diagonal Hessian or plain rounding in some layer: the row's fallback column) left out`);
  const usable = all.filter((p) => !p.fell_back);
  const fitSet = usable.filter((p) => !opts.holdout?.(p));
  const holdSet = opts.holdout ? usable.filter((p) => opts.holdout!(p)) : [];
  let kept = fitSet.filter((p) => p.acc_adj > COLLAPSED);
  const dropped = fitSet.length - kept.length;
  if (dropped) notes.push(`${dropped} collapsed configuration${dropped > 1 ? 's' : ''} (Acc_adj <= ${COLLAPSED}) dropped`);
  const factors = wanted.filter((f) => {
    const values = new Set(kept.map((p) => regressor(f, p)).filter(Number.isFinite));
    if (values.size < 2) {
      notes.push(values.size
        ? `${FACTOR_NAME[f]} has one value in the data: left out of the formula`
        : `${FACTOR_NAME[f]} has no logarithm in the data (${f === 'C' ? 'no calibration: RTN' : 'per-channel groups'}): left out of the formula`);
      return false;
    }
    // a factor whose logarithm is undefined for some configurations (per-channel groups, G = -1; C_b <= 1)
    const undefinedAt = kept.filter((p) => !Number.isFinite(regressor(f, p)));
    if (undefinedAt.length) {
      notes.push(`${undefinedAt.length} configuration${undefinedAt.length > 1 ? 's' : ''} with no finite ln ${FACTOR_NAME[f]} (${f === 'G' ? 'per-channel groups' : 'C_b <= 1'}) left out`);
      kept = kept.filter((p) => Number.isFinite(regressor(f, p)));
    }
    return true;
  });
  if (kept.length < factors.length + 2) {
    // one model: the reason to give is that N does not vary, before the count
    const ns = new Set(kept.map((p) => p.n_params));
    const fixedN = wanted.includes('N') && ns.size === 1
      ? `N does not vary: every configuration is of one model size (${[...new Set(kept.map((p) => p.model))].join(', ')}), so the law's N term cannot be fitted (results of several model sizes can); without it, `
      : '';
    throw new RankDeficientError(`${fixedN}${kept.length} usable configuration${kept.length === 1 ? '' : 's'} cannot fit ${factors.length + 1} coefficients at level ${opts.level}: run more configurations${fixedN ? ' or more model sizes' : ''}`);
  }
  const merged = kept.filter((p) => p.same_as_groups?.length)
    .sort((a, b) => a.model.localeCompare(b.model) || a.bits - b.bits || a.calib_size - b.calib_size || a.group_size - b.group_size);
  if (merged.length) {
    notes.push(`${merged.length} configuration${merged.length > 1 ? 's' : ''} stand${merged.length > 1 ? '' : 's'} for several group sizes whose results were identical (the same quantized weights: G at or above every row's width), one point each: ${merged.slice(0, 3).map((p) => `${p.model} ${p.bits}-bit C_b=${p.calib_size} G=${[p.group_size, ...p.same_as_groups!].join('=')}`).join('; ')}${merged.length > 3 ? '; ...' : ''}`);
  }
  const X = kept.map((p) => [1, ...factors.map((f) => regressor(f, p))]);
  const y = kept.map((p) => Math.log(-Math.log(p.acc_adj)));
  const res = ols(X, y);
  const names: CoefName[] = ['lnA', ...factors.map((f) => COEF_NAME[f])];
  const exps: Partial<Record<Factor, number>> = {};
  const coef: LawFit['coef'] = {};
  names.forEach((name, i) => (coef[name] = res.coef[i]));
  factors.forEach((f, i) => (exps[f] = res.coef[i + 1].est));
  const models = kept.map((p) => p.model);
  const clusters = new Set(models).size;
  let cluster: ClusterFit | null = null, robust: LawFit['coef'] | null = null, bootstrap: LawFit['bootstrap'] = null;
  const draws = opts.bootstrap ?? BOOTSTRAP_DRAWS;
  if (clusters >= 2) {
    cluster = clusterRobust(res, X, models);
    robust = {};
    names.forEach((name, i) => (robust![name] = cluster!.coef[i]));
  }
  if (clusters >= 3 && draws > 0) {
    try {
      const b = clusterBootstrap(X, y, models, { draws, seed: opts.seed });
      bootstrap = {};
      names.forEach((name, i) => (bootstrap![name] = { ci: b.ci[i], se: b.se[i] }));
    } catch (e) {
      notes.push(`no cluster bootstrap: ${(e as Error).message}`);
    }
  }
  const inference = clusters >= MIN_CLUSTERS ? 'cluster' : 'ols';
  notes.push(inference === 'cluster'
    ? `verdicts use cluster-robust errors (${clusters} models, t with ${clusters - 1} dof)`
    : `verdicts use OLS errors: ${clusters} model${clusters > 1 ? 's are' : ' is'} too few clusters for robust ones (${MIN_CLUSTERS} needed), and OLS treats each configuration as independent`);
  const A = Math.exp(res.coef[0].est);
  const points = kept.map((p) => ({ point: p, predicted: predictLaw(A, exps, p) }));
  const mean = kept.reduce((a, p) => a + p.acc_adj, 0) / kept.length;
  const sse = points.reduce((a, x) => a + (x.point.acc_adj - x.predicted) ** 2, 0);
  const sst = kept.reduce((a, p) => a + (p.acc_adj - mean) ** 2, 0);
  const heldKept = holdSet.filter((p) => p.acc_adj > COLLAPSED && factors.every((f) => Number.isFinite(regressor(f, p))));
  const holdoutPoints = heldKept.map((p) => ({ point: p, predicted: predictLaw(A, exps, p) }));
  const mae = (xs: { point: Point; predicted: number }[]) => xs.reduce((a, x) => a + Math.abs(x.point.acc_adj - x.predicted), 0) / xs.length;
  return {
    level: opts.level, formula, factors, notes, n: kept.length, n_dropped: dropped, A, coef,
    r2_log: res.r2, adj_r2_log: res.adjR2, adj_r2_orig: adjustedR2(1 - sse / sst, kept.length, factors.length),
    mae_fit: mae(points), mae_holdout: holdoutPoints.length ? mae(holdoutPoints) : null, n_holdout: holdoutPoints.length,
    clusters, robust, cluster, bootstrap, bootstrapDraws: bootstrap ? draws : 0, inference,
    ols: res, points, holdoutPoints,
  };
}

/** The factors of the fit whose value at `p` lies outside the range the fit saw, with that range. */
export function outsideFit(fit: LawFit, p: Config): { factor: Factor; lo: number; hi: number }[] {
  return fit.factors.flatMap((factor) => {
    const seen = fit.points.map((x) => factorValue(factor, x.point));
    const lo = Math.min(...seen), hi = Math.max(...seen), v = factorValue(factor, p);
    return v < lo || v > hi ? [{ factor, lo, hi }] : [];
  });
}

/**
 * The fitted law's Acc_adj at a configuration with 95% intervals, from the regression on ln(-ln Acc_adj)
 * mapped back (Acc_adj = exp(-exp(y)) falls as y rises, so the bounds swap): `ci` for the law's mean at that
 * configuration, `pi` for one new measurement of it. Both widen away from the fitted N, B, C_b and G.
 */
export function predictLawInterval(fit: LawFit, p: Config): { acc_adj: number; ci: [number, number]; pi: [number, number] } {
  const r = olsPredict(fit.ols, [1, ...fit.factors.map((f) => regressor(f, p))]);
  const back = (y: number) => Math.exp(-Math.exp(y));
  return { acc_adj: back(r.mean), ci: [back(r.meanCi[1]), back(r.meanCi[0])], pi: [back(r.obsCi[1]), back(r.obsCi[0])] };
}

/** The ablations of the study's Tables 1 and 5, for each level that has data. Failures become notes. */
export function fitAll(rows: FitRow[], opts: { levels?: FitLevel[]; formulas?: string[]; holdout?: (p: Point) => boolean; bootstrap?: number } = {}): { fits: LawFit[]; errors: string[] } {
  const fits: LawFit[] = [], errors: string[] = [];
  for (const level of opts.levels ?? FIT_LEVELS) {
    const pts = aggregate(rows, level);
    if (!pts.length) continue;
    for (const formula of opts.formulas ?? Object.keys(FORMULAS)) {
      try {
        fits.push(fitLaw(pts, { level, formula, holdout: opts.holdout, bootstrap: opts.bootstrap }));
      } catch (e) {
        errors.push(`${level} ${formula}: ${(e as Error).message}`);
      }
    }
  }
  return { fits, errors };
}
