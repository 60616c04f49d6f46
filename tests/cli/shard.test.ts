// A sweep split into shards run as separate processes: merged, they equal the sweep run whole, row for row
// (timings aside); a shard killed mid-run and started again finishes with nothing lost or doubled; merging
// overlapping and conflicting files does what docs/distributed.md says.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { configId, parseCsv, parseJsonl, type ResultRow, resultsText, rowId, toCsv, toJsonl } from '../../src/sweep/results';
import { RUN_COLUMNS } from '../../src/sweep/shard';

// RTN over 4 bit widths x 3 group sizes plus the float baseline: 13 configurations of the smallest model, two tasks
// on 2 items and one perplexity window each (about half a second a configuration on two CPU cores)
const GRID = ['--model', 'qwen3-dict-74k', '--methods', 'rtn', '--bits', '2,3,4,8', '--group', '32,64,128', '--calib', '0',
  '--tasks', 'ppl,dict_kindof_cloze', '--limit', '2', '--ppl-windows', '1'];
const CONFIGS = 13;

function runCli(args: string[], killAfterSaves?: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/quantlab.mjs', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (killAfterSaves !== undefined && (stderr.match(/saved \d+ rows/g) ?? []).length >= killAfterSaves) child.kill('SIGKILL'); // like a preempted pod
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A row without the columns that say when, where and how fast it was measured. */
const measured = (r: ResultRow) => Object.fromEntries(Object.entries(r).filter(([k]) => !RUN_COLUMNS.includes(k as keyof ResultRow)));
const byId = (rows: ResultRow[]) => [...rows].sort((a, b) => (rowId(a) < rowId(b) ? -1 : 1)).map(measured);
const readRows = async (path: string) => parseJsonl(await resultsText(readFileSync(path)), path);

describe('quantlab sweep --shard, quantlab merge', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ql-shard-'));
  const file = (name: string) => join(dir, name);
  let whole: ResultRow[] = [];
  let shard0Partial: ResultRow[] = [];

  beforeAll(async () => {
    // the whole sweep, shards 1 and 2 to the end, and shard 0 killed after its second configuration: all at once
    const [w, s1, s2, s0] = await Promise.all([
      runCli(['sweep', ...GRID, '--out', file('whole.jsonl')]),
      runCli(['sweep', ...GRID, '--shard', '1/3', '--out', file('shard-1.jsonl')]),
      runCli(['sweep', ...GRID, '--shard', '2/3', '--out', file('shard-2.jsonl')]),
      runCli(['sweep', ...GRID, '--shard', '0/3', '--out', file('shard-0.jsonl')], 2),
    ]);
    for (const r of [w, s1, s2]) expect(r.code, r.stderr).toBe(0);
    expect(s0.code).not.toBe(0);
    whole = await readRows(file('whole.jsonl'));
    shard0Partial = await readRows(file('shard-0.jsonl'));
  });

  it('a killed shard, started again, finishes its own configurations with nothing lost or doubled', async () => {
    const dry = await runCli(['sweep', ...GRID, '--shard', '0/3', '--dry-run', '--out', file('shard-0.jsonl')]);
    const planned: string[] = JSON.parse(dry.stdout);
    const doneBefore = new Set(shard0Partial.map(configId)).size;
    expect(doneBefore).toBeGreaterThanOrEqual(2);
    expect(doneBefore).toBeLessThan(planned.length);
    const again = await runCli(['sweep', ...GRID, '--shard', '0/3', '--out', file('shard-0.jsonl')]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`${planned.length - doneBefore} configuration\\(s\\) run, ${doneBefore} already done`));
    const rows = await readRows(file('shard-0.jsonl'));
    expect(new Set(rows.map(rowId)).size).toBe(rows.length);
    expect(new Set(rows.map(configId)).size).toBe(planned.length);
    expect(rows.slice(0, shard0Partial.length)).toEqual(shard0Partial); // what was saved before the kill is untouched
  });

  it('the shards merged equal the sweep run whole, row for row (timings aside), and the grid is complete', async () => {
    const m = await runCli(['merge', file('merged.jsonl'), file('shard-0.jsonl'), file('shard-1.jsonl'), file('shard-2.jsonl'), ...GRID, '--shards', '3', '--complete', '--json']);
    expect(m.code, m.stderr).toBe(0);
    const merged = await readRows(file('merged.jsonl'));
    expect(new Set(whole.map(configId)).size).toBe(CONFIGS);
    expect(byId(merged)).toEqual(byId(whole));
    const summary = JSON.parse(m.stdout);
    expect(summary.grid).toMatchObject({ planned: CONFIGS, done: CONFIGS, missing: [], incomplete: [], outside: 0 });
    expect(summary.conflicts).toEqual([]);
    // each shard ran its own configurations only: no row of one shard in another
    expect(summary.sources.map((s: { duplicates: number; added: number; rows: number }) => s.added === s.rows && s.duplicates === 0)).toEqual([true, true, true]);
  });

  it('merging overlapping files (JSON Lines, gzipped CSV) keeps one row per identity, the larger sample, and names the missing shard', async () => {
    writeFileSync(file('shard-1.csv.gz'), gzipSync(toCsv(await readRows(file('shard-1.jsonl')))));
    // a re-run of shard 2 on more items of one task: its rows replace the smaller ones
    const more = (await readRows(file('shard-2.jsonl'))).map((r) => (r.task === 'dict_kindof_cloze' ? { ...r, items: 3, acc: 1 / 3, created: 'later' } : r));
    writeFileSync(file('shard-2-more.jsonl'), toJsonl(more));
    const m = await runCli(['merge', file('partial.csv'), file('shard-1.jsonl'), file('shard-1.csv.gz'), file('shard-2.jsonl'), file('shard-2-more.jsonl'), ...GRID, '--shards', '3', '--json']);
    expect(m.code, m.stderr).toBe(0);
    const rows = parseCsv(readFileSync(file('partial.csv'), 'utf8'));
    const s1 = await readRows(file('shard-1.jsonl'));
    expect(rows).toHaveLength(s1.length + more.length);
    expect(rows.filter((r) => r.task === 'dict_kindof_cloze' && more.some((x) => rowId(x) === rowId(r))).every((r) => r.items === 3)).toBe(true);
    const summary = JSON.parse(m.stdout);
    expect(summary.sources.map((s: { duplicates: number; replaced: number }) => [s.duplicates, s.replaced])).toEqual([[0, 0], [s1.length, 0], [0, 0], [more.length / 2, more.length / 2]]);
    // shard 0 is absent: every missing configuration is shard 0's, and the command says to run 0/3 again
    const shard0 = new Set((await readRows(file('shard-0.jsonl'))).map(configId));
    expect(summary.grid.missing.map((g: { id: string }) => g.id).sort()).toEqual([...shard0].sort());
    expect(summary.grid.missing.every((g: { shard: number }) => g.shard === 0)).toBe(true);
    expect(m.stderr).toMatch(/shards to run again \(each resumes from its --out\): 0\/3/);
    const complete = await runCli(['merge', file('partial.csv'), file('shard-1.jsonl'), ...GRID, '--complete']);
    expect(complete.code).toBe(1);
    expect(complete.stderr).toMatch(/the grid lacks \d+ configuration\(s\)/);
  });

  it('conflicting rows of one identity are listed, the first file\'s row kept, and the exit status says so', async () => {
    const s1 = await readRows(file('shard-1.jsonl'));
    const changed = s1.map((r, i) => (i === 0 ? { ...r, perplexity: (r.perplexity ?? 0) + 1, acc: r.acc } : r));
    writeFileSync(file('shard-1-other-gpu.jsonl'), toJsonl(changed));
    const m = await runCli(['merge', file('conflict.jsonl'), file('shard-1.jsonl'), file('shard-1-other-gpu.jsonl'), '--json']);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(new RegExp(`conflict ${rowId(s1[0]).replace(/[|.]/g, '\\$&')}: .*shard-1.jsonl and .*shard-1-other-gpu.jsonl differ in perplexity`));
    expect(m.stderr).toMatch(/1 conflicting row\(s\)/);
    const summary = JSON.parse(m.stdout);
    expect(summary.conflicts).toHaveLength(1);
    expect(summary.conflicts[0]).toMatchObject({ columns: ['perplexity'], kept_values: { perplexity: s1[0].perplexity } });
    expect(await readRows(file('conflict.jsonl'))).toEqual(s1); // written, with the first file's rows
    const allowed = await runCli(['merge', file('conflict.jsonl'), file('shard-1.jsonl'), file('shard-1-other-gpu.jsonl'), '--allow-conflicts']);
    expect(allowed.code, allowed.stderr).toBe(0);
  });

  it('bad input is a usage error that says what to give', async () => {
    const shard = await runCli(['sweep', ...GRID, '--shard', '3/3', '--out', file('x.jsonl')]);
    expect(shard.code).toBe(2);
    expect(shard.stderr).toMatch(/--shard: "3\/3": the index must be below the number of shards \(0 to 2\)/);
    const out = await runCli(['merge', file('merged.txt'), file('shard-1.jsonl')]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/must end in \.jsonl or \.csv/);
    const missing = await runCli(['merge', file('m.jsonl'), file('no-such.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*no-such\.jsonl/);
  });
});
