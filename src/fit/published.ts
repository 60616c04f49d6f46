// The study's published fits (docs/study.md, "The published coefficients"), as presets to predict with on the user's data.
import type { Factor, FitLevel } from './law';
import { predictLaw } from './law';

export interface PublishedLaw {
  id: string;
  label: string;
  level: FitLevel;
  A: number;
  exps: Partial<Record<Factor, number>>;
  adjR2Orig?: number;
  /** Published standard errors / 95% CIs where the paper gives them. */
  se?: Partial<Record<Factor, number>>;
  ci?: Partial<Record<Factor, [number, number]>>;
}

const q = (level: FitLevel, A: number, a: number, b: number, c: number, d: number, adjR2Orig?: number): PublishedLaw => ({
  id: `qwen3-${level}`, label: `Qwen3 ${level}`, level, A, exps: { N: a, B: b, C: c, G: d }, adjR2Orig,
});
const l = (level: FitLevel, A: number, a: number, b: number, c: number, d: number, adjR2Orig?: number): PublishedLaw => ({
  id: `llama3-${level}`, label: `Llama-3 ${level}`, level, A, exps: { N: a, B: b, C: c, G: d }, adjR2Orig,
});

/** The model families the study published coefficients for. */
export const PUBLISHED_FAMILIES = ['qwen3', 'llama3'] as const;
export type PublishedFamily = (typeof PUBLISHED_FAMILIES)[number];

export const PUBLISHED: PublishedLaw[] = [
  {
    ...q('General', 3.98e3, -0.359, -1.067, -0.032, 0.073, 0.9475),
    se: { N: 0.008, B: 0.062, C: 0.021, G: 0.007 },
    ci: { N: [-0.374, -0.344], B: [-1.189, -0.944], C: [-0.073, 0.008], G: [0.06, 0.087] },
  },
  { ...q('KM', 2.08e3, -0.315, -0.964, -0.04, 0.064, 0.935), ci: { C: [-0.078, -0.002] } },
  { ...q('KA', 7.37e3, -0.409, -0.982, -0.023, 0.069, 0.9626), ci: { C: [-0.063, 0.016] } },
  q('KR', 1.27e4, -0.405, -1.356, -0.034, 0.087, 0.9218),
  l('General', 2.91e3, -0.333, -1.501, -0.056, 0.072, 0.9595),
  l('KM', 5.32e2, -0.249, -1.596, -0.06, 0.074),
  l('KA', 2.19e4, -0.447, -1.462, -0.045, 0.073),
  l('KR', 9.66e3, -0.373, -1.645, -0.071, 0.08),
  // The 3-bit-only general fit of the surface figure: Acc_adj = exp[-966.56 N^-0.322 (log2 C_b)^-0.103 G^0.117]
  { id: 'qwen3-3bit-General', label: 'Qwen3 3-bit surface', level: 'General', A: 966.56, exps: { N: -0.322, C: -0.103, G: 0.117 }, adjR2Orig: 0.97 },
];

/** The published ablations of Table 1 (Qwen3, General), for side-by-side display. */
export const PUBLISHED_ABLATIONS: Record<string, { A: number; alpha: number; beta: number; gamma?: number; delta?: number; adjR2Log: number; adjR2Orig: number }> = {
  'f(N,B)': { A: 5.39e3, alpha: -0.359, beta: -1.071, adjR2Log: 0.9038, adjR2Orig: 0.9125 },
  'f(N,B,G)': { A: 3.77e3, alpha: -0.359, beta: -1.071, delta: 0.073, adjR2Log: 0.942, adjR2Orig: 0.9466 },
  'f(N,B,C_b)': { A: 5.69e3, alpha: -0.359, beta: -1.067, gamma: -0.032, adjR2Log: 0.9041, adjR2Orig: 0.9131 },
  'f(N,B,C_b,G)': { A: 3.98e3, alpha: -0.359, beta: -1.067, gamma: -0.032, delta: 0.073, adjR2Log: 0.9425, adjR2Orig: 0.9475 },
};

/**
 * The published law to compare a fit with: the family's at this level, or where the fit's configurations are
 * all 3-bit and the level is General, the study's 3-bit surface fit (Qwen3 only).
 */
export function publishedFor(family: PublishedFamily, level: FitLevel, bits: number[]): PublishedLaw | undefined {
  if (family === 'qwen3' && level === 'General' && bits.length === 1 && bits[0] === 3) return findPublished('qwen3-3bit-General');
  return PUBLISHED.find((x) => x.id === `${family}-${level}`);
}

export function findPublished(id: string): PublishedLaw {
  const p = PUBLISHED.find((x) => x.id === id);
  if (!p) throw new Error(`No published law "${id}"; have ${PUBLISHED.map((x) => x.id).join(', ')}`);
  return p;
}

export function predictPublished(law: PublishedLaw, p: { n_params: number; bits: number; calib_size: number; group_size: number }): number {
  return predictLaw(law.A, law.exps, p);
}
