// The study's findings across knowledge levels (../shared/docs/science.md), checked on the user's fits:
// reasoning is precision-critical (largest |beta| and delta), application is scale-responsive (largest
// |alpha|), memorisation is calibration-sensitive (largest |gamma|). Which level is "largest" is read from the
// published per-level coefficients of the chosen family, not assumed: in the Llama-3 fit the largest |gamma|
// is KR's, not KM's.
import { type Factor, FULL, type LawFit, type Level } from './law';
import type { Coefficient } from './ols';
import { findPublished, type PublishedFamily } from './published';

const LEVELS: Level[] = ['KM', 'KA', 'KR'];
const COEF = { N: 'alpha', B: 'beta', C: 'gamma', G: 'delta' } as const;

export interface Finding {
  claim: string;
  factor: Factor;
  coef: (typeof COEF)[Factor];
  /** The level where the published law's coefficient is largest in the law's direction. */
  studyLevel: Level;
  published: Record<Level, number>;
  yours: Partial<Record<Level, Coefficient>>;
  /** The level where your coefficient is largest in the law's direction (null without all three fits). */
  yourLevel: Level | null;
  /**
   * 'reproduced': your largest is at the study's level, with the study's sign, and its 95% CI excludes zero;
   * 'not significant': so, but the CI includes zero; 'not reproduced': another level or the other sign; 'not
   * fitted': a level has no fit with this factor.
   */
  verdict: 'reproduced' | 'not significant' | 'not reproduced' | 'not fitted';
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

/** The findings, from the full-formula fits per level (`fits`) against the published family's. */
export function findings(fits: LawFit[], family: PublishedFamily): Finding[] {
  return CLAIMS.map(({ claim, factor }) => {
    const coef = COEF[factor];
    const published = Object.fromEntries(LEVELS.map((l) => [l, findPublished(`${family}-${l}`).exps[factor]!])) as Record<Level, number>;
    const sign = Math.sign(published.KM);
    const studyLevel = largest(published, sign)!;
    const yours: Partial<Record<Level, Coefficient>> = {};
    for (const l of LEVELS) {
      const c = fits.find((f) => f.level === l && f.formula === FULL)?.coef[coef];
      if (c) yours[l] = c;
    }
    const yourLevel = largest(Object.fromEntries(Object.entries(yours).map(([l, c]) => [l, c.est])), sign);
    const c = yourLevel && yours[yourLevel]!;
    const verdict = !c ? 'not fitted'
      : yourLevel !== studyLevel || c.est * sign <= 0 ? 'not reproduced'
      : c.ci[0] > 0 || c.ci[1] < 0 ? 'reproduced' : 'not significant';
    return { claim, factor, coef, studyLevel, published, yours, yourLevel, verdict };
  });
}
