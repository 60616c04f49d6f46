// The study's older law, an alternative model fitted by non-linear least squares on raw accuracy:
//   P = k * N^alpha * (ln C_b)^beta * G^gamma * (ln B_eff)^delta,   B_eff = B + (16 + B) / G
// (B_eff counts the fp16 scale and the B-bit zero of each group.) Levenberg-Marquardt (ml-levenberg-marquardt),
// started from the log-linear OLS fit.
import { levenbergMarquardt } from 'ml-levenberg-marquardt';
import type { Point } from './law';
import { adjustedR2, ols } from './ols';

export function effectiveBits(bits: number, groupSize: number): number {
  return bits + (16 + bits) / groupSize;
}

export interface NlsFit {
  k: number;
  alpha: number;
  beta: number;
  gamma: number;
  delta: number;
  n: number;
  r2: number;
  adj_r2: number;
  iterations: number;
}

export function olderLawPredict(f: Pick<NlsFit, 'k' | 'alpha' | 'beta' | 'gamma' | 'delta'>, p: Pick<Point, 'n_params' | 'bits' | 'calib_size' | 'group_size'>): number {
  return f.k * p.n_params ** f.alpha * Math.log(p.calib_size) ** f.beta * p.group_size ** f.gamma * Math.log(effectiveBits(p.bits, p.group_size)) ** f.delta;
}

/** Fits P (raw accuracy) of the given points. */
export function fitOlderLaw(points: Point[]): NlsFit {
  const logs = (p: Point) => [Math.log(p.n_params), Math.log(Math.log(p.calib_size)), Math.log(p.group_size), Math.log(Math.log(effectiveBits(p.bits, p.group_size)))];
  // configurations where a factor's logarithm is undefined (per-channel groups, C_b <= 1) are left out
  const pts = points.filter((p) => p.acc > 0 && logs(p).every(Number.isFinite));
  if (pts.length < 7) throw new Error(`${pts.length} configurations cannot fit the 5 parameters of the older law`);
  // Start from ln P = ln k + alpha ln N + beta ln ln C + gamma ln G + delta ln ln B_eff
  const start = ols(pts.map((p) => [1, ...logs(p)]), pts.map((p) => Math.log(p.acc))).coef.map((c) => c.est);
  // ln k is optimised instead of k: the parameters then share a scale
  const model = ([lnk, a, b, g, d]: number[]) => (i: number) => {
    const [ln, lc, lg, lb] = logs(pts[i]);
    return Math.exp(lnk + a * ln + b * lc + g * lg + d * lb);
  };
  const res = levenbergMarquardt(
    { x: pts.map((_, i) => i), y: pts.map((p) => p.acc) },
    model,
    { initialValues: start, maxIterations: 500, errorTolerance: 1e-12, gradientDifference: 1e-6, centralDifference: true, damping: 1e-3 },
  );
  const [lnk, alpha, beta, gamma, delta] = res.parameterValues;
  const fit = { k: Math.exp(lnk), alpha, beta, gamma, delta };
  const mean = pts.reduce((a, p) => a + p.acc, 0) / pts.length;
  const sse = pts.reduce((a, p) => a + (p.acc - olderLawPredict(fit, p)) ** 2, 0);
  const sst = pts.reduce((a, p) => a + (p.acc - mean) ** 2, 0);
  const r2 = 1 - sse / sst;
  return { ...fit, n: pts.length, r2, adj_r2: adjustedR2(r2, pts.length, 4), iterations: res.iterations };
}
