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
    description: 'B in {2, 3, 4, 8} x G in {32, 64, 128, 1024} x C_b in {8, 32, 128}: the grid run on the H100 for examples/.',
    grid: { bits: [2, 3, 4, 8], groups: [32, 64, 128, 1024], calib: [8, 32, 128] },
  },
];

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
