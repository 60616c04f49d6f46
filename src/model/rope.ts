// Rotary embeddings: the variants config.json may name, read into one RopeConfig, and their tables, computed as
// transformers computes them in float32 (each step rounded to f32), so that the WGSL forward pass matches it at
// large positions too.
import { CheckpointError } from './errors';

export interface RopeConfig {
  theta: number;
  type: 'default' | 'linear' | 'llama3' | 'longrope';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPosition: number;
  /** longrope: per-frequency divisors within originalMaxPosition (short) and past it (long). */
  shortFactor?: number[];
  longFactor?: number[];
  /** longrope: cos and sin are multiplied by this (transformers' attention_scaling); absent: 1. */
  attentionFactor?: number;
}

const f = Math.fround;

/**
 * The rope of a config.json (transformers >= 5 writes rope_parameters {rope_type, rope_theta, ...}; older files
 * rope_theta + rope_scaling), of the types `accepted` (the architecture's); the rest are refused by `refuse`.
 */
export function parseRope(c: Record<string, unknown>, headDim: number, maxPosition: number, accepted: readonly string[], file: string, refuse: (problem: string) => Error): RopeConfig {
  const rp = (c.rope_parameters ?? c.rope_scaling ?? {}) as Record<string, unknown> | null;
  const ropeType = String(rp?.rope_type ?? rp?.type ?? 'default');
  const theta = Number(rp?.rope_theta ?? c.rope_theta ?? 10000);
  if (!Number.isFinite(theta) || theta <= 0) throw new CheckpointError(file, `rope_theta must be positive (got ${theta})`);
  if (!accepted.includes(ropeType)) throw refuse(`${file}: rope type "${ropeType}" is not supported (${accepted.join(', ')} are).`);
  if (rp?.partial_rotary_factor !== undefined && rp.partial_rotary_factor !== 1) throw refuse(`${file}: partial rotary embeddings are not supported.`);
  const base: RopeConfig = { theta, type: 'default', factor: 1, lowFreqFactor: 1, highFreqFactor: 1, originalMaxPosition: maxPosition, attentionFactor: 1 };
  if (ropeType === 'llama3') {
    const rope: RopeConfig = {
      ...base,
      type: 'llama3',
      factor: Number(rp?.factor),
      lowFreqFactor: Number(rp?.low_freq_factor),
      highFreqFactor: Number(rp?.high_freq_factor),
      originalMaxPosition: Number(rp?.original_max_position_embeddings),
    };
    if (![rope.factor, rope.lowFreqFactor, rope.highFreqFactor, rope.originalMaxPosition].every((v) => Number.isFinite(v) && v > 0)) {
      throw new CheckpointError(file, 'llama3 rope scaling needs factor, low_freq_factor, high_freq_factor and original_max_position_embeddings');
    }
    return rope;
  }
  if (ropeType === 'linear') return { ...base, type: 'linear', factor: Number(rp?.factor) };
  if (ropeType === 'longrope' || ropeType === 'su') {
    const list = (k: string) => {
      const v = rp?.[k];
      if (!Array.isArray(v) || v.length !== headDim / 2 || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)) {
        throw new CheckpointError(file, `longrope's ${k} must be ${headDim / 2} positive numbers (one per frequency of head_dim ${headDim})`);
      }
      return v as number[];
    };
    // transformers (5): the factor, unless given, is max_position_embeddings / original_max_position_embeddings
    // (Phi-3 names the original length at the top level), and the scaling sqrt(1 + ln s / ln orig) unless given
    const orig = Number(rp?.original_max_position_embeddings ?? c.original_max_position_embeddings ?? maxPosition);
    if (!Number.isInteger(orig) || orig <= 0) throw new CheckpointError(file, `original_max_position_embeddings must be a positive integer (got ${orig})`);
    const factor = Number(rp?.factor ?? maxPosition / orig);
    const given = rp?.attention_factor;
    const attentionFactor = typeof given === 'number' ? given : factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(orig));
    return { ...base, type: 'longrope', factor, originalMaxPosition: orig, shortFactor: list('short_factor'), longFactor: list('long_factor'), attentionFactor };
  }
  return base; // default, and dynamic NTK (equal to default within max_position_embeddings, all the lab runs)
}

/**
 * Whether a pass over `positions` positions uses longrope's long factors: transformers switches the whole
 * table (every position) to them once the sequence is longer than original_max_position_embeddings.
 */
export function usesLongFactors(rope: RopeConfig, positions: number): boolean {
  return rope.type === 'longrope' && positions > rope.originalMaxPosition;
}

/** inv_freq of transformers' rope init functions (default, linear, llama3, longrope short or `long`). */
export function invFreq(rope: RopeConfig, headDim: number, long = false): Float32Array {
  const half = headDim / 2;
  const inv = new Float32Array(half);
  if (rope.type === 'longrope') {
    const ext = long ? rope.longFactor! : rope.shortFactor!;
    for (let i = 0; i < half; i++) inv[i] = f(1 / f(f(ext[i]) * f(rope.theta ** f((2 * i) / headDim))));
    return inv;
  }
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(rope.theta ** f((2 * i) / headDim)));
  if (rope.type === 'linear') for (let i = 0; i < half; i++) inv[i] = f(inv[i] / rope.factor);
  if (rope.type === 'llama3') {
    const lowWavelen = rope.originalMaxPosition / rope.lowFreqFactor;
    const highWavelen = rope.originalMaxPosition / rope.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      let v = wavelen > lowWavelen ? f(inv[i] / rope.factor) : inv[i];
      if (!(wavelen < highWavelen) && !(wavelen > lowWavelen)) {
        const smooth = (rope.originalMaxPosition / wavelen - rope.lowFreqFactor) / (rope.highFreqFactor - rope.lowFreqFactor);
        v = f((1 - smooth) * (v / rope.factor) + smooth * v);
      }
      inv[i] = v;
    }
  }
  return inv;
}

/**
 * cos and sin of every (position, frequency), [positions, hd/2] each, times the attention factor, as views of
 * one array [cos | sin]: the table the rope kernels read through one binding (shaders/rope.wgsl), sin from
 * index positions * hd/2. `long`: longrope's long factors (usesLongFactors).
 */
export function ropeTables(rope: RopeConfig, headDim: number, positions: number, long = false): { cos: Float32Array; sin: Float32Array; table: Float32Array } {
  const inv = invFreq(rope, headDim, long);
  const half = headDim / 2;
  const scale = f(rope.attentionFactor ?? 1);
  const table = new Float32Array(2 * positions * half);
  const cos = table.subarray(0, positions * half), sin = table.subarray(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = f(p * inv[i]); // transformers: inv_freq @ position_ids in f32
      cos[p * half + i] = scale === 1 ? Math.cos(angle) : f(Math.cos(angle)) * scale;
      sin[p * half + i] = scale === 1 ? Math.sin(angle) : f(Math.sin(angle)) * scale;
    }
  }
  return { cos, sin, table };
}
