// Runs a set of tasks on a loaded (float or quantized) model and summarises them per knowledge level, as the
// study does: a level's score is the mean over its tasks of Acc_adj = (acc - chance) / (1 - chance), and
// "General" the mean of the levels (generalScore).
import { throwIfAborted } from '../errors';
import type { TextTokenizer } from '../model/tokenizer';
import type { Transformer } from '../model/transformer';
import type { OnProgress } from '../progress';
import { hashString, seededRandom, shuffled } from '../random';
import { generateUntil, loglikelihoods, requestTokens } from './loglik';
import { adjustForChance, exactMatch, gsm8kExtract, multipleChoice, stderrOfMean } from './metrics';
import { perplexityWindows, tokenPerplexity } from './perplexity';
import { EVAL_SEED, PPL_WINDOWS } from './settings';
import { chanceOf, generalScore, type Item, type Level, LEVELS, resolveTasks, type Suite, type Task, toItems } from './tasks';

/** Reads files of public/data (fetch in the browser, the file system in Node). */
export interface DataReader {
  read(path: string): Promise<string>;
}

export interface TaskResult {
  task: string;
  level: Level;
  suite: Suite;
  kind: Task['kind'];
  metric: string;
  items: number;
  acc: number;
  acc_chance: number;
  acc_adj: number;
  stderr: number;
  fewshot: number;
  /** Other metrics of the same run (acc and acc_norm for multiple choice, ...). */
  extra: Record<string, number>;
  /** Items left out, with why (e.g. cloze objects that are not one token for this tokenizer). */
  skipped: number;
  seconds: number;
}

export interface PerplexityResult {
  task: string;
  metric: string; // "token_ppl@S"
  text: string;
  ppl: number;
  tokens: number;
  windows: number;
  seqLen: number;
  seconds: number;
}

export interface LevelScore {
  level: Level | 'General';
  acc_adj: number;
  tasks: number;
}

export interface EvalReport {
  tasks: TaskResult[];
  perplexity: PerplexityResult[];
  levels: LevelScore[];
  seconds: number;
}

export interface EvalOptions {
  tasks: string[];
  suite: Suite;
  /** Items per task (overrides each task's mini-suite default); null = all items. */
  limit?: number | null;
  fewshot?: number;
  seed?: number;
  /** Perplexity windows (default PPL_WINDOWS); null = the whole text. */
  pplWindows?: number | null;
  onProgress?: OnProgress;
  signal?: AbortSignal;
}

export { PPL_WINDOWS } from './settings';

function parseJsonl(text: string): Record<string, unknown>[] {
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

/** k few-shot examples for item i, drawn with a fixed seed from the pool (never the item itself). */
export function fewshotContext(item: Item, pool: Item[], k: number, seed: number): string {
  if (k <= 0) return item.context;
  const rnd = seededRandom(seed);
  const candidates = pool.filter((p) => p.id !== item.id);
  const chosen: Item[] = [];
  const used = new Set<number>();
  while (chosen.length < Math.min(k, candidates.length)) {
    const j = Math.floor(rnd() * candidates.length);
    if (!used.has(j)) (used.add(j), chosen.push(candidates[j]));
  }
  return [...chosen.map((e) => e.context + e.target), item.context].join('\n\n');
}

/** The text a perplexity evaluation reads, tokenized, its window and the windows it may take. */
async function pplText(tok: TextTokenizer, data: DataReader, opts: EvalOptions, maxPosition: number) {
  const file = opts.suite === 'dict' ? 'heldout_dict.txt' : 'wikitext2_test.txt';
  // The lab's own texts are documents separated by blank lines (streamed as the models were trained);
  // WikiText-2 is one text joined by blank lines, tokenized whole (the GPTQ papers' convention).
  const text = await data.read(file);
  const ids = opts.suite === 'dict' ? tok.encodeDocuments(text) : tok.encodeDocument(text);
  const maxWindows = opts.pplWindows === null ? undefined : (opts.pplWindows ?? PPL_WINDOWS);
  return { file, task: `ppl_${file.replace('.txt', '')}`, ids, S: Math.min(maxPosition, 2048), maxWindows };
}

/** The items a task is scored on (seeded order, the cloze's one-token filter, the limit) and its few-shot pool. */
async function taskItems(task: Task, tok: TextTokenizer, data: DataReader, opts: EvalOptions, maxPosition: number) {
  const seed = opts.seed ?? EVAL_SEED;
  let items = toItems(task, parseJsonl(await data.read(`tasks/${task.name}.jsonl`)));
  const k = opts.fewshot ?? task.fewshot;
  let pool = items;
  if (k > 0 && task.suite === 'real') pool = toItems(task, parseJsonl(await data.read(`tasks/${task.name}.fewshot.jsonl`)));
  items = shuffled(items, hashString(task.name) ^ seed);
  let skipped = 0;
  if (task.kind === 'cloze') {
    // LAMA-style: only objects that are a single token of this vocabulary can be ranked
    const one = items.filter((it) => requestTokens(tok, { context: it.context, continuation: ` ${it.choices[0]}` }, maxPosition).cont.length === 1);
    skipped = items.length - one.length;
    items = one;
  }
  const limit = opts.limit === null ? items.length : (opts.limit ?? task.limit);
  return { items: items.slice(0, limit), pool, skipped, k };
}

/**
 * How many items (perplexity: windows) `evaluate` with these options scores per task, without a model: what a
 * stored result must have been measured on to count as done (a sweep asked for more items runs it again).
 */
export async function plannedItems(tok: TextTokenizer, data: DataReader, opts: EvalOptions, maxPosition: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (opts.tasks.includes('ppl')) {
    const p = await pplText(tok, data, opts, maxPosition);
    out.set(p.task, perplexityWindows(p.ids.length, p.S, p.maxWindows));
  }
  for (const task of resolveTasks(opts.tasks, opts.suite)) out.set(task.name, (await taskItems(task, tok, data, opts, maxPosition)).items.length);
  return out;
}

export async function evaluate(model: Transformer, tok: TextTokenizer, data: DataReader, opts: EvalOptions): Promise<EvalReport> {
  const t0 = performance.now();
  const seed = opts.seed ?? EVAL_SEED;
  const tasks = resolveTasks(opts.tasks, opts.suite);
  const results: TaskResult[] = [];
  const perplexity: PerplexityResult[] = [];
  const steps = tasks.length + (opts.tasks.includes('ppl') ? 1 : 0);
  let step = 0;
  const report = (what: string) => opts.onProgress?.({ what, done: step, total: steps, unit: 'tasks' });

  if (opts.tasks.includes('ppl')) {
    throwIfAborted(opts.signal, 'evaluation');
    const t1 = performance.now();
    const p = await pplText(tok, data, opts, model.config.maxPosition);
    report(`perplexity on ${p.file}`);
    const r = await tokenPerplexity(model, p.ids, p.S, { maxWindows: p.maxWindows, signal: opts.signal });
    perplexity.push({ task: p.task, metric: `token_ppl@${p.S}`, text: p.file, ppl: r.ppl, tokens: r.tokens, windows: r.windows, seqLen: p.S, seconds: (performance.now() - t1) / 1000 });
    step++;
  }

  for (const task of tasks) {
    throwIfAborted(opts.signal, 'evaluation');
    report(`${task.name} (${task.level})`);
    const t1 = performance.now();
    const { items, pool, skipped, k } = await taskItems(task, tok, data, opts, model.config.maxPosition);
    const contexts = items.map((it, i) => fewshotContext(it, pool, k, seed + i));
    const scores: number[] = [];
    const extra: Record<string, number[]> = {};
    const push = (key: string, v: number) => (extra[key] ??= []).push(v);

    if (task.kind === 'mc') {
      const reqs = items.flatMap((it, i) => it.choices.map((c) => ({ context: contexts[i], continuation: ` ${c}` })));
      const ll = await loglikelihoods(model, tok, reqs, { signal: opts.signal });
      let r = 0;
      items.forEach((it) => {
        const m = multipleChoice(ll.slice(r, r + it.choices.length).map((x) => x.loglik), it.choices, it.gold);
        r += it.choices.length;
        scores.push(m[task.metric]);
        push('acc', m.acc);
        push('acc_norm', m.acc_norm);
        push('acc_bytes', m.acc_bytes);
      });
    } else if (task.kind === 'cloze') {
      const reqs = items.map((it, i) => requestTokens(tok, { context: contexts[i], continuation: ` ${it.choices[0]}` }, model.config.maxPosition));
      // one pass per batch of prompts: rank of the object's token at the last prompt position
      const T = Math.max(...reqs.map((r) => r.input.length));
      const per = Math.max(1, Math.floor(4096 / T));
      for (let b0 = 0; b0 < reqs.length; b0 += per) {
        const batch = reqs.slice(b0, b0 + per);
        const tokens = new Int32Array(batch.length * T);
        batch.forEach((r, b) => tokens.set(r.input, b * T));
        const rows = Uint32Array.from(batch.map((r, b) => b * T + r.input.length - 1));
        const s = await model.score(tokens, { batch: batch.length, seq: T, past: 0 }, rows, Uint32Array.from(batch.map((r) => r.cont[0])));
        for (const x of s) {
          scores.push(x.rank < task.k ? 1 : 0);
          push('precision@1', x.rank < 1 ? 1 : 0);
        }
      }
    } else {
      for (const [i, it] of items.entries()) {
        throwIfAborted(opts.signal, 'evaluation');
        const { text } = await generateUntil(model, tok, contexts[i], task.until, task.maxNew, { signal: opts.signal });
        let pred = text.trimStart();
        let refs = it.choices;
        if (task.extract === 'gsm8k') {
          const strict = gsm8kExtract(text, 'strict');
          pred = strict !== '[invalid]' ? strict : gsm8kExtract(text, 'flexible');
          refs = [it.choices[0]];
        }
        scores.push(exactMatch(pred, refs, task.normalize));
      }
    }
    const acc = scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : 0;
    const chance = chanceOf(task, items);
    results.push({
      task: task.name, level: task.level, suite: task.suite, kind: task.kind, metric: task.metric, items: items.length,
      acc, acc_chance: chance, acc_adj: adjustForChance(acc, chance), stderr: stderrOfMean(scores), fewshot: k,
      extra: Object.fromEntries(Object.entries(extra).map(([key, v]) => [key, v.reduce((a, b) => a + b, 0) / v.length])),
      skipped, seconds: (performance.now() - t1) / 1000,
    });
    step++;
    report(`${task.name} done`);
  }
  return { tasks: results, perplexity, levels: levelScores(results), seconds: (performance.now() - t0) / 1000 };
}

export function levelScores(results: { level: Level; acc_adj: number }[]): LevelScore[] {
  const out: LevelScore[] = [];
  for (const level of LEVELS) {
    const xs = results.filter((r) => r.level === level);
    if (xs.length) out.push({ level, acc_adj: xs.reduce((a, r) => a + r.acc_adj, 0) / xs.length, tasks: xs.length });
  }
  if (out.length) out.push({ level: 'General', acc_adj: generalScore(out.map((l) => l.acc_adj)), tasks: results.length });
  return out;
}
