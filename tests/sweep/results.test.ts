import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { jsonlStore } from '../../src/cli/jsonl-store';
import { memoryStore } from '../../src/sweep/store';
import { mergeRows, parseCsv, parseJsonl, parseResults, type ResultRow, resultsText, toCsv, toJsonl } from '../../src/sweep/results';
import { resultRow } from '../helpers/rows';

// CSV-special characters in the adapter, and a fallback, so that every column round-trips
const row = (over: Partial<ResultRow> = {}): ResultRow => resultRow({ fallback: 'diagonal x1', adapter: 'nvidia, "H100", 80GB', ...over });

describe('results rows', () => {
  it('round-trip through CSV (quotes, commas, nulls) and JSON Lines', () => {
    const rows = [row(), row({ task: 'ppl_heldout_dict', level: '', metric: 'token_ppl@256', acc: null, acc_chance: null, acc_adj: null, perplexity: 31.9 })];
    expect(parseCsv(toCsv(rows))).toEqual(rows);
    expect(parseJsonl(toJsonl(rows))).toEqual(rows);
    expect(parseResults(toCsv(rows), 'x.csv')).toEqual(rows);
    expect(parseResults(JSON.stringify(rows), 'x.json')).toEqual(rows);
  });
  it('reads gzipped results as the plain file (by their magic bytes), and plain bytes as UTF-8', async () => {
    const text = toJsonl([row(), row({ model: 'llama-dict-74k', family: 'llama', adapter: 'Ä "quoted", ü' })]);
    const plain = new TextEncoder().encode(text);
    expect(await resultsText(plain)).toBe(text);
    expect(await resultsText(new Uint8Array(gzipSync(plain)))).toBe(text);
    expect(parseResults(await resultsText(new Uint8Array(gzipSync(plain))), 'r.jsonl.gz')).toEqual(parseResults(text, 'r.jsonl'));
    expect(await resultsText(new Uint8Array())).toBe('');
  });

  it('a last line cut short by a crash is skipped, a corrupt middle line is an error', () => {
    const text = toJsonl([row(), row({ task: 'dict_define_mc' })]);
    expect(parseJsonl(text + '{"model":"qwen3-di')).toHaveLength(2);
    expect(() => parseJsonl('{"bad\n' + text)).toThrow(/:1: not valid JSON/);
  });
  it('merging another machine\'s results adds new (configuration, task) rows and keeps the present ones', () => {
    const mine = [row(), row({ bits: 3 })];
    const theirs = [row({ acc: 0.99 }), row({ bits: 8 }), row({ task: 'dict_define_mc' })];
    const { added, replaced, written } = mergeRows(mine, theirs);
    expect([added, replaced]).toEqual([2, 0]);
    expect(written).toEqual([theirs[1], theirs[2]]);
    expect(mine).toHaveLength(4);
    expect(mine[0].acc).toBe(0.45); // the same measurement present: kept
  });
  it('a row measured on more items replaces the present one (a full sweep imported over a quick demo), fewer items do not', () => {
    const mine = [row({ items: 3, acc: 1 }), row({ bits: 3, items: 500 })];
    const theirs = [row({ items: 500, acc: 0.4 }), row({ bits: 3, items: 50, acc: 0.1 })];
    const { added, replaced, written } = mergeRows(mine, theirs);
    expect([added, replaced]).toEqual([0, 1]);
    expect(written).toEqual([theirs[0]]);
    expect(mine.map((r) => [r.items, r.acc])).toEqual([[500, 0.4], [500, 0.45]]);
  });
  it('a store takes written rows as replacements of the stored (configuration, task)', async () => {
    const store = memoryStore([row({ items: 3 })]);
    const { written } = mergeRows(await store.all(), [row({ items: 400, acc: 0.5 }), row({ bits: 8 })]);
    await store.append(written);
    expect((await store.all()).map((r) => [r.bits, r.items])).toEqual([[4, 400], [8, 100]]);
    const dir = mkdtempSync(join(tmpdir(), 'ql-'));
    const file = jsonlStore(join(dir, 'r.jsonl'));
    await file.append([row({ items: 3 }), row({ bits: 3 })]);
    await file.append([row({ items: 400 })]);
    expect((await file.all()).map((r) => [r.bits, r.items])).toEqual([[4, 400], [3, 100]]);
    rmSync(dir, { recursive: true });
  });
  it('rejects rows without a model or with a non-numeric N, naming the line', () => {
    expect(() => parseCsv('model,task,n_params,bits\n,x,1,4\n', 'r.csv')).toThrow(/r.csv:2: the row has no "model"/);
    expect(() => parseCsv('model,task,n_params,bits\nm,x,abc,4\n', 'r.csv')).toThrow(/n_params/);
  });
});
