// Ordinary least squares with the inference a paper reports: estimates, standard errors, t statistics,
// two-sided p-values and confidence intervals from Student's t with n - p - 1 degrees of freedom, R^2 and
// adjusted R^2. Solved by Householder QR (ml-matrix), never through the normal equations' inverse; the
// covariance comes from R^-1 R^-T.
import jStatModule from 'jstat';
import { Matrix, QrDecomposition } from 'ml-matrix';

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
    const t = est / se;
    const p = 2 * (1 - jStat.studentt.cdf(Math.abs(t), dof));
    return { est, se, t, p, ci: [est - tq * se, est + tq * se] };
  });
  const mean = y.reduce((s, v) => s + v, 0) / n;
  const sst = y.reduce((s, v) => s + (v - mean) ** 2, 0);
  const r2 = 1 - sse / sst;
  const xtxInv = Rinv.map((ri) => Rinv.map((rj) => ri.reduce((s, v, m) => s + v * rj[m], 0)));
  return { coef, n, p: k - 1, dof, r2, adjR2: adjustedR2(r2, n, k - 1), fitted, residuals, sigma2, xtxInv, tq };
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
