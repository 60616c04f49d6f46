// No-model baselines of a task: how well an item can be answered from surface cues alone (how frequent a choice
// is in the training text, its length, whether it is copied from the prompt, where the gold sits, which word
// ends a chain of premises), singly and in pairs (the second breaks the first's ties). A task measures what its
// level says only when none of them beats chance by much: the shortcut gate (tests/eval/shortcuts.test.ts).
import type { Item, Task } from './tasks';

const WORD = /[a-z0-9]+(?:['-][a-z0-9]+)*/g;
/** Function words: sharing them with the prompt is not copying from it. */
const FUNCTION_WORDS = new Set('a an the of to in on at by for with from as or and but not no is are was were be been it its this that which who whom whose what to so such than then there these those has have had do does did can may'.split(' '));

export function words(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

/** Word and phrase counts of a training text (the gate uses calib_dict.txt, a sample of the models' corpus). */
export class TextCounts {
  private readonly unigrams = new Map<string, number>();
  /** The text's words joined by single spaces, padded: " w1 w2 ... ", for counting phrases. */
  private readonly joined: string;
  readonly total: number;
  private readonly phraseCache = new Map<string, number>();

  constructor(text: string) {
    const ws = words(text);
    for (const w of ws) this.unigrams.set(w, (this.unigrams.get(w) ?? 0) + 1);
    this.total = ws.length;
    this.joined = ` ${ws.join(' ')} `;
  }

  word(w: string): number {
    return this.unigrams.get(w) ?? 0;
  }

  /** Occurrences of a phrase as a whole word sequence. */
  phrase(text: string): number {
    const ws = words(text);
    if (!ws.length) return 0;
    if (ws.length === 1) return this.word(ws[0]);
    const key = ws.join(' ');
    const hit = this.phraseCache.get(key);
    if (hit !== undefined) return hit;
    let n = 0;
    for (let i = this.joined.indexOf(` ${key} `); i >= 0; i = this.joined.indexOf(` ${key} `, i + 1)) n++;
    this.phraseCache.set(key, n);
    return n;
  }

  /** ln p(w) of an add-one smoothed unigram model. */
  logp(w: string): number {
    return Math.log((this.word(w) + 1) / (this.total + this.unigrams.size + 1));
  }
}

export interface Baseline {
  name: string;
  acc: number;
  chance: number;
}

/** Premises "X is a kind of Y" (also instance, member, part) stated in a prompt, as (subject, object) pairs. */
export function premises(context: string): [string, string][] {
  const out: [string, string][] = [];
  const re = /(?:^|[.,;:]\s*|\bso\s+)(?:an?\s+|the\s+)?([^.,;:]+?)\s+is\s+(?:also\s+)?(?:a kind|an instance|a member|a part|part)\s+of\s+(?:an?\s+|the\s+)?([^.,;:]+?)\s*(?=[.,;:]|$)/gi;
  for (const m of context.matchAll(re)) out.push([m[1].trim().toLowerCase(), m[2].trim().toLowerCase()]);
  return out;
}

/** Where a phrase first and last occurs in a text, as word indexes (-1: nowhere). */
function mentions(phrase: string[], text: string[]): { first: number; last: number } {
  let first = -1, last = -1;
  outer: for (let i = 0; i + phrase.length <= text.length; i++) {
    for (let j = 0; j < phrase.length; j++) if (text[i + j] !== phrase[j]) continue outer;
    if (first < 0) first = i;
    last = i;
  }
  return { first, last };
}

/** Per-choice features of one multiple-choice item. */
interface Features {
  n: number;
  gold: number;
  scores: Record<string, number[]>;
}

function features(item: Item, counts: TextCounts): Features {
  const ctx = words(item.context);
  const ctxSet = new Set(ctx.filter((w) => !FUNCTION_WORDS.has(w)));
  const prem = premises(item.context);
  const subjects = new Set(prem.map((p) => p[0]));
  const objects = new Set(prem.map((p) => p[1]));
  const s: Record<string, number[]> = {};
  const add = (name: string, f: (choice: string, i: number, ws: string[]) => number) => {
    s[name] = item.choices.map((c, i) => f(c, i, words(c)));
  };
  add('most frequent in the training text', (c) => counts.phrase(c));
  add('least frequent in the training text', (c) => -counts.phrase(c));
  const uni = (ws: string[]) => ws.reduce((a, w) => a + counts.logp(w), 0);
  add('most likely under unigram frequencies', (_c, _i, ws) => uni(ws));
  add('least likely under unigram frequencies', (_c, _i, ws) => -uni(ws));
  // what acc_norm does with a unigram model: log-likelihood per character
  add('most likely per character under unigram frequencies', (c, _i, ws) => uni(ws) / Math.max(1, c.length));
  add('least likely per character under unigram frequencies', (c, _i, ws) => -uni(ws) / Math.max(1, c.length));
  add('longest', (c) => c.length);
  add('shortest', (c) => -c.length);
  add('most words', (_c, _i, ws) => ws.length);
  add('fewest words', (_c, _i, ws) => -ws.length);
  const where = item.choices.map((c) => mentions(words(c), ctx));
  add('in the prompt', (_c, i) => (where[i].first >= 0 ? 1 : 0));
  add('not in the prompt', (_c, i) => (where[i].first >= 0 ? 0 : 1));
  add('mentioned first in the prompt', (_c, i) => (where[i].first >= 0 ? -where[i].first : -Infinity));
  add('mentioned last in the prompt', (_c, i) => where[i].last);
  add('most content words shared with the prompt', (_c, _i, ws) => ws.filter((w) => ctxSet.has(w)).length);
  add('fewest content words shared with the prompt', (_c, _i, ws) => -ws.filter((w) => ctxSet.has(w)).length);
  if (prem.length) {
    const key = (c: string) => c.trim().toLowerCase();
    add('ends a premise chain', (c) => (objects.has(key(c)) && !subjects.has(key(c)) ? 1 : 0));
    add('ends no premise chain', (c) => (objects.has(key(c)) && !subjects.has(key(c)) ? 0 : 1));
    add('object of a premise', (c) => (objects.has(key(c)) ? 1 : 0));
    add('subject of a premise', (c) => (subjects.has(key(c)) ? 1 : 0));
  }
  for (let k = 0; k < item.choices.length; k++) add(`at position ${k}`, (_c, i) => (i === k ? 1 : 0));
  return { n: item.choices.length, gold: item.gold, scores: s };
}

/** Expected accuracy of picking the best by `keys` in order, ties broken at random: 1/|ties| if gold is among them. */
function pick(f: Features, keys: string[]): number {
  let cand = [...Array(f.n).keys()];
  for (const k of keys) {
    const v = f.scores[k];
    if (!v) return NaN;
    const best = Math.max(...cand.map((i) => v[i]));
    cand = cand.filter((i) => v[i] === best);
  }
  return cand.includes(f.gold) ? 1 / cand.length : 0;
}

/** Every single baseline and every ordered pair of them, on a multiple-choice item set. */
export function multipleChoiceBaselines(items: Item[], counts: TextCounts): Baseline[] {
  if (!items.length) return [];
  const fs = items.map((it) => features(it, counts));
  const chance = items.reduce((a, it) => a + 1 / it.choices.length, 0) / items.length;
  const names = [...new Set(fs.flatMap((f) => Object.keys(f.scores)))];
  const out: Baseline[] = [];
  const run = (keys: string[]) => {
    const accs = fs.map((f) => pick(f, keys));
    if (accs.some(Number.isNaN)) return; // a feature some items lack (premises, a fifth position)
    out.push({ name: keys.join(', then '), acc: accs.reduce((a, b) => a + b, 0) / accs.length, chance });
  };
  for (const a of names) {
    run([a]);
    for (const b of names) if (b !== a) run([a, b]);
  }
  return out;
}

const NUMBER = /-?\d[\d,]*(?:\.\d+)?/g;

/**
 * Baselines of a generative or cloze item set (chance 0): always the same answer (the k most common answers of
 * the items themselves: an upper bound on any prior learned from the training text), and copying from the
 * prompt (its k-th word from the start or the end; its first, last, largest or smallest number). `k` guesses
 * count for precision@k.
 */
export function generativeBaselines(items: Item[], k = 1): Baseline[] {
  if (!items.length) return [];
  const norm = (s: string) => words(s).join(' ');
  const golds = items.map((it) => new Set(it.choices.map(norm)));
  const rate = (guess: (it: Item, i: number) => string[]) => items.reduce((a, it, i) => a + (guess(it, i).some((g) => golds[i].has(norm(g))) ? 1 : 0), 0) / items.length;
  const out: Baseline[] = [];
  const tally = new Map<string, number>();
  for (const g of golds) for (const a of g) tally.set(a, (tally.get(a) ?? 0) + 1);
  const common = [...tally].sort((a, b) => b[1] - a[1]).slice(0, k).map((x) => x[0]);
  out.push({ name: `always the ${k > 1 ? `${k} most common answers` : 'most common answer'} (${common.join(', ')})`, acc: rate(() => common), chance: 0 });
  for (let j = 0; j < 8; j++) {
    out.push({ name: `word ${j + 1} of the prompt`, acc: rate((it) => words(it.context).slice(j, j + k)), chance: 0 });
    out.push({ name: `word ${j + 1} from the end of the prompt`, acc: rate((it) => words(it.context).reverse().slice(j, j + k)), chance: 0 });
  }
  const nums = (it: Item) => (it.context.match(NUMBER) ?? []).map((x) => x.replace(/,/g, ''));
  const byValue = (it: Item) => [...nums(it)].sort((a, b) => Number(a) - Number(b));
  out.push({ name: 'the first number in the prompt', acc: rate((it) => nums(it).slice(0, k)), chance: 0 });
  out.push({ name: 'the last number in the prompt', acc: rate((it) => nums(it).slice(-k)), chance: 0 });
  out.push({ name: 'the largest number in the prompt', acc: rate((it) => byValue(it).slice(-k)), chance: 0 });
  out.push({ name: 'the smallest number in the prompt', acc: rate((it) => byValue(it).slice(0, k)), chance: 0 });
  return out;
}

/** The baselines of a task's items, by its kind. */
export function taskBaselines(task: Task, items: Item[], counts: TextCounts): Baseline[] {
  if (task.kind === 'mc') return multipleChoiceBaselines(items, counts);
  return generativeBaselines(items, task.kind === 'cloze' ? task.k : 1);
}

/** A task passes the gate when no baseline beats chance by more than this. */
export const SHORTCUT_MARGIN = 0.05;
