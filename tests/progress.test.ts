import { describe, expect, it } from 'vitest';
import { formatGenerationStats, generationClock } from '../src/progress';

describe('generationClock', () => {
  it('separates the first token from the decode rate after it', () => {
    let t = 1000;
    const clock = generationClock(() => t);
    t += 250; // prompt pass + compiles
    clock.onToken();
    for (let i = 0; i < 10; i++) (t += 20, clock.onToken()); // 10 more tokens, 20 ms apart
    t += 5;
    const s = clock.stats();
    expect(s.tokens).toBe(11);
    expect(s.seconds).toBeCloseTo(0.455, 9);
    expect(s.firstTokenSeconds).toBeCloseTo(0.25, 9);
    expect(s.decodeTokensPerSecond).toBeCloseTo(50, 9);
    expect(formatGenerationStats(s)).toBe('11 tokens in 0.46 s, first token 250 ms, then 50.0 tokens/s');
  });

  it('has no rate below two tokens, and no first token before one', () => {
    let t = 0;
    const clock = generationClock(() => t);
    t = 100;
    expect(clock.stats()).toEqual({ tokens: 0, seconds: 0.1, firstTokenSeconds: null, decodeTokensPerSecond: null });
    clock.onToken();
    expect(clock.stats().decodeTokensPerSecond).toBeNull();
    expect(formatGenerationStats(clock.stats())).toBe('1 token in 0.10 s, first token 100 ms');
  });
});
