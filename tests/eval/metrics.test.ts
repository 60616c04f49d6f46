// Scoring rules checked by hand against lm-evaluation-harness behaviour.
import { describe, expect, it } from 'vitest';
import { adjustForChance, argmax, cutAtStop, exactMatch, gsm8kExtract, multipleChoice, stderrOfMean } from '../../src/eval/metrics';
import { fewshotContext } from '../../src/eval/run';
import { resolveTasks } from '../../src/eval/tasks';

const NQ = { ignoreCase: true, ignorePunctuation: true, regexesToIgnore: ['\\b(?:The |the |An |A |The |a |an )'] };
const GSM = { ignoreCase: true, ignorePunctuation: false, regexesToIgnore: [',', '\\$', '(?s).*#### ', '\\.$'] };

describe('multiple choice', () => {
  it('acc is the argmax log-likelihood; acc_norm divides by the choice length in characters', () => {
    // "a" is likelier in total, "a much longer answer" per character
    const m = multipleChoice([-2, -10], ['a', 'a much longer answer'], 1);
    expect(m.acc).toBe(0);
    expect(m.acc_norm).toBe(1);
  });
  it('acc_bytes counts UTF-8 bytes, not characters', () => {
    // 2 characters each, but 4 bytes vs 2: per character -2 vs -1.1 picks "ab", per byte -1 vs -1.1 picks "éé"
    const m = multipleChoice([-4, -2.2], ['éé', 'ab'], 0);
    expect(m.acc_norm).toBe(0);
    expect(m.acc_bytes).toBe(1);
  });
  it('ties go to the first choice, as numpy argmax', () => expect(argmax([1, 3, 3])).toBe(1));
});

describe('exact match (lm-eval normalisation)', () => {
  it('NQ: articles, case and punctuation ignored; any alias counts', () => {
    expect(exactMatch('The Beatles', ['beatles'], NQ)).toBe(1);
    expect(exactMatch('U.S.A.', ['usa', 'america'], NQ)).toBe(1);
    expect(exactMatch('Beatles band', ['beatles'], NQ)).toBe(0);
    expect(exactMatch('Café', ['café'], NQ)).toBe(1); // unicode case folding
  });
  it('generations are cut at the first stop sequence', () => {
    expect(cutAtStop(' Paris, France.\nQ:', ['\n', '.', ','])).toBe(' Paris');
  });
  it('GSM8K: strict takes the number after ####, flexible the last number; commas and $ ignored', () => {
    const out = 'She has 3 apples... so 1,234 total.\n#### 1,234';
    expect(gsm8kExtract(out, 'strict')).toBe('1,234');
    expect(exactMatch(gsm8kExtract(out, 'strict'), ['1234'], GSM)).toBe(1);
    expect(gsm8kExtract('The answer is $18.', 'flexible')).toBe('$18.');
    expect(exactMatch('$18.', ['18'], GSM)).toBe(1);
    expect(gsm8kExtract('no number here', 'strict')).toBe('[invalid]');
  });
});

describe('aggregates and prompts', () => {
  it('chance adjustment and the standard error of the mean', () => {
    expect(adjustForChance(0.625, 0.25)).toBeCloseTo(0.5);
    expect(adjustForChance(0.2, 0)).toBe(0.2);
    expect(stderrOfMean([1, 0, 1, 0])).toBeCloseTo(Math.sqrt(1 / 3 / 4));
  });
  it('k-shot prompts are seeded, never include the item itself, and join with blank lines', () => {
    const pool = Array.from({ length: 6 }, (_, i) => ({ id: `i${i}`, context: `Q${i}`, choices: ['x'], gold: 0, target: ' x' }));
    const a = fewshotContext(pool[2], pool, 3, 7), b = fewshotContext(pool[2], pool, 3, 7);
    expect(a).toBe(b);
    expect(a.split('\n\n')).toHaveLength(4);
    expect(a.split('\n\n').slice(0, 3).every((s) => s !== 'Q2 x')).toBe(true);
    expect(a.endsWith('\n\nQ2')).toBe(true);
  });
  it('levels expand to tasks of the suite', () => {
    expect(resolveTasks(['km'], 'dict').map((t) => t.level)).toEqual(['KM', 'KM', 'KM']);
    expect(resolveTasks(['kr'], 'real').map((t) => t.name)).toEqual(['openbookqa', 'gsm8k']);
    expect(() => resolveTasks(['nope'], 'dict')).toThrow(/Unknown task/);
  });
});
