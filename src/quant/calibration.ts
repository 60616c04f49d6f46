// Calibration data: C_b windows of a fixed length drawn reproducibly from a corpus (GPTQ draws random
// 2048-token windows of C4; the lab's models draw windows of their own training distribution).
import type { TextTokenizer } from '../model/tokenizer';
import { seededRandom } from '../random';

export interface CalibrationSet {
  /** [count * seqLen] token ids, sequence after sequence. */
  tokens: Int32Array;
  count: number;
  seqLen: number;
  seed: number;
}

/**
 * Token ids of a calibration corpus (tokenize once, reuse across C_b): a text of documents separated by
 * blank lines becomes a stream of documents each starting with the model's BOS / end-of-text token.
 */
export function corpusTokens(tokenizer: TextTokenizer, text: string, documents = true): Int32Array {
  return Int32Array.from(documents ? tokenizer.encodeDocuments(text) : tokenizer.encodeDocument(text));
}

/** C_b windows of seqLen tokens at seeded random offsets of the corpus stream. */
export function drawCalibration(corpus: Int32Array, count: number, seqLen: number, seed: number, prefix: number[] = []): CalibrationSet {
  const body = seqLen - prefix.length;
  if (corpus.length < body + 1) {
    throw new RangeError(`The calibration text has ${corpus.length} tokens, fewer than one window of ${seqLen}: give a longer text or a shorter sequence length.`);
  }
  const rnd = seededRandom(seed);
  const tokens = new Int32Array(count * seqLen);
  for (let i = 0; i < count; i++) {
    const start = Math.floor(rnd() * (corpus.length - body));
    tokens.set(prefix, i * seqLen);
    tokens.set(corpus.subarray(start, start + body), i * seqLen + prefix.length);
  }
  return { tokens, count, seqLen, seed };
}
