// Scoring rules as EleutherAI's lm-evaluation-harness applies them: small pure functions.

/** Index of the largest value; ties go to the first (numpy argmax). */
export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/**
 * Multiple choice from the log-likelihood of each continuation: acc = argmax of the log-likelihoods;
 * acc_norm = argmax of the log-likelihood divided by the choice's length in characters (lm-eval divides by
 * len(choice) of the choice text, without the target delimiter); acc_bytes by its UTF-8 length.
 */
export function multipleChoice(loglik: number[], choices: string[], gold: number): { acc: number; acc_norm: number; acc_bytes: number } {
  const enc = new TextEncoder();
  return {
    acc: argmax(loglik) === gold ? 1 : 0,
    acc_norm: argmax(loglik.map((l, i) => l / choices[i].length)) === gold ? 1 : 0,
    acc_bytes: argmax(loglik.map((l, i) => l / enc.encode(choices[i]).length)) === gold ? 1 : 0,
  };
}

const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g; // Python's string.punctuation

/**
 * lm-eval's exact_match (HF evaluate): remove each regex of regexesToIgnore, then optionally lower-case and
 * strip punctuation, then compare. Against several references the best one counts.
 */
export function exactMatch(
  prediction: string,
  references: string[],
  opts: { ignoreCase?: boolean; ignorePunctuation?: boolean; regexesToIgnore?: string[] } = {},
): number {
  const norm = (s: string) => {
    for (const r of opts.regexesToIgnore ?? []) s = s.replace(new RegExp(r.replace(/^\(\?s\)/, ''), r.startsWith('(?s)') ? 'gs' : 'g'), '');
    if (opts.ignoreCase) s = s.toLowerCase();
    if (opts.ignorePunctuation) s = s.replace(PUNCTUATION, '');
    return s;
  };
  const p = norm(prediction);
  return references.some((r) => norm(r) === p) ? 1 : 0;
}

/** The generation cut at the first stop sequence (lm-eval's `until`). */
export function cutAtStop(text: string, until: string[]): string {
  let end = text.length;
  for (const u of until) {
    const i = text.indexOf(u);
    if (i >= 0 && i < end) end = i;
  }
  return text.slice(0, end);
}

/** GSM8K answers: "strict-match" takes the number after "#### "; "flexible-extract" the last number. */
export function gsm8kExtract(text: string, mode: 'strict' | 'flexible'): string {
  if (mode === 'strict') {
    const m = /#### (-?[0-9.,]+)/.exec(text);
    return m ? m[1] : '[invalid]';
  }
  const all = [...text.matchAll(/(-?[$0-9.,]{2,})|(-?[0-9]+)/g)];
  if (!all.length) return '[invalid]';
  const last = all[all.length - 1];
  return last[1] ?? last[2];
}

/** Chance-adjusted accuracy of the study: (acc - chance) / (1 - chance). */
export function adjustForChance(acc: number, chance: number): number {
  return chance >= 1 ? 0 : (acc - chance) / (1 - chance);
}

/** Standard error of a mean of per-item scores: std(ddof = 1) / sqrt(n). */
export function stderrOfMean(xs: number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return Math.sqrt(v / n);
}
