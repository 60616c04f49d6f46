// The study's findings across knowledge levels (docs/study.md, "The published coefficients"), checked on the user's fits:
// reasoning is precision-critical (largest |beta| and delta), application is scale-responsive (largest
// |alpha|), memorisation is calibration-sensitive (largest |gamma|). Which level is "largest" is read from the
// published per-level coefficients of the chosen family, not assumed: in the Llama-3 fit the largest |gamma|
// is KR's, not KM's. A finding is judged by testing the difference between the study's level and each other
// level, not by comparing point estimates.
import jStatModule from 'jstat';
import { COEF_NAME, type Factor, FULL, type LawFit, type Level, LEVELS } from './law';
import { type Coefficient, crossCovariance, tTwoSided } from './ols';
import { findPublished, type PublishedFamily } from './published';

const jStat = (jStatModule as unknown as { jStat?: typeof jStatModule.jStat }).jStat ?? (jStatModule as unknown as typeof jStatModule.jStat);

/** The study's level's coefficient minus another level's, in the law's direction (> 0: the study's level larger). */
export interface LevelDifference {
  other: Level;
  est: number;
  se: number;
  p: number;
  ci: [number, number];
}

export interface Finding {
  claim: string;
  factor: Factor;
  coef: (typeof COEF_NAME)[Factor];
  /** The level where the published law's coefficient is largest in the law's direction. */
  studyLevel: Level;
  published: Record<Level, number>;
  /** Your coefficients per level, with the errors the verdicts use (cluster-robust or OLS). */
  yours: Partial<Record<Level, Coefficient>>;
  /** The level where your estimate is largest in the law's direction (null without all three fits). */
  yourLevel: Level | null;
  /** The study's level against each other level. */
  differences: LevelDifference[];
  /** Which errors the tests use: cluster-robust (by model, levels' covariance included) or OLS (levels independent). */
  inference: 'cluster' | 'ols';
  /**
   * 'consistent': the study's level exceeds each other level, in the law's direction, with a 95% CI of the
   * difference above zero; 'contradicted': another level significantly exceeds it; 'not significant': neither;
   * 'not fitted': a level has no fit with this factor.
   */
  verdict: 'consistent' | 'not significant' | 'contradicted' | 'not fitted';
}

const CLAIMS: { claim: string; factor: Factor }[] = [
  { claim: 'reasoning is precision-critical: bits matter most', factor: 'B' },
  { claim: 'reasoning is precision-critical: group size matters most', factor: 'G' },
  { claim: 'application is scale-responsive: model size matters most', factor: 'N' },
  { claim: 'memorisation is calibration-sensitive: calibration data matter most', factor: 'C' },
];

/** The level whose value is largest in the direction `sign` (the law's: more N, B, C_b help; larger G hurts). */
function largest(values: Partial<Record<Level, number>>, sign: number): Level | null {
  if (LEVELS.some((l) => values[l] === undefined)) return null;
  return LEVELS.reduce((best, l) => (values[l]! * sign > values[best]! * sign ? l : best));
}

function indexOf(fit: LawFit, factor: Factor): number {
  return fit.factors.indexOf(factor) + 1; // after the intercept
}

/**
 * sign * (b_s - b_o) with its standard error: cluster-robust with the two fits' covariance (their configurations
 * are the same models') and t with G - 1 dof; or, with OLS errors, as if the levels were independent.
 */
function difference(s: LawFit, o: LawFit, other: Level, factor: Factor, sign: number, inference: 'cluster' | 'ols'): LevelDifference {
  const i = indexOf(s, factor), j = indexOf(o, factor);
  const bs = s.ols.coef[i], bo = o.ols.coef[j];
  const est = sign * (bs.est - bo.est);
  let se: number, dof: number;
  if (inference === 'cluster') {
    const cov = crossCovariance({ ols: s.ols, cluster: s.cluster! }, { ols: o.ols, cluster: o.cluster! });
    se = Math.sqrt(Math.max(0, s.cluster!.cov[i][i] + o.cluster!.cov[j][j] - 2 * cov[i][j]));
    dof = Math.min(s.cluster!.dof, o.cluster!.dof);
  } else {
    se = Math.hypot(bs.se, bo.se);
    dof = Math.min(s.ols.dof, o.ols.dof);
  }
  const tq = jStat.studentt.inv(0.975, dof);
  return { other, est, se, p: tTwoSided(est / se, dof), ci: [est - tq * se, est + tq * se] };
}

/** The findings, from the full-formula fits per level (`fits`) against the published family's. */
export function findings(fits: LawFit[], family: PublishedFamily): Finding[] {
  return CLAIMS.map(({ claim, factor }) => {
    const coef = COEF_NAME[factor];
    const published = Object.fromEntries(LEVELS.map((l) => [l, findPublished(`${family}-${l}`).exps[factor]!])) as Record<Level, number>;
    const sign = Math.sign(published.KM);
    const studyLevel = largest(published, sign)!;
    const fitOf: Partial<Record<Level, LawFit>> = {};
    for (const l of LEVELS) {
      const f = fits.find((x) => x.level === l && x.formula === FULL && x.factors.includes(factor));
      if (f) fitOf[l] = f;
    }
    const all = LEVELS.every((l) => fitOf[l]);
    const inference = all && LEVELS.every((l) => fitOf[l]!.inference === 'cluster') ? 'cluster' : 'ols';
    const yours: Partial<Record<Level, Coefficient>> = {};
    for (const l of LEVELS) {
      const f = fitOf[l];
      if (f) yours[l] = (inference === 'cluster' ? f.robust : f.coef)![coef]!;
    }
    const yourLevel = largest(Object.fromEntries(Object.entries(yours).map(([l, c]) => [l, c.est])), sign);
    const differences = all ? LEVELS.filter((l) => l !== studyLevel).map((l) => difference(fitOf[studyLevel]!, fitOf[l]!, l, factor, sign, inference)) : [];
    const verdict = !all ? 'not fitted'
      : differences.every((d) => d.ci[0] > 0) ? 'consistent'
      : differences.some((d) => d.ci[1] < 0) ? 'contradicted' : 'not significant';
    return { claim, factor, coef, studyLevel, published, yours, yourLevel, differences, inference, verdict };
  });
}
