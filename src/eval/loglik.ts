// Log-likelihood of continuations given contexts, as lm-evaluation-harness computes it, batched on the GPU:
// only the continuation positions get logits, and requests of similar length share a pass.
import { throwIfAborted } from '../errors';
import type { TextTokenizer } from '../model/tokenizer';
import type { Transformer } from '../model/transformer';
import type { OnProgress } from '../progress';
import { progressTracker } from '../progress';

export interface LoglikRequest {
  context: string;
  continuation: string;
}

export interface LoglikResult {
  loglik: number;
  /** Every continuation token is the argmax at its position (lm-eval's is_greedy). */
  isGreedy: boolean;
  tokens: number;
}

/**
 * lm-eval's HFLM._encode_pair: trailing spaces of the context move to the continuation, and the
 * continuation's tokens are those of (context + continuation) past the context's own tokens.
 */
export function encodePair(tok: TextTokenizer, context: string, continuation: string): { ctx: number[]; cont: number[] } {
  const nSpaces = context.length - context.trimEnd().length;
  if (nSpaces > 0) {
    continuation = context.slice(-nSpaces) + continuation;
    context = context.slice(0, -nSpaces);
  }
  const whole = tok.encode(context + continuation);
  const ctx = tok.encode(context);
  return { ctx, cont: whole.slice(ctx.length) };
}

/** The model input and the continuation tokens it scores, left-truncated to the context like lm-eval. */
export function requestTokens(tok: TextTokenizer, r: LoglikRequest, maxLen: number): { input: number[]; cont: number[] } {
  const { ctx, cont } = encodePair(tok, r.context, r.continuation);
  const prefix = tok.prefix.length ? tok.prefix : tok.eosIds.slice(0, 1);
  const seq = [...prefix, ...ctx, ...cont].slice(-(maxLen + 1));
  return { input: seq.slice(0, -1), cont: cont.slice(-seq.length + 1) };
}

export async function loglikelihoods(
  model: Transformer,
  tok: TextTokenizer,
  requests: LoglikRequest[],
  opts: { maxRows?: number; signal?: AbortSignal; onProgress?: OnProgress } = {},
): Promise<LoglikResult[]> {
  const maxLen = model.config.maxPosition, maxRows = opts.maxRows ?? 4096;
  const enc = requests.map((r) => requestTokens(tok, r, maxLen));
  // Longest first, as lm-eval orders them: similar lengths share a padded pass.
  const order = enc.map((_, i) => i).sort((a, b) => enc[b].input.length - enc[a].input.length);
  const out: LoglikResult[] = new Array(requests.length);
  const tick = progressTracker('log-likelihoods', requests.length, opts.onProgress, 'requests');
  let done = 0;
  for (let i = 0; i < order.length; ) {
    throwIfAborted(opts.signal, 'evaluation');
    const T = enc[order[i]].input.length;
    const B = Math.max(1, Math.min(order.length - i, Math.floor(maxRows / T)));
    const batch = order.slice(i, i + B);
    const tokens = new Int32Array(B * T);
    const rows: number[] = [], targets: number[] = [];
    batch.forEach((ri, b) => {
      const { input, cont } = enc[ri];
      tokens.set(input, b * T);
      for (let j = 0; j < cont.length; j++) {
        rows.push(b * T + input.length - cont.length + j);
        targets.push(cont[j]);
      }
    });
    const scores = await model.score(tokens, { batch: B, seq: T, past: 0 }, Uint32Array.from(rows), Uint32Array.from(targets));
    let r = 0;
    for (const ri of batch) {
      const n = enc[ri].cont.length;
      let ll = 0, greedy = true;
      for (let j = 0; j < n; j++, r++) {
        ll += scores[r].logprob;
        if (scores[r].argmax !== targets[r]) greedy = false;
      }
      out[ri] = { loglik: ll, isGreedy: greedy, tokens: n };
    }
    i += B;
    done += B;
    tick(done);
  }
  return out;
}

/** Greedy generation until a stop sequence (lm-eval's generate_until), the prompt left-truncated to fit. */
export async function generateUntil(
  model: Transformer,
  tok: TextTokenizer,
  prompt: string,
  until: string[],
  maxNew: number,
  opts: { signal?: AbortSignal; stepsPerRead?: number } = {},
): Promise<{ text: string; tokens: number[] }> {
  const maxLen = model.config.maxPosition;
  const budget = Math.min(maxNew, Math.max(1, maxLen - 8));
  const ids = [...tok.prefix, ...tok.encode(prompt)].slice(-(maxLen - budget));
  const stop = (out: number[]) => until.some((u) => tok.decode(out).includes(u));
  const tokens = await model.generate(ids, budget, { eos: tok.eosIds, stop, ...opts });
  let text = tok.decode(tokens, true);
  for (const u of until) {
    const k = text.indexOf(u);
    if (k >= 0) text = text.slice(0, k);
  }
  return { text, tokens };
}
