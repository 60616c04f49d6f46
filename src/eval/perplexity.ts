// Perplexity, in the two conventions papers use (every table says which):
//  - token PPL @ S (the GPTQ papers'): the text tokenized whole, cut into non-overlapping windows of S
//    tokens (tail dropped), exp of the mean cross-entropy of every token predicted from its window prefix;
//  - lm-evaluation-harness's rolling log-likelihood of a document: every token predicted once, windows of
//    the model's context with a one-token overlap, the first from the end-of-text token; reported as word
//    perplexity, byte perplexity and bits per byte.
import { throwIfAborted } from '../errors';
import type { Transformer } from '../model/transformer';
import type { OnProgress } from '../progress';
import { progressTracker } from '../progress';

export interface TokenPerplexity {
  metric: 'token_ppl';
  seqLen: number;
  windows: number;
  tokens: number; // tokens predicted
  nll: number; // summed negative log-likelihood (nats)
  ppl: number;
}

/** Rows per pass: windows are batched up to this many tokens. */
const MAX_ROWS = 4096;

/** Whole windows of S tokens in a text of `tokens`, at most maxWindows. */
export function perplexityWindows(tokens: number, S: number, maxWindows?: number): number {
  const windows = Math.floor(tokens / S);
  return maxWindows === undefined ? windows : Math.min(windows, maxWindows);
}

export async function tokenPerplexity(
  model: Transformer,
  ids: ArrayLike<number>,
  seqLen: number,
  opts: { maxWindows?: number; onProgress?: OnProgress; signal?: AbortSignal } = {},
): Promise<TokenPerplexity> {
  const S = Math.min(seqLen, model.config.maxPosition);
  const windows = perplexityWindows(ids.length, S, opts.maxWindows);
  if (windows < 1) throw new RangeError(`The text has ${ids.length} tokens, fewer than one window of ${S}.`);
  const per = Math.max(1, Math.floor(MAX_ROWS / S));
  const tick = progressTracker(`token PPL @ ${S}`, windows, opts.onProgress, 'windows');
  let nll = 0, count = 0;
  for (let w0 = 0; w0 < windows; w0 += per) {
    throwIfAborted(opts.signal, 'perplexity');
    const B = Math.min(per, windows - w0);
    const tokens = new Int32Array(B * S);
    const rows = new Uint32Array(B * (S - 1)), targets = new Uint32Array(B * (S - 1));
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < S; t++) tokens[b * S + t] = ids[(w0 + b) * S + t];
      for (let t = 0; t < S - 1; t++) {
        rows[b * (S - 1) + t] = b * S + t;
        targets[b * (S - 1) + t] = tokens[b * S + t + 1];
      }
    }
    const scores = await model.score(tokens, { batch: B, seq: S, past: 0 }, rows, targets);
    for (const s of scores) nll -= s.logprob;
    count += scores.length;
    tick(w0 + B);
  }
  return { metric: 'token_ppl', seqLen: S, windows, tokens: count, nll, ppl: Math.exp(nll / count) };
}

export interface RollingPerplexity {
  metric: 'word_ppl';
  loglikelihood: number;
  words: number;
  bytes: number;
  wordPerplexity: number;
  bytePerplexity: number;
  bitsPerByte: number;
}

/**
 * lm-eval's get_rolling_token_windows(tokens, prefix, maxLen, context_len = 1): model inputs and the tokens
 * their last positions predict. Every token is predicted exactly once; the first from the prefix token.
 */
export function rollingWindows(tokens: number[], prefix: number, maxLen: number): { input: number[]; targets: number[] }[] {
  const out: { input: number[]; targets: number[] }[] = [];
  if (tokens.length === 0) return out;
  const first = Math.min(maxLen, tokens.length);
  out.push({ input: [prefix, ...tokens.slice(0, first - 1)], targets: tokens.slice(0, first) });
  let predicted = first;
  while (predicted < tokens.length) {
    const n = Math.min(tokens.length - predicted, maxLen);
    const end = predicted + n;
    out.push({ input: tokens.slice(end - maxLen - 1, end - 1), targets: tokens.slice(end - n, end) });
    predicted = end;
  }
  return out;
}

/** Rolling log-likelihood of each document (lm-eval wikitext-style word perplexity and bits per byte). */
export async function rollingPerplexity(
  model: Transformer,
  docs: { text: string; tokens: number[] }[],
  prefixToken: number,
  opts: { signal?: AbortSignal; onProgress?: OnProgress } = {},
): Promise<RollingPerplexity> {
  const maxLen = model.config.maxPosition;
  let ll = 0, words = 0, bytes = 0;
  const tick = progressTracker('rolling log-likelihood', docs.length, opts.onProgress, 'documents');
  for (const [i, d] of docs.entries()) {
    throwIfAborted(opts.signal, 'perplexity');
    for (const w of rollingWindows(d.tokens, prefixToken, maxLen)) {
      const n = w.input.length, p = w.targets.length;
      const rows = Uint32Array.from({ length: p }, (_, k) => n - p + k);
      const scores = await model.score(Int32Array.from(w.input), { batch: 1, seq: n, past: 0 }, rows, Uint32Array.from(w.targets));
      for (const s of scores) ll += s.logprob;
    }
    words += d.text.split(/\s+/).length;
    bytes += new TextEncoder().encode(d.text).length;
    tick(i + 1);
  }
  return {
    metric: 'word_ppl', loglikelihood: ll, words, bytes,
    wordPerplexity: Math.exp(-ll / words), bytePerplexity: Math.exp(-ll / bytes), bitsPerByte: -ll / bytes / Math.LN2,
  };
}
