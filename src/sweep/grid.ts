// Sweep grids: the study's designs as presets, and custom grids. A configuration is one quantization of one
// model; the float baseline of every model runs first.
import { BIT_WIDTHS } from '../model/config';

export interface GridSpec {
  bits: number[];
  groups: number[];
  calib: number[];
  /** (bits, G, C_b) triples added to the full product (e.g. the study's 8-bit point). */
  extra?: [number, number, number][];
}

export interface Preset {
  id: string;
  label: string;
  description: string;
  grid: GridSpec;
  /** Calibration sequence length (tokens) the preset is designed for, unless the user gives one. */
  seqLen?: number;
  /** Items per task unless the user gives a limit: null = every item of every task file. */
  limit?: number | null;
}

export const PRESETS: Preset[] = [
  {
    id: 'quick',
    label: 'Quick demo',
    description: '8 configurations of the bundled model: 3 and 4 bits, G = 32 and 128, C_b = 8 and 32. Minutes on a laptop GPU.',
    grid: { bits: [3, 4], groups: [32, 128], calib: [8, 32] },
  },
  {
    id: 'study',
    label: 'Study grid',
    description: 'The study: 3 and 4 bits over C_b in {8, 32, 128, 1024} x G in {32, 64, 128, 1024}, plus 8 bits at C_b = G = 128.',
    grid: { bits: [3, 4], groups: [32, 64, 128, 1024], calib: [8, 32, 128, 1024], extra: [[8, 128, 128]] },
  },
  {
    id: 'study2',
    label: 'Study grid + 2-bit',
    description: 'The study grid and its separately fitted 2-bit configurations (2 bits collapse on small models).',
    grid: { bits: [2, 3, 4], groups: [32, 64, 128, 1024], calib: [8, 32, 128, 1024], extra: [[8, 128, 128]] },
  },
  {
    id: 'llama3',
    label: 'Llama-3 generalisation grid',
    description: 'G = 128 with C_b in {8, 32, 128, 1024}, plus C_b = 128 with G in {32, 64, 128, 1024}, at 3 and 4 bits.',
    grid: { bits: [], groups: [], calib: [], extra: [3, 4].flatMap((b) => [...[8, 32, 128, 1024].map((c) => [b, 128, c] as [number, number, number]), ...[32, 64, 1024].map((g) => [b, g, 128] as [number, number, number])]) },
  },
  {
    id: 'family',
    label: 'Family sweep (bundled models)',
    description: 'B in {2, 3, 4} x G in {32, 64, 128} x C_b in {2, 8, 32, 128} sequences of 32 tokens, plus one 8-bit point (G = 128, C_b = 128), every item of every task. '
      + 'Every G changes the quantized weights of every bundled model (G = 1024 would equal G = 128: a group as wide as a row), and C_b runs from fewer calibration tokens than the widest row has columns (a rank-deficient Hessian) to plenty.',
    grid: { bits: [2, 3, 4], groups: [32, 64, 128], calib: [2, 8, 32, 128], extra: [[8, 128, 128]] },
    seqLen: 32,
    limit: null,
  },
];

/**
 * The input widths (columns) of the matrices GPTQ quantizes in a model: q, k, v, gate and up read the hidden
 * state, o_proj the heads' outputs, down_proj the MLP's.
 */
export function quantizedWidths(cfg: { hidden: number; heads: number; headDim: number; intermediate: number }): number[] {
  return [...new Set([cfg.hidden, cfg.heads * cfg.headDim, cfg.intermediate])].sort((a, b) => a - b);
}

/**
 * Group sizes that quantize every matrix exactly as a smaller one of `groups` does (a group at least as wide as
 * every row it splits is the whole row): [G, the smaller G it equals]. Such a G adds no point to a sweep.
 */
export function sameGrouping(groups: number[], widths: number[]): [number, number][] {
  const layout = (G: number) => widths.map((w) => (G === -1 ? w : Math.min(G, w))).join(',');
  const first = new Map<string, number>();
  const out: [number, number][] = [];
  for (const G of [...groups].sort((a, b) => (a === -1 ? Infinity : a) - (b === -1 ? Infinity : b))) {
    const k = layout(G);
    if (first.has(k)) out.push([G, first.get(k)!]);
    else first.set(k, G);
  }
  return out;
}

export interface QuantPoint {
  bits: number;
  groupSize: number;
  calib: number;
}

/**
 * What stops a quantization point from running, before anything runs (null: nothing): bits outside
 * BIT_WIDTHS, a group size that is not -1 (per channel) or a multiple of 32 (the packed kernels' chunks), a
 * calibration size that is not a whole number of sequences (0: RTN's points).
 */
export function quantPointProblem(bits: number, groupSize: number, calib: number): string | null {
  if (!BIT_WIDTHS.includes(bits)) return `bit width ${bits} cannot run: the lab quantizes to ${BIT_WIDTHS.join(', ')} bits`;
  if (!(groupSize === -1 || (Number.isInteger(groupSize) && groupSize >= 32 && groupSize % 32 === 0))) return `group size ${groupSize} cannot run: give -1 (per channel) or a multiple of 32`;
  if (!(Number.isInteger(calib) && calib >= 0)) return `calibration size ${calib} cannot run: give a whole number of sequences`;
  return null;
}

/**
 * The (bits, G, C_b) points of a grid, deduplicated, sorted by C_b (calibration reuse) then bits and G; a point
 * that cannot run (quantPointProblem) is a RangeError before anything runs.
 */
export function gridPoints(g: GridSpec): QuantPoint[] {
  const pts = new Map<string, QuantPoint>();
  const add = (bits: number, groupSize: number, calib: number) => {
    const problem = quantPointProblem(bits, groupSize, calib);
    if (problem) throw new RangeError(problem);
    pts.set(`${bits}|${groupSize}|${calib}`, { bits, groupSize, calib });
  };
  for (const b of g.bits) for (const G of g.groups) for (const c of g.calib) add(b, G, c);
  for (const [b, G, c] of g.extra ?? []) add(b, G, c);
  return [...pts.values()].sort((a, b) => a.calib - b.calib || a.bits - b.bits || a.groupSize - b.groupSize);
}

export function findPreset(id: string): Preset {
  const p = PRESETS.find((x) => x.id === id);
  if (!p) throw new Error(`Unknown preset "${id}"; one of ${PRESETS.map((x) => x.id).join(', ')}`);
  return p;
}
