// Sharding a sweep without a GPU: the partition (by identity, stable, balanced), merging shards' results by the
// lab's import rules with duplicates and conflicts told apart, and what a grid lacks.
import { describe, expect, it } from 'vitest';
import { fetchModelFiles } from '../../src/model/hub';
import { configKey, planShard, planSweep, type SweepModel, type SweepOptions } from '../../src/sweep/engine';
import { findPreset, gridPoints } from '../../src/sweep/grid';
import { type ConfigKey, configId, mergeRows, type ResultRow, rowId } from '../../src/sweep/results';
import { gridGaps, measurementDiff, mergeSources, parseShard, shardOf, unfinishedTasks } from '../../src/sweep/shard';
import { resultRow } from '../helpers/rows';

/** FNV-1a, 32 bits, written the long way (BigInt, byte by byte over UTF-16 code units as the lab hashes them). */
function fnv1aReference(s: string): number {
  let h = 0x811c9dc5n;
  for (let i = 0; i < s.length; i++) h = ((h ^ BigInt(s.charCodeAt(i))) * 0x01000193n) % 2n ** 32n;
  return Number(h);
}

const row = resultRow;

/** Models with a checkpoint's key facts and nothing else: planning opens no weights. */
function fakeModel(id: string, maxPosition = 256, arch = 'qwen3', params = 74112): SweepModel {
  return { id, open: async () => ({ ckpt: { config: { arch, maxPosition }, nonEmbeddingParams: params }, tokenizer: null }) as never };
}

const open = (m: SweepModel) => m.open();

describe('--shard I/N', () => {
  it('reads I/N with 0 <= I < N, and refuses anything else saying what to give', () => {
    expect(parseShard('0/4')).toEqual({ index: 0, count: 4 });
    expect(parseShard(' 3 / 4 ')).toEqual({ index: 3, count: 4 });
    expect(() => parseShard('4/4')).toThrow(/below the number of shards \(0 to 3\)/);
    expect(() => parseShard('1/0')).toThrow(/at least 1/);
    expect(() => parseShard('1-4')).toThrow(/not I\/N/);
    expect(() => parseShard('-1/4')).toThrow(/not I\/N/);
  });

  it('puts a configuration in shard FNV-1a(configId) mod N, the hash pinned to its published definition', () => {
    // the published FNV-1a test vectors, then the lab's identities: a changed hash would strand running shards
    expect(fnv1aReference('')).toBe(0x811c9dc5);
    expect(fnv1aReference('a')).toBe(0xe40c292c);
    expect(fnv1aReference('foobar')).toBe(0xbf9cf968);
    const key = row() as ConfigKey;
    expect(configId(key)).toBe('qwen3-dict-74k|gptq|4|128|32|256|sym|act|sequential|0');
    for (const n of [1, 2, 3, 8, 64]) expect(shardOf(key, n)).toBe(fnv1aReference(configId(key)) % n);
  });

  it('partitions a grid: every configuration in exactly one shard, whatever else the grid holds', async () => {
    const models = [fakeModel('qwen3-dict-74k'), fakeModel('llama-dict-305k', 512, 'llama', 305000)];
    const opts: SweepOptions = { models, points: gridPoints(findPreset('quick').grid), methods: ['gptq', 'rtn'], tasks: ['ppl'] };
    const all = planSweep(opts);
    const shards = await Promise.all([0, 1, 2].map((index) => planShard({ ...opts, shard: { index, count: 3 } }, open)));
    const ids = async (plan: typeof all, o: SweepOptions) => Promise.all(plan.map(async (c) => configId(configKey(o, c, (await c.model.open()).ckpt))));
    const union = (await Promise.all(shards.map((s) => ids(s, opts)))).flat();
    expect(union.sort()).toEqual((await ids(all, opts)).sort());
    expect(new Set(union).size).toBe(all.length);
    // a bigger grid (more points, another model) leaves every configuration of the small one in its shard
    const bigger: SweepOptions = { ...opts, models: [...models, fakeModel('qwen3-dict-788k')], points: gridPoints(findPreset('study').grid) };
    const biggerShards = await Promise.all([0, 1, 2].map((index) => planShard({ ...bigger, shard: { index, count: 3 } }, open)));
    for (let i = 0; i < 3; i++) {
      const mine = new Set(await ids(biggerShards[i], bigger));
      for (const id of await ids(shards[i], opts)) expect(mine.has(id)).toBe(true);
    }
  });

  it('balances the family grid over 2 and 4 shards (the GPUs of one host)', async () => {
    const models = ['qwen3-dict-74k', 'qwen3-dict-305k', 'qwen3-dict-788k', 'qwen3-dict-2.4m', 'llama-dict-74k', 'llama-dict-305k', 'llama-dict-788k', 'llama-dict-2.4m'].map((m) => fakeModel(m));
    const preset = findPreset('family');
    const opts: SweepOptions = { models, points: gridPoints(preset.grid), seqLen: preset.seqLen, tasks: ['ppl'] };
    const total = planSweep(opts).length;
    for (const count of [2, 4]) {
      const sizes = await Promise.all(Array.from({ length: count }, (_, index) => planShard({ ...opts, shard: { index, count } }, open).then((p) => p.length)));
      expect(sizes.reduce((a, b) => a + b)).toBe(total);
      for (const s of sizes) expect(Math.abs(s / total - 1 / count)).toBeLessThan(0.1 / count);
    }
  });
});

describe('merging shards', () => {
  it('tells duplicates (run columns aside), larger samples, smaller ones and conflicts apart; rows as the lab merges them', () => {
    const a = row();
    const sameElsewhere = row({ created: '2026-12-01T00:00:00Z', adapter: 'nvidia / other', quant_seconds: 9, eval_seconds: 9, lab_version: '0.2.0' });
    const larger = row({ task: 'dict_define_mc', items: 200, acc: 0.5 });
    const conflicting = row({ acc: 0.47, acc_adj: 0.29 });
    const sources = [
      { name: 'shard-0.jsonl', rows: [a, row({ task: 'dict_define_mc', items: 100, acc: 0.4 })] },
      { name: 'shard-0-again.csv', rows: [sameElsewhere, larger] },
      { name: 'old.jsonl.gz', rows: [row({ task: 'dict_define_mc', items: 50, acc: 0.9 }), conflicting, row({ bits: 3 })] },
    ];
    const m = mergeSources(sources);
    expect(m.sources.map(({ source, added, replaced, duplicates, superseded, conflicts }) => [source, added, replaced, duplicates, superseded, conflicts])).toEqual([
      ['shard-0.jsonl', 2, 0, 0, 0, 0],
      ['shard-0-again.csv', 0, 1, 1, 0, 0],
      ['old.jsonl.gz', 1, 0, 0, 1, 1],
    ]);
    expect(m.conflicts).toHaveLength(1);
    expect(m.conflicts[0]).toMatchObject({ id: rowId(a), kept: { source: 'shard-0.jsonl', row: a }, other: { source: 'old.jsonl.gz', row: conflicting } });
    expect(m.conflicts[0].columns.sort()).toEqual(['acc', 'acc_adj']);
    // the rows are exactly what the lab's import (mergeRows) makes of the same files in the same order
    const lab: ResultRow[] = [];
    for (const s of sources) mergeRows(lab, s.rows);
    expect(m.rows).toEqual(lab);
    expect(m.rows.find((r) => r.task === 'dict_define_mc')).toEqual(larger);
  });

  it('a conflict inside one file is listed too, and a perplexity of NaN equals NaN', () => {
    const m = mergeSources([{ name: 'twice.jsonl', rows: [row(), row({ stderr: 0.06 }), row({ task: 'ppl', acc: null, perplexity: NaN }), row({ task: 'ppl', acc: null, perplexity: NaN })] }]);
    expect(m.conflicts.map((c) => c.columns)).toEqual([['stderr']]);
    expect(m.sources[0]).toMatchObject({ added: 2, duplicates: 1, conflicts: 1 });
    expect(measurementDiff(row(), row({ created: 'later', adapter: 'x' }))).toEqual([]);
  });
});

describe('what a grid lacks', () => {
  const planned = (over: Partial<ResultRow>, tasks: [string, number][]) => ({ key: row(over) as ConfigKey, label: `${over.bits ?? 4}-bit`, tasks: new Map(tasks) });

  it('missing, incomplete (absent or short tasks), done, and configurations outside the grid', () => {
    const grid = [
      planned({ bits: 4 }, [['dict_ending_mc', 100], ['ppl_heldout_dict', 8]]),
      planned({ bits: 3 }, [['dict_ending_mc', 100], ['ppl_heldout_dict', 8]]),
      planned({ bits: 2 }, [['dict_ending_mc', 100], ['ppl_heldout_dict', 8]]),
      planned({ bits: 8 }, [['dict_ending_mc', 100], ['ppl_heldout_dict', 8]]),
    ];
    const rows = [
      row({ bits: 4 }), row({ bits: 4, task: 'ppl_heldout_dict', items: 8 }),
      row({ bits: 3 }), // ppl absent
      row({ bits: 2, items: 40 }), row({ bits: 2, task: 'ppl_heldout_dict', items: 8 }), // too few items
      row({ bits: 4, group_size: 32 }), // not in the grid
    ];
    const gaps = gridGaps(grid, rows, 4);
    expect(gaps).toMatchObject({ planned: 4, done: 1, outside: 1 });
    expect(gaps.missing.map((g) => [g.label, g.tasks])).toEqual([['8-bit', ['dict_ending_mc', 'ppl_heldout_dict']]]);
    expect(gaps.incomplete.map((g) => [g.label, g.tasks])).toEqual([['3-bit', ['ppl_heldout_dict']], ['2-bit', ['dict_ending_mc (40 of 100 items)']]]);
    for (const g of [...gaps.missing, ...gaps.incomplete]) expect(g.shard).toBe(fnv1aReference(g.id) % 4);
    expect(gridGaps(grid, rows).missing[0].shard).toBeUndefined();
  });

  it('a configuration is finished when every planned task has at least the planned items (the sweep skips it then)', () => {
    const plan = new Map([['a', 10], ['b', 5]]);
    expect(unfinishedTasks(plan, new Map([['a', 10], ['b', 6]]))).toEqual([]);
    expect(unfinishedTasks(plan, new Map([['a', 9], ['b', 5]]))).toEqual(['a']);
    expect(unfinishedTasks(plan, undefined)).toEqual(['a', 'b']);
  });
});

describe('planning a grid of downloaded models', () => {
  it('fetches a model\'s config and tokenizer without its weights when asked (weights: false)', async () => {
    const asked: string[] = [];
    const served: Record<string, string> = { 'config.json': '{}', 'tokenizer.json': '{}', 'tokenizer_config.json': '{}', 'model.safetensors': 'weights' };
    const fetchFn = (async (url: string) => {
      const name = url.split('/').pop()!;
      asked.push(name);
      return name in served ? new Response(served[name]) : new Response('', { status: 404 });
    }) as typeof fetch;
    const files = await fetchModelFiles('https://example.org/m/', { fetchFn, weights: false });
    expect(files.list()).toEqual(['config.json', 'tokenizer.json', 'tokenizer_config.json']);
    expect(asked).not.toContain('model.safetensors');
    expect(asked).not.toContain('model.safetensors.index.json');
    asked.length = 0;
    expect((await fetchModelFiles('https://example.org/m/', { fetchFn })).list()).toContain('model.safetensors');
  });
});
