// Ordinary least squares with the inference a paper reports: estimates, standard errors, t statistics,
// two-sided p-values and confidence intervals from Student's t with n - p - 1 degrees of freedom, R^2 and
// adjusted R^2. Solved by Householder QR (ml-matrix), never through the normal equations' inverse; the
// covariance comes from R^-1 R^-T.
import jStatModule from 'jstat';
import { CholeskyDecomposition, Matrix, QrDecomposition } from 'ml-matrix';
import { seededRandom } from '../random';

const jStat = (jStatModule as unknown as { jStat?: typeof jStatModule.jStat }).jStat ?? (jStatModule as unknown as typeof jStatModule.jStat);

export interface Coefficient {
  est: number;
  se: number;
  t: number;
  p: number;
  ci: [number, number];
}

export interface OlsResult {
  coef: Coefficient[];
  n: number;
  /** Regressors, the intercept not counted (the p of n - p - 1). */
  p: number;
  dof: number;
  r2: number;
  adjR2: number;
  fitted: number[];
  residuals: number[];
  sigma2: number;
  /** (X^T X)^-1, for the variance of a prediction. */
  xtxInv: number[][];
  /** The t quantile of the intervals (level, dof). */
  tq: number;
}

/** A prediction at regressors x0 (intercept included): the mean's confidence interval and the prediction
 *  interval of one new observation, both at the fit's level (statsmodels' mean_ci and obs_ci). */
export interface OlsPrediction {
  mean: number;
  meanCi: [number, number];
  obsCi: [number, number];
}

export function olsPredict(res: OlsResult, x0: number[]): OlsPrediction {
  const mean = x0.reduce((s, x, j) => s + x * res.coef[j].est, 0);
  let q = 0; // x0^T (X^T X)^-1 x0
  for (let i = 0; i < x0.length; i++) for (let j = 0; j < x0.length; j++) q += x0[i] * res.xtxInv[i][j] * x0[j];
  const seMean = Math.sqrt(res.sigma2 * q), seObs = Math.sqrt(res.sigma2 * (1 + q));
  return { mean, meanCi: [mean - res.tq * seMean, mean + res.tq * seMean], obsCi: [mean - res.tq * seObs, mean + res.tq * seObs] };
}

export class RankDeficientError extends Error {}

/** Adjusted R^2 = 1 - (1 - R^2)(n - 1)/(n - p - 1), p regressors besides the intercept. */
export function adjustedR2(r2: number, n: number, p: number): number {
  return 1 - ((1 - r2) * (n - 1)) / (n - p - 1);
}

/** Fits y = X b, X including the intercept column. */
export function ols(X: number[][], y: number[], level = 0.95): OlsResult {
  const n = y.length, k = X[0]?.length ?? 0;
  if (n <= k) throw new RankDeficientError(`${n} rows cannot fit ${k} coefficients: collect more configurations`);
  const A = new Matrix(X);
  const qr = new QrDecomposition(A);
  if (!qr.isFullRank()) throw new RankDeficientError('the regressors are collinear (a factor has one value, or two factors move together)');
  const b = qr.solve(Matrix.columnVector(y)).to1DArray();
  const fitted = X.map((row) => row.reduce((s, x, j) => s + x * b[j], 0));
  const residuals = y.map((v, i) => v - fitted[i]);
  const dof = n - k;
  const sse = residuals.reduce((s, r) => s + r * r, 0);
  const sigma2 = sse / dof;
  // (X^T X)^-1 = R^-1 R^-T, with R the k x k upper factor
  const R = qr.upperTriangularMatrix.subMatrix(0, k - 1, 0, k - 1);
  const Rinv = upperInverse(R.to2DArray());
  const tq = jStat.studentt.inv(1 - (1 - level) / 2, dof);
  const coef: Coefficient[] = b.map((est, j) => {
    let v = 0;
    for (let m = j; m < k; m++) v += Rinv[j][m] ** 2;
    const se = Math.sqrt(sigma2 * v);
    return coefficient(est, se, dof, tq);
  });
  const mean = y.reduce((s, v) => s + v, 0) / n;
  const sst = y.reduce((s, v) => s + (v - mean) ** 2, 0);
  const r2 = 1 - sse / sst;
  const xtxInv = Rinv.map((ri) => Rinv.map((rj) => ri.reduce((s, v, m) => s + v * rj[m], 0)));
  return { coef, n, p: k - 1, dof, r2, adjR2: adjustedR2(r2, n, k - 1), fitted, residuals, sigma2, xtxInv, tq };
}

/**
 * Two-sided p-value of Student's t. 1 - cdf loses all digits below ~1e-16, so small ones come from the
 * regularized incomplete beta function, I_{dof/(dof+t^2)}(dof/2, 1/2), whose relative error stays ~1e-7.
 */
export function tTwoSided(t: number, dof: number): number {
  const p = 2 * (1 - jStat.studentt.cdf(Math.abs(t), dof));
  return p > 1e-8 ? p : jStat.ibeta(dof / (dof + t * t), dof / 2, 0.5);
}

function coefficient(est: number, se: number, dof: number, tq: number): Coefficient {
  const t = est / se;
  return { est, se, t, p: tTwoSided(t, dof), ci: [est - tq * se, est + tq * se] };
}

/** A p-value as a paper prints it: below 1e-16 (the edge of double precision near 1) as "< 1e-16". */
export function formatP(p: number): string {
  if (!Number.isFinite(p)) return '-';
  if (p < 1e-16) return '< 1e-16';
  return p < 1e-3 ? p.toExponential(2) : p.toFixed(4);
}

/**
 * Cluster-robust inference for an OLS fit (statsmodels' cov_type="cluster" with use_t=True): the sandwich
 * (X^T X)^-1 (sum_g s_g s_g^T) (X^T X)^-1 with s_g = X_g^T u_g the score of cluster g, times the CR1 small-sample
 * factor G/(G-1) (n-1)/(n-k), and t with G - 1 degrees of freedom. Rows of one cluster (one model's
 * configurations) are not independent measurements, which the plain OLS errors assume.
 */
export interface ClusterFit {
  coef: Coefficient[];
  cov: number[][];
  clusters: number;
  dof: number;
  /** The CR1 factor. */
  correction: number;
  /** Each cluster's score X_g^T u_g, for covariances between fits on the same clusters (crossCovariance). */
  scores: Map<string, number[]>;
}

export function clusterRobust(res: OlsResult, X: number[][], clusters: string[], level = 0.95): ClusterFit {
  const k = X[0].length, n = X.length;
  const scores = new Map<string, number[]>();
  X.forEach((row, i) => {
    const s = scores.get(clusters[i]) ?? scores.set(clusters[i], new Array<number>(k).fill(0)).get(clusters[i])!;
    for (let j = 0; j < k; j++) s[j] += row[j] * res.residuals[i];
  });
  const G = scores.size;
  if (G < 2) throw new RankDeficientError('cluster-robust errors need at least 2 clusters (models)');
  const correction = (G / (G - 1)) * ((n - 1) / (n - k));
  const cov = sandwich(res.xtxInv, [...scores.values()], [...scores.values()], res.xtxInv, correction);
  const dof = G - 1;
  const tq = jStat.studentt.inv(1 - (1 - level) / 2, dof);
  const coef = res.coef.map((c, j) => coefficient(c.est, Math.sqrt(cov[j][j]), dof, tq));
  return { coef, cov, clusters: G, dof, correction, scores };
}

/** B1 (sum_g a_g b_g^T) B2^T * factor. */
function sandwich(B1: number[][], a: number[][], b: number[][], B2: number[][], factor: number): number[][] {
  const k1 = B1.length, k2 = B2.length;
  const meat = Array.from({ length: B1[0].length }, () => new Array<number>(B2[0].length).fill(0));
  a.forEach((ag, g) => ag.forEach((x, i) => b[g].forEach((y, j) => (meat[i][j] += x * y))));
  const left = new Matrix(B1).mmul(new Matrix(meat)).mmul(new Matrix(B2).transpose());
  return Array.from({ length: k1 }, (_, i) => Array.from({ length: k2 }, (_, j) => left.get(i, j) * factor));
}

/**
 * The cluster-robust covariance between the coefficients of two fits on the same clusters (as Stata's suest
 * stacks them): Cov(b1, b2) = B1 (sum_g s1_g s2_g^T) B2 with each fit's scores, times G/(G-1) and the geometric
 * mean of the two fits' (n-1)/(n-k). Clusters absent from a fit contribute no score to it.
 */
export function crossCovariance(f1: { ols: OlsResult; cluster: ClusterFit }, f2: { ols: OlsResult; cluster: ClusterFit }): number[][] {
  const ids = [...new Set([...f1.cluster.scores.keys(), ...f2.cluster.scores.keys()])];
  const zero = (k: number) => new Array<number>(k).fill(0);
  const k1 = f1.ols.coef.length, k2 = f2.ols.coef.length;
  const a = ids.map((g) => f1.cluster.scores.get(g) ?? zero(k1));
  const b = ids.map((g) => f2.cluster.scores.get(g) ?? zero(k2));
  const G = ids.length;
  const small = (f: { ols: OlsResult }) => (f.ols.n - 1) / (f.ols.n - f.ols.p - 1);
  return sandwich(f1.ols.xtxInv, a, b, f2.ols.xtxInv, (G / (G - 1)) * Math.sqrt(small(f1) * small(f2)));
}

export interface BootstrapResult {
  /** Percentile intervals per coefficient. */
  ci: [number, number][];
  /** Standard deviation of the draws per coefficient. */
  se: number[];
  draws: number;
  /** Draws that could not be fitted (e.g. every resampled model of one size: N has one value) and were redrawn. */
  redrawn: number;
}

/**
 * Cluster (pairs) bootstrap: clusters drawn with replacement, all their rows kept, the regression refitted;
 * percentile intervals of the estimates. Seeded, so a report is reproducible. Each draw sums per-cluster X^T X and
 * X^T y and solves the k x k system, so thousands of draws take milliseconds.
 */
export function clusterBootstrap(X: number[][], y: number[], clusters: string[], opts: { draws?: number; seed?: number; level?: number } = {}): BootstrapResult {
  const draws = opts.draws ?? 999, level = opts.level ?? 0.95;
  const k = X[0].length;
  const ids = [...new Set(clusters)].sort(); // the draws depend on the clusters, not on the order of the rows
  const at = new Map(ids.map((g, i) => [g, i]));
  const xtx = ids.map(() => Array.from({ length: k }, () => new Array<number>(k).fill(0)));
  const xty = ids.map(() => new Array<number>(k).fill(0));
  // each regressor's range in a cluster: a draw in which one is constant (every model of one size) cannot fit it
  const lo = ids.map(() => new Array<number>(k).fill(Infinity)), hi = ids.map(() => new Array<number>(k).fill(-Infinity));
  X.forEach((row, i) => {
    const g = at.get(clusters[i])!;
    for (let a = 0; a < k; a++) {
      xty[g][a] += row[a] * y[i];
      lo[g][a] = Math.min(lo[g][a], row[a]);
      hi[g][a] = Math.max(hi[g][a], row[a]);
      for (let c = 0; c < k; c++) xtx[g][a][c] += row[a] * row[c];
    }
  });
  const rnd = seededRandom(opts.seed ?? 20250101);
  const est: number[][] = Array.from({ length: k }, () => []);
  let redrawn = 0;
  while (est[0].length < draws) {
    if (redrawn > 20 * draws) throw new RankDeficientError('the cluster bootstrap finds almost no resample it can fit: too few clusters');
    const pick = ids.map(() => Math.floor(rnd() * ids.length));
    let degenerate = false;
    for (let a = 1; a < k && !degenerate; a++) {
      let l = Infinity, h = -Infinity;
      for (const g of pick) (l = Math.min(l, lo[g][a])), (h = Math.max(h, hi[g][a]));
      degenerate = l === h;
    }
    const A = Array.from({ length: k }, () => new Array<number>(k).fill(0)), b = new Array<number>(k).fill(0);
    for (const g of pick) {
      for (let a = 0; a < k; a++) {
        b[a] += xty[g][a];
        for (let c = 0; c < k; c++) A[a][c] += xtx[g][a][c];
      }
    }
    const chol = degenerate ? null : new CholeskyDecomposition(new Matrix(A));
    if (!chol || !chol.isPositiveDefinite()) {
      redrawn++;
      continue;
    }
    const sol = chol.solve(Matrix.columnVector(b)).to1DArray();
    if (!sol.every(Number.isFinite)) {
      redrawn++;
      continue;
    }
    sol.forEach((x, j) => est[j].push(x));
  }
  const q = (xs: number[], p: number) => {
    const h = (xs.length - 1) * p, lo = Math.floor(h);
    return xs[lo] + (h - lo) * ((xs[Math.min(lo + 1, xs.length - 1)] ?? xs[lo]) - xs[lo]);
  };
  const alpha = (1 - level) / 2;
  return {
    ci: est.map((xs) => {
      const s = [...xs].sort((a, b) => a - b);
      return [q(s, alpha), q(s, 1 - alpha)] as [number, number];
    }),
    se: est.map((xs) => {
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
    }),
    draws,
    redrawn,
  };
}

function upperInverse(R: number[][]): number[][] {
  const k = R.length;
  const X = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let c = k - 1; c >= 0; c--) {
    X[c][c] = 1 / R[c][c];
    for (let i = c - 1; i >= 0; i--) {
      let s = 0;
      for (let m = i + 1; m <= c; m++) s += R[i][m] * X[m][c];
      X[i][c] = -s / R[i][i];
    }
  }
  return X;
}
