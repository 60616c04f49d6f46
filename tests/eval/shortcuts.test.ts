// The shortcut gate: on every task file, no no-model baseline (training-text frequency, length, copying from the
// prompt, gold position, premise-chain structure, and every pair of them) may beat chance by more than
// SHORTCUT_MARGIN. The baselines are checked on small hand-made items first, so the gate can fail.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generativeBaselines, multipleChoiceBaselines, premises, SHORTCUT_MARGIN, taskBaselines, TextCounts } from '../../src/eval/shortcuts';
import { type Item, TASKS, toItems } from '../../src/eval/tasks';

const counts = new TextCounts(readFileSync('public/data/calib_dict.txt', 'utf8'));
const rowsOf = (name: string) => readFileSync(`public/data/tasks/${name}.jsonl`, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
const mc = (context: string, choices: string[], gold: number): Item => ({ id: context, context, choices, gold, target: '' });
const acc = (bs: { name: string; acc: number }[], name: string) => bs.find((b) => b.name === name)?.acc;

describe('the baselines', () => {
  const text = new TextCounts('a dog is a kind of canine. the dog barks. a dog and a cat. the cat sat. an oak is a kind of tree.');
  it('count words and phrases of the training text', () => {
    expect(text.word('dog')).toBe(3);
    expect(text.phrase('a dog')).toBe(2);
    expect(text.phrase('kind of tree')).toBe(1);
    expect(text.phrase('tree oak')).toBe(0);
  });

  it('read premise chains from a prompt', () => {
    expect(premises('A poodle is a kind of dog. A dog is a kind of canine. So a poodle is a kind of')).toEqual([['poodle', 'dog'], ['dog', 'canine']]);
  });

  it('score an item set built on a shortcut as the shortcut allows, ties shared', () => {
    // gold always the most frequent word and always last; never in the prompt
    const items = [mc('x', ['cat', 'oak', 'dog'], 2), mc('y', ['tree', 'dog', 'canine'], 1), mc('z', ['sat', 'dog', 'barks'], 1)];
    const bs = multipleChoiceBaselines(items, text);
    expect(acc(bs, 'most frequent in the training text')).toBe(1);
    expect(acc(bs, 'at position 1')).toBeCloseTo(2 / 3, 12);
    expect(acc(bs, 'in the prompt')).toBeCloseTo(1 / 3, 12); // nothing in the prompt: a three-way tie each time
    expect(acc(bs, 'at position 1, then most frequent in the training text')).toBeCloseTo(2 / 3, 12);
    // chain end: X->Y, Y->Z stated; Z is the only choice no premise starts from
    const chain = [mc('A x is a kind of y. A y is a kind of z. So an x is a kind of', ['x', 'y', 'z'], 2)];
    expect(acc(multipleChoiceBaselines(chain, text), 'ends a premise chain')).toBe(1);
    expect(acc(multipleChoiceBaselines(chain, text), 'ends a premise chain, then shortest')).toBe(1);
  });

  it('generative: a constant answer and copies from the prompt', () => {
    const gen = (context: string, answers: string[]): Item => ({ id: context, context, choices: answers, gold: 0, target: '' });
    const items = [gen('A bird dog is a kind of', ['dog']), gen('A tom cat is a kind of', ['cat']), gen('A rose is a kind of', ['shrub']), gen('What is 2 + 40?', ['42'])];
    const bs = generativeBaselines(items);
    expect(acc(bs, 'word 5 from the end of the prompt')).toBe(0.5);
    expect(bs[0].acc).toBe(0.25);
    expect(acc(bs, 'the largest number in the prompt')).toBe(0);
  });
});

describe('the shortcut gate: every task file', () => {
  for (const task of TASKS) {
    it(`${task.name} (${task.level}): no baseline beats chance + ${SHORTCUT_MARGIN}`, () => {
      const items = toItems(task, rowsOf(task.name));
      expect(items.length).toBeGreaterThanOrEqual(100);
      const bs = taskBaselines(task, items, counts).sort((a, b) => b.acc - b.chance - (a.acc - a.chance));
      const over = bs.filter((b) => b.acc > b.chance + SHORTCUT_MARGIN);
      const top = over.slice(0, 3).map((b) => `${b.name}: ${b.acc.toFixed(3)} (chance ${b.chance.toFixed(3)})`);
      expect(top, `${over.length} baselines beat chance + ${SHORTCUT_MARGIN}; the best ${top.length}`).toEqual([]);
    });
  }
});
