// The task registry: each task is data (where its items live, its knowledge level, how a prompt is built,
// how it is scored), as in lm-evaluation-harness. Items are JSON lines under public/data/tasks, built by
// tools/data/build.py. Levels follow the study: KM memorisation, KA application, KR reasoning.

export type Level = 'KM' | 'KA' | 'KR';
export const LEVELS: Level[] = ['KM', 'KA', 'KR'];

/**
 * The study's General score, defined here once for the evaluation, the sweep and the fits: the mean of the levels'
 * Acc_adj (each level the mean over its tasks), so every level weighs the same whatever its number of tasks.
 * Where results hold fewer than the three levels, the mean of those they hold.
 */
export function generalScore(levelScores: number[]): number {
  return levelScores.reduce((a, b) => a + b, 0) / levelScores.length;
}

/** Which models a task is for: the lab's own dictionary-trained family, or real pretrained models. */
export const SUITES = ['dict', 'real'] as const;
export type Suite = (typeof SUITES)[number];

/**
 * The suite a model is evaluated on, from its provenance: the one its config.json records under
 * `"quantlab": {"task_suite": ...}` (the bundled family does, and the lab's exports keep the field), else
 * "real" (a pretrained model from elsewhere). `because` says which, for the user to see.
 */
export function suiteForModel(rawConfig: Record<string, unknown>): { suite: Suite; because: string } {
  const recorded = (rawConfig.quantlab as { task_suite?: unknown } | undefined)?.task_suite;
  if (typeof recorded === 'string' && (SUITES as readonly string[]).includes(recorded)) {
    return { suite: recorded as Suite, because: `config.json records task_suite "${recorded}"` };
  }
  return { suite: 'real', because: 'config.json records no quantlab task suite: a pretrained model' };
}

interface TaskBase {
  name: string;
  level: Level;
  suite: Suite;
  description: string;
  /** Default few-shot count (the study: 5 for its real tasks; 0 for the lab's own, trained on the format). */
  fewshot: number;
  /** Default number of items in the mini suite. */
  limit: number;
}

export interface McTask extends TaskBase {
  kind: 'mc';
  metric: 'acc' | 'acc_norm';
}

export interface GenTask extends TaskBase {
  kind: 'gen';
  metric: 'exact_match';
  until: string[];
  maxNew: number;
  normalize: { ignoreCase?: boolean; ignorePunctuation?: boolean; regexesToIgnore?: string[] };
  /** How the prediction is taken from the generation. */
  extract?: 'gsm8k';
}

export interface ClozeTask extends TaskBase {
  kind: 'cloze';
  metric: 'precision@k';
  k: number;
}

export type Task = McTask | GenTask | ClozeTask;

/** A task item after loading: one shape for all kinds. */
export interface Item {
  id: string;
  /** The prompt without few-shot examples. */
  context: string;
  /** mc: the choices; gen: the accepted answers; cloze: [the object]. */
  choices: string[];
  gold: number;
  /** Text of this item used as a few-shot example (context + target). */
  target: string;
}

const NQ_NORMALIZE = { ignoreCase: true, ignorePunctuation: true, regexesToIgnore: ['\\b(?:The |the |An |A |The |a |an )'] };

export const TASKS: Task[] = [
  { name: 'dict_kindof_cloze', level: 'KM', suite: 'dict', kind: 'cloze', metric: 'precision@k', k: 5, fewshot: 0, limit: 100,
    description: '"A poodle is a kind of" -> is "dog" among the top 5 next tokens? Facts the models were trained on (LAMA-style)' },
  { name: 'dict_kindof_em', level: 'KM', suite: 'dict', kind: 'gen', metric: 'exact_match', until: ['.', '\n'], maxNew: 8, fewshot: 0, limit: 50,
    normalize: { ignoreCase: true, ignorePunctuation: true }, description: 'the same trained facts, generated greedily: exact match with the hypernym' },
  { name: 'dict_define_mc', level: 'KM', suite: 'dict', kind: 'mc', metric: 'acc_norm', fewshot: 0, limit: 100,
    description: '"poodle (noun):" -> its trained WordNet gloss among 4 of the same length' },
  { name: 'dict_heldout_define_mc', level: 'KA', suite: 'dict', kind: 'mc', metric: 'acc_norm', fewshot: 0, limit: 100,
    description: 'the same on held-out words the models never saw defined: applying what they know' },
  { name: 'dict_ending_mc', level: 'KA', suite: 'dict', kind: 'mc', metric: 'acc_norm', fewshot: 0, limit: 100,
    description: 'the true second half of a held-out dictionary entry among 4 of the same length (HellaSwag-like)' },
  { name: 'dict_syllogism_mc', level: 'KR', suite: 'dict', kind: 'mc', metric: 'acc_norm', fewshot: 0, limit: 100,
    description: 'four chains X->Y->Z stated as eight shuffled premises: "So X is a kind of" X\'s Z, among the four Zs' },
  { name: 'dict_chain_mc', level: 'KR', suite: 'dict', kind: 'mc', metric: 'acc_norm', fewshot: 0, limit: 100,
    description: '"A poodle is a kind of dog, so a poodle is also a kind of" -> canine among 4: one step given, one recalled (dog -> canine was trained, poodle -> canine never stated)' },
  { name: 'nq_open', level: 'KM', suite: 'real', kind: 'gen', metric: 'exact_match', until: ['\n', '.', ','], maxNew: 24, fewshot: 5, limit: 100,
    normalize: NQ_NORMALIZE, description: 'Natural Questions (open), exact match with any answer alias' },
  { name: 'wikitext_ending_mc', level: 'KA', suite: 'real', kind: 'mc', metric: 'acc_norm', fewshot: 5, limit: 100,
    description: 'a WikiText-2 sentence\'s true second half among 4 from the same article (HellaSwag-like), matched in length' },
  { name: 'openbookqa', level: 'KR', suite: 'real', kind: 'mc', metric: 'acc_norm', fewshot: 5, limit: 100,
    description: 'OpenBookQA, 4-way science questions (500 of test + dev, chosen so that no surface cue beats chance)' },
  { name: 'gsm8k', level: 'KR', suite: 'real', kind: 'gen', metric: 'exact_match', until: ['Question:', '\n\n'], maxNew: 256, fewshot: 5, limit: 50,
    normalize: { ignoreCase: true, ignorePunctuation: false, regexesToIgnore: [',', '\\$', '(?s).*#### ', '\\.$'] }, extract: 'gsm8k',
    description: 'GSM8K grade-school math, greedy chain of thought, answer after "####" (or the last number)' },
];

export function findTask(name: string): Task {
  const t = TASKS.find((x) => x.name === name);
  if (!t) throw new Error(`Unknown task "${name}". Tasks: ${TASKS.map((x) => x.name).join(', ')}; levels: km, ka, kr; ppl.`);
  return t;
}

/**
 * Expands a task list: task names, level names (km, ka, kr: that level's tasks of the suite), "all".
 * "ppl" is handled by the runner.
 */
export function resolveTasks(spec: string[], suite: Suite): Task[] {
  const out: Task[] = [];
  for (const s of spec.map((x) => x.trim()).filter(Boolean)) {
    const lv = s.toUpperCase();
    if (s === 'ppl') continue;
    if (s === 'all') out.push(...TASKS.filter((t) => t.suite === suite));
    else if ((LEVELS as string[]).includes(lv)) out.push(...TASKS.filter((t) => t.suite === suite && t.level === lv));
    else out.push(findTask(s));
  }
  return [...new Map(out.map((t) => [t.name, t])).values()];
}

/** Chance accuracy of an item set: 1 / choices for multiple choice, 0 for generation and cloze. */
export function chanceOf(task: Task, items: Item[]): number {
  if (task.kind !== 'mc' || !items.length) return 0;
  return items.reduce((a, it) => a + 1 / it.choices.length, 0) / items.length;
}

/** Reads one task's raw rows into Items. */
export function toItems(task: Task, rows: Record<string, unknown>[]): Item[] {
  return rows.map((r) => {
    const id = String(r.id);
    switch (task.name) {
      case 'nq_open': {
        const answers = r.answers as string[];
        return { id, context: `Q: ${r.question}?\nA:`, choices: answers, gold: 0, target: ` ${answers[0]}` };
      }
      case 'gsm8k':
        return { id, context: `Question: ${r.question}\nAnswer:`, choices: [String(r.target)], gold: 0, target: ` ${r.answer}` };
      case 'dict_kindof_cloze':
        return { id, context: String(r.prompt), choices: [String(r.target)], gold: 0, target: ` ${r.target}.` };
      case 'dict_kindof_em': {
        const answers = r.answers as string[];
        return { id, context: String(r.prompt), choices: answers, gold: 0, target: ` ${answers[0]}.` };
      }
      default: {
        const choices = r.choices as string[];
        const gold = Number(r.gold);
        return { id, context: String(r.context), choices, gold, target: ` ${choices[gold]}` };
      }
    }
  });
}
