// Rotary-embedding tables, computed as transformers computes them in float32 (each step rounded to f32), so
// that the WGSL forward pass matches it at large positions too.
import type { RopeConfig } from './config';

const f = Math.fround;

/** inv_freq of transformers' rope init functions (default, linear, llama3). */
export function invFreq(rope: RopeConfig, headDim: number): Float32Array {
  const half = headDim / 2;
  const inv = new Float32Array(half);
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
 * cos and sin of every (position, frequency), [positions, hd/2] each, as views of one array [cos | sin]: the
 * table the rope kernels read through one binding (shaders/rope.wgsl), sin from index positions * hd/2.
 */
export function ropeTables(rope: RopeConfig, headDim: number, positions: number): { cos: Float32Array; sin: Float32Array; table: Float32Array } {
  const inv = invFreq(rope, headDim);
  const half = headDim / 2;
  const table = new Float32Array(2 * positions * half);
  const cos = table.subarray(0, positions * half), sin = table.subarray(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = f(p * inv[i]); // transformers: inv_freq @ position_ids in f32
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin, table };
}
