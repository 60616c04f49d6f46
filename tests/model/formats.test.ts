// The packed-format registry: each entry's layout claims against the bitstream they describe. The kernels
// themselves are tested per registered width in tests/quant/pack.test.ts (BIT_WIDTHS drives its loops).
import { describe, expect, it } from 'vitest';
import { BIT_WIDTHS as CONFIG_BIT_WIDTHS } from '../../src/model/config';
import { BIT_WIDTHS, f16GemvTakesShape, FORMATS, formatOf, ONNX_BITS, qweightWords, zeroWords } from '../../src/model/formats';
import { packBits, unpackBits } from '../../src/quant/reference';

describe('packed formats', () => {
  it('one entry per width, in order; the checkpoint loader checks against the same list', () => {
    expect(BIT_WIDTHS).toEqual([...new Set(BIT_WIDTHS)].sort((a, b) => a - b));
    expect(CONFIG_BIT_WIDTHS).toBe(BIT_WIDTHS);
    expect(ONNX_BITS.every((b) => BIT_WIDTHS.includes(b))).toBe(true);
    expect(() => formatOf(6)).toThrow(/no packed format for 6-bit weights \(the lab packs 2, 3, 4, 8 bits\)/);
  });

  for (const f of FORMATS) {
    it(`${f.bits} bits: word counts of the packed stream, and where its codes lie`, () => {
      const codes = Array.from({ length: 96 }, (_, k) => (k * 7 + 3) % 2 ** f.bits);
      const words = packBits(codes, f.bits);
      expect(words.length).toBe(qweightWords(96, f.bits));
      expect(zeroWords(96, f.bits)).toBe(words.length);
      expect(Array.from(unpackBits(words, f.bits, 96))).toEqual(codes);
      // codes that straddle two words: the f32 decode's 'straddle' layout, and only there
      const straddling = codes.some((_, k) => ((k * f.bits) % 32) + f.bits > 32);
      expect(f.f32Decode === 'straddle').toBe(straddling);
      // 8 codes (the f32 decode's step) in at most one word (or a straddled pair), else whole words of 4 codes
      expect(f.f32Decode === 'bytes').toBe(8 * f.bits > 32);
      if (f.f32Decode === 'bytes') expect(32 % f.bits).toBe(0);
      // f16 pairs: 'halves' needs codes j and j + 16/bits at the same position of a word's two halves
      if (f.f16Pairs === 'halves') expect(16 % f.bits).toBe(0);
      if (f.f16Pairs === 'shifted') expect(f.bits).toBe(3); // the one shifted layout the kernel knows (gemv_chunk)
      expect(f16GemvTakesShape(f.bits, 8)).toBe(f.f16Pairs !== null);
      expect(f16GemvTakesShape(f.bits, 6)).toBe(false);
      expect(f.shapes.f16DeepBelowQuads).toBeGreaterThan(0);
    });
  }
});
