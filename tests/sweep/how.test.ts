// A result row says how its quantization was made: the largest dampening any layer needed, the layers that fell
// back, the calibration tokens.
import { describe, expect, it } from 'vitest';
import { howQuantized } from '../../src/sweep/engine';

describe('howQuantized', () => {
  const layer = (dampPercent: number | null, fallback: null | 'diagonal' | 'rtn') => ({ layer: 0, module: 'q' as const, rows: 64, cols: 64, method: 'gptq' as const, loss: 1, dampPercent, fallback, reconError: 0, seconds: 0 });
  it('takes the largest dampening, counts fallbacks by kind, and multiplies C_b by the sequence length', () => {
    expect(howQuantized({ layers: [layer(0.05, null), layer(0.08, 'diagonal'), layer(null, 'rtn'), layer(0.05, 'diagonal')], calibration: { count: 8, seqLen: 32, seed: 0 } }))
      .toEqual({ damp_used: 0.08, fallback: 'diagonal x2, rtn x1', calib_tokens: 256 });
    expect(howQuantized({ layers: [layer(null, null)], calibration: null })).toEqual({ damp_used: null, fallback: '', calib_tokens: 0 });
  });
});
