// What a model will need on the GPU, worked out from its config before anything is allocated: the float or packed
// weights in the chosen storage, the KV cache at a context, a pass's activations, and GPTQ's Hessians, workspaces
// and calibration stream. Checked against the adapter's per-buffer limits (exact) and, where the caller knows one,
// a total budget; a plan that cannot fit is refused with the setting that would make it fit.
import { QuantlabError } from '../errors';
import type { ModelConfig } from './config';
import { qweightWords, zeroWords } from './formats';
import { formatBytes } from '../progress';

export interface MemoryOptions {
  /** Float weights in f16 or f32 (src/model/weights.ts); ignored for layers stored packed. */
  weights: 'f16' | 'f32';
  /** GPTQ-packed linear layers (a GPTQ checkpoint, or the result of quantizing): bits and group size. */
  packed?: PackedSettings;
  /**
   * Each layer's linears (q, k, v, o, gate, up, down) packed at their own settings, null where left float: a
   * checkpoint whose GPTQModel `dynamic` gives some modules other settings. Replaces `packed` for the layers.
   */
  packedLayers?: (PackedSettings | null)[][];
  /** A GPTQ-packed LM head (GPTQModel's lm_head), apart from the embedding. */
  packedHead?: { bits: number; groupSize: number };
  /** Positions of the KV cache (generation). */
  context: number;
  /** Rows of the largest pass (batch x sequence). */
  passRows: number;
  /** Quantizing: calibration tokens (C_b x seqlen), rows per pass, sequential or shared Hessians, stages kept. */
  quantize?: { bits: number; groupSize: number; calibTokens: number; maxRows: number; mode: 'sequential' | 'shared' | 'rtn'; keepStages: boolean; head?: { bits: number; groupSize: number } };
}

export interface MemoryItem {
  what: string;
  bytes: number;
  /** The largest single buffer of the item (a buffer must fit the adapter's binding limit). */
  largest: number;
}

export interface MemoryPlan {
  items: MemoryItem[];
  total: number;
  largest: { what: string; bytes: number };
}

const F32 = 4;

/** How a linear layer is packed: bits, group size (-1: per channel), and whether it stores an input order (act-order). */
export interface PackedSettings {
  bits: number;
  groupSize: number;
  actOrder: boolean;
}

/** The bytes of a linear layer [rows, cols], float in `fw` bytes or packed: codes, f16 scales, packed zeros, the input order with act-order. */
function linearBytes([rows, cols]: [number, number], fw: number, packed?: { bits: number; groupSize: number; actOrder?: boolean }): number {
  if (!packed) return rows * cols * fw;
  const G = packed.groupSize === -1 ? cols : packed.groupSize, groups = Math.ceil(cols / G);
  return qweightBytes([rows, cols], packed.bits) + groups * rows * 2 + groups * zeroWords(rows, packed.bits) * 4 + (packed.actOrder ? cols * 4 : 0);
}

/** The bytes of a packed linear's codes (qweight), its largest buffer. */
const qweightBytes = ([rows, cols]: [number, number], bits: number) => qweightWords(cols, bits) * 4 * rows;

/**
 * Rows of an LM head [rows, d] one solve takes at a time (src/quant/quantize-model.ts quantizeHead): ~128 MiB of
 * f32, in 32s (slices keep their packed words whole in the head's); all of them where `rows` is odd (its f16
 * scales' runs would not start on whole words).
 */
export const headSliceRows = (rows: number, d: number) => (rows % 2 ? rows : Math.min(rows, Math.max(32, Math.floor((128 * 2 ** 20) / (d * 4 * 32)) * 32)));

/**
 * The bytes of a decoder layer's weights (float in `fw` bytes, or packed), and of its largest linear layer;
 * `packed`: one setting for every linear, or each linear's (q, k, v, o, gate, up, down; null: float).
 */
function layerBytes(c: ModelConfig, fw: number, packed?: PackedSettings | (PackedSettings | null)[]): { layer: number; largest: number } {
  const d = c.hidden, qd = c.heads * c.headDim, kvd = c.kvHeads * c.headDim, I = c.intermediate;
  const shapes: [number, number][] = [[qd, d], [kvd, d], [kvd, d], [d, qd], [I, d], [I, d], [d, I]];
  const linear = (s: [number, number], i: number) => linearBytes(s, fw, (Array.isArray(packed) ? packed[i] : packed) ?? undefined);
  const small = (2 * d + 2 * c.headDim + (c.qkvBias ? qd + 2 * kvd : 0)) * F32; // norms, biases
  return { layer: shapes.reduce((a, s, i) => a + linear(s, i), 0) + small, largest: Math.max(...shapes.map(linear)) };
}

/** How the layers are stored, in words: "4-bit packed", "4/8-bit packed, some float", "f16". */
function layersStorage(o: MemoryOptions): string {
  if (!o.packedLayers) return o.packed ? `${o.packed.bits}-bit packed` : o.weights;
  const all = o.packedLayers.flat(), bits = [...new Set(all.filter((p) => p).map((p) => p!.bits))].sort((a, b) => a - b);
  const float = all.some((p) => !p) ? `${bits.length ? ', some' : ''} ${o.weights}` : '';
  return `${bits.length ? `${bits.join('/')}-bit packed` : ''}${float}`.trim();
}

/** The GPU bytes a model needs, item by item. */
export function planMemory(c: ModelConfig, o: MemoryOptions): MemoryPlan {
  const d = c.hidden, qd = c.heads * c.headDim, kvd = c.kvHeads * c.headDim, I = c.intermediate;
  const fw = o.weights === 'f16' ? 2 : 4;
  // every layer's linears: at their own settings where given, else all at `packed` (or float)
  const layers = (o.packedLayers ?? Array.from({ length: c.layers }, () => o.packed)).map((l) => layerBytes(c, fw, l))
    .reduce((a, l) => ({ layer: a.layer + l.layer, largest: Math.max(a.largest, l.largest) }), { layer: 0, largest: 0 });
  const embed = c.vocab * d * fw;
  const items: MemoryItem[] = [
    { what: `embedding (${c.vocab} x ${d}, ${o.weights})`, bytes: embed, largest: embed },
    ...(o.packedHead
      ? [{ what: `LM head (${c.vocab} x ${d}, ${o.packedHead.bits}-bit packed)`, bytes: linearBytes([c.vocab, d], fw, o.packedHead), largest: qweightBytes([c.vocab, d], o.packedHead.bits) }]
      : c.tied ? [] : [{ what: `LM head (${c.vocab} x ${d}, ${o.weights})`, bytes: embed, largest: embed }]),
    { what: `${c.layers} layers (${layersStorage(o)})`, bytes: layers.layer, largest: layers.largest },
  ];
  if (o.context > 0) items.push({ what: `KV cache (${o.context} positions)`, bytes: c.layers * 2 * o.context * kvd * F32, largest: o.context * kvd * F32 });
  const R = o.passRows;
  // a pass's activations, and the 16 MiB chunks in which its scores read the logits
  items.push({ what: `activations (${R} rows)`, bytes: R * (2 * d + 2 * qd + 2 * kvd + 2 * I) * F32 + (16 << 20), largest: Math.max(R * I * F32, 16 << 20) });
  const q = o.quantize;
  if (q) {
    if (q.mode !== 'rtn') {
      const hess = (n: number) => n * n * F32;
      const maxCols = Math.max(d, qd, I);
      // sequential: one group's Hessian at a time; shared: every Hessian of the model at once
      items.push({ what: `Hessians (${q.mode})`, bytes: q.mode === 'shared' ? c.layers * (2 * hess(d) + hess(qd) + hess(I)) : hess(maxCols), largest: hess(maxCols) });
      const big = Math.max(qd * d, I * d);
      // the solve of the largest linear: W widened and permuted, codes, error rows; the inverse-Hessian factor and scratch
      items.push({ what: 'GPTQ solve workspace', bytes: 4 * big * F32 + 3 * hess(maxCols), largest: Math.max(big * F32, hess(maxCols)) });
      const stages = q.keepStages ? q.calibTokens * (qd + I) * F32 : 0;
      items.push({ what: `calibration stream (${q.calibTokens} tokens${q.keepStages ? ', stages kept' : ''})`, bytes: q.calibTokens * d * F32 + stages, largest: Math.min(q.maxRows, q.calibTokens) * I * F32 });
      items.push({ what: `calibration passes (${q.maxRows} rows)`, bytes: q.maxRows * (2 * d + 2 * qd + 2 * kvd + 2 * I) * F32, largest: q.maxRows * I * F32 });
    }
    // the packed copy built while the float model stays loaded
    items.push({ what: `packed weights being built (${q.bits}-bit)`, bytes: c.layers * layerBytes(c, fw, { bits: q.bits, groupSize: q.groupSize, actOrder: q.mode !== 'rtn' }).layer, largest: 0 });
    if (q.head) {
      // the head's packed copy, and one slice of its rows in the solve: f32 rows, their permuted copy and codes (x2), error rows
      const slice = headSliceRows(c.vocab, d) * d * F32;
      items.push({ what: `LM head being quantized (${q.head.bits}-bit, ${headSliceRows(c.vocab, d)} rows at a time)`, bytes: linearBytes([c.vocab, d], fw, q.head) + 4 * slice + (q.mode !== 'rtn' ? 2 * slice : 0), largest: Math.max(qweightBytes([c.vocab, d], q.head.bits), slice) });
    }
  }
  let largest = { what: '', bytes: 0 };
  for (const i of items) if (i.largest > largest.bytes) largest = { what: i.what, bytes: i.largest };
  return { items, total: items.reduce((a, i) => a + i.bytes, 0), largest };
}

/** A plan that cannot fit the adapter: what is over, and the setting that would fit. */
export class ModelTooLargeError extends QuantlabError {}

const mib = formatBytes;

/**
 * Refuses, before anything is allocated, a plan whose largest buffer is over the adapter's per-buffer limit,
 * or whose total is over `budget` (where the caller knows the GPU's memory), naming a setting that fits.
 */
export function checkPlan(c: ModelConfig, o: MemoryOptions, limits: { maxBuffer: number; budget?: number }, model = 'this model'): MemoryPlan {
  const plan = planMemory(c, o);
  const fixes: string[] = [];
  const tryWith = (what: string, alt: MemoryOptions) => {
    const p = planMemory(c, alt);
    if (p.largest.bytes <= limits.maxBuffer && (!limits.budget || p.total <= limits.budget)) fixes.push(what);
  };
  const over = plan.largest.bytes > limits.maxBuffer || (limits.budget !== undefined && plan.total > limits.budget);
  if (!over) return plan;
  if (o.weights === 'f32') tryWith('f16 weights (--weights f16; the Model tab\'s weight storage)', { ...o, weights: 'f16' });
  if (o.context > 2048) tryWith('a shorter context (2048 positions)', { ...o, context: 2048 });
  if (o.quantize?.head) tryWith('the LM head left float (without --lm-head)', { ...o, quantize: { ...o.quantize, head: undefined } });
  if (o.quantize && o.quantize.mode !== 'rtn') {
    if (o.quantize.keepStages) tryWith('not keeping the calibration stages (--no-keep-stages)', { ...o, quantize: { ...o.quantize, keepStages: false } });
    if (o.quantize.calibTokens > 8 * 2048) tryWith('fewer calibration sequences (--calib 8)', { ...o, quantize: { ...o.quantize, calibTokens: 8 * 2048 } });
    tryWith('RTN instead of GPTQ (--method rtn)', { ...o, quantize: { ...o.quantize, mode: 'rtn' } });
  }
  const fix = fixes.length ? `What would fit: ${fixes.join('; or ')}.` : 'No setting of the lab fits it on this GPU: use a smaller model or a GPU with more memory.';
  if (plan.largest.bytes > limits.maxBuffer) {
    throw new ModelTooLargeError(`${model} needs ${mib(plan.largest.bytes)} in one buffer for its ${plan.largest.what}, above this GPU's limit of ${mib(limits.maxBuffer)} per buffer.`, fix);
  }
  throw new ModelTooLargeError(`${model} needs about ${mib(plan.total)} of GPU memory (${plan.items.map((i) => `${i.what} ${mib(i.bytes)}`).join(', ')}), more than the ${mib(limits.budget!)} available.`, fix);
}

/** One line per item, for `quantlab info` and the Model tab. */
export function describePlan(plan: MemoryPlan): string[] {
  return [...plan.items.map((i) => `${i.what}: ${mib(i.bytes)}`), `total: ${mib(plan.total)} (largest buffer ${mib(plan.largest.bytes)}: ${plan.largest.what})`];
}

/** The settings that would need less memory than `o`, with their totals (for an out-of-memory message). */
export function lessMemory(c: ModelConfig, o: MemoryOptions): string[] {
  const alts: [string, MemoryOptions][] = [];
  if (o.weights === 'f32') alts.push(['f16 weights (--weights f16)', { ...o, weights: 'f16' }]);
  if (o.context > 2048) alts.push(['a context of 2048', { ...o, context: 2048 }]);
  if (o.passRows > 1024) alts.push(['passes of 1024 rows', { ...o, passRows: 1024 }]);
  if (o.quantize?.head) alts.push(['the LM head left float', { ...o, quantize: { ...o.quantize, head: undefined } }]);
  if (o.quantize && o.quantize.mode !== 'rtn') {
    if (o.quantize.keepStages) alts.push(['not keeping the calibration stages', { ...o, quantize: { ...o.quantize, keepStages: false } }]);
    if (o.quantize.calibTokens > 8 * 2048) alts.push(['8 calibration sequences', { ...o, quantize: { ...o.quantize, calibTokens: 8 * 2048 } }]);
    alts.push(['RTN instead of GPTQ', { ...o, quantize: { ...o.quantize, mode: 'rtn' } }]);
  }
  const base = planMemory(c, o).total;
  return alts.map(([what, alt]) => [what, planMemory(c, alt).total] as const).filter(([, t]) => t < base).map(([what, t]) => `${what}: ${mib(t)}`);
}
