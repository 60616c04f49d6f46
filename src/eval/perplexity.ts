// Perplexity as the GPTQ papers report it, token PPL @ S: the text tokenized whole, cut into non-overlapping
// windows of S tokens (tail dropped), exp of the mean cross-entropy of every token predicted from its window
// prefix. (lm-evaluation-harness's rolling word perplexity is another convention; the lab does not report it.)
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
