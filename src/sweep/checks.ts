// The value checks both fronts run before anything starts: the CLI turns a problem into a usage error, the
// lab disables the button and shows the same sentence. One home, so the browser never runs what the CLI
// refuses (0 items per task, no calibration for GPTQ, a grid with no point).
import { gridPoints, type GridSpec, quantPointProblem } from './grid';

/** A whole number >= min (counts, sizes, seeds): null when it is, else what is wrong. */
export function wholeNumberProblem(v: number, min = 0): string | null {
  return Number.isInteger(v) && v >= min ? null : `must be a whole number >= ${min} (got ${Number.isNaN(v) ? 'nothing' : v})`;
}

/** A fraction strictly between 0 and 1 (GPTQ's dampening). */
export function fractionProblem(v: number): string | null {
  return v > 0 && v < 1 ? null : `must be a fraction between 0 and 1 (got ${Number.isNaN(v) ? 'nothing' : v})`;
}

/** Items per task (null: every item): at least one, or there is nothing to score. */
export function itemsProblem(limit: number | null | undefined): string | null {
  return limit === null || limit === undefined ? null : wholeNumberProblem(limit, 1);
}

/** GPTQ without calibration sequences has no Hessian to solve with. */
export function calibrationProblem(method: string, calib: number): string | null {
  return method === 'gptq' && calib < 1 ? 'GPTQ needs at least 1 calibration sequence (C_b 0 is only for RTN, which takes none)' : null;
}

export interface QuantizeChoice {
  method: string;
  bits: number;
  groupSize: number;
  calib: number;
  percdamp: number;
  seqLen: number;
  /** The LM head's bits and group size, where it is quantized too. */
  lmHead?: { bits: number; groupSize: number };
}

export type QuantizeField = 'point' | 'calibration' | 'damp' | 'seqLen' | 'head';

/** A problem after the name of what it is about: "--damp must be ...", "Items per task must be ...", "--calib: GPTQ needs ...". */
export function withName(name: string, problem: string): string {
  return problem.startsWith('must ') ? `${name} ${problem}` : `${name}: ${problem}`;
}

/** What stops a quantized LM head's settings from running (bits and group size as the layers'); null when nothing does. */
export function headProblem(head: { bits: number; groupSize: number } | undefined): string | null {
  return head ? quantPointProblem(head.bits, head.groupSize, 0) : null;
}

/** What stops one quantization from running, each with the field it is about (point: bits, G and C_b); [] when nothing does. */
export function quantizeProblems(q: QuantizeChoice): { field: QuantizeField; problem: string }[] {
  const out: { field: QuantizeField; problem: string }[] = [];
  const point = quantPointProblem(q.bits, q.groupSize, q.calib);
  if (point) out.push({ field: 'point', problem: point });
  const calib = calibrationProblem(q.method, q.calib);
  if (calib) out.push({ field: 'calibration', problem: calib });
  const damp = fractionProblem(q.percdamp);
  if (damp) out.push({ field: 'damp', problem: damp });
  const len = wholeNumberProblem(q.seqLen, 1);
  if (len) out.push({ field: 'seqLen', problem: len });
  const head = headProblem(q.lmHead);
  if (head) out.push({ field: 'head', problem: head });
  return out;
}

export interface SweepChoice {
  models: number;
  grid: GridSpec;
  methods: string[];
  limit: number | null | undefined;
}

/** What stops a sweep from running, in words; null when nothing does. */
export function sweepProblem(s: SweepChoice): string | null {
  if (s.models < 1) return 'choose at least one model';
  if (!s.methods.length) return 'choose a method (GPTQ or RTN)';
  let points;
  try {
    points = gridPoints(s.grid);
  } catch (e) {
    return (e as Error).message;
  }
  if (!points.length) return 'the grid has no configuration: choose at least one bit width, group size and calibration size';
  if (s.methods.includes('gptq')) {
    const p = points.find((x) => calibrationProblem('gptq', x.calib));
    if (p) return calibrationProblem('gptq', p.calib);
  }
  const items = itemsProblem(s.limit);
  return items ? `items per task ${items}` : null;
}

/** What stops an evaluation from running; null when nothing does. */
export function evalProblem(e: { tasks: string[]; limit: number | null | undefined }): string | null {
  if (!e.tasks.length) return 'choose at least one task';
  const items = itemsProblem(e.limit);
  return items ? `items per task ${items}` : null;
}
