// A sweep spread over processes, GPUs and machines: which configurations shard I of N runs (a hash of the
// configuration's identity, so every process agrees without talking to the others), merging the shards' results
// by the lab's import rules with every conflict said, and what a grid still lacks once they are merged.
import { hashString } from '../random';
import { type ConfigKey, configId, mergeRows, type ResultRow, rowId } from './results';

/** Shard `index` (0-based, as Kubernetes' JOB_COMPLETION_INDEX and GPU indices count) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** "I/N" with 0 <= I < N; anything else is a RangeError that says what to give. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new RangeError(`"${text}" is not I/N: give the shard's index and the number of shards, e.g. 0/4 (indices count from 0)`);
  const index = Number(m[1]), count = Number(m[2]);
  if (count < 1) throw new RangeError(`"${text}": the number of shards must be at least 1`);
  if (index >= count) throw new RangeError(`"${text}": the index must be below the number of shards (0 to ${count - 1})`);
  return { index, count };
}

/**
 * The shard a configuration belongs to among `count`: FNV-1a of its identity (configId, the key its result rows
 * carry) modulo count. A function of the identity alone, so a shard's membership never depends on the order of
 * the grid or on which other configurations it has.
 */
export function shardOf(key: ConfigKey, count: number): number {
  return hashString(configId(key)) % count;
}

/**
 * Columns that say when, where and how fast a row was measured, not what: two rows of one identity that differ
 * only here are the same measurement (a shard run twice, a file merged twice).
 */
export const RUN_COLUMNS: readonly (keyof ResultRow)[] = ['quant_seconds', 'eval_seconds', 'created', 'adapter', 'lab_version'];

/** The columns in which two rows differ, run columns aside ([] = the same measurement). */
export function measurementDiff(a: ResultRow, b: ResultRow): (keyof ResultRow)[] {
  return (Object.keys(a) as (keyof ResultRow)[]).filter((c) => !RUN_COLUMNS.includes(c) && !Object.is(a[c], b[c]));
}

export interface MergeSource {
  name: string;
  rows: ResultRow[];
}

/** What merging one source did, row by row. */
export interface SourceSummary {
  source: string;
  rows: number;
  /** Identities seen for the first time. */
  added: number;
  /** Rows that replaced one measured on fewer items. */
  replaced: number;
  /** The same measurement as a row already kept (run columns aside): dropped. */
  duplicates: number;
  /** Measured on fewer items than a row already kept: dropped. */
  superseded: number;
  /** Measured on as many items as a row already kept, with other values: the kept row stays, the conflict is listed. */
  conflicts: number;
}

export interface MergeConflict {
  id: string;
  kept: { source: string; row: ResultRow };
  other: { source: string; row: ResultRow };
  /** The columns that differ. */
  columns: string[];
}

/**
 * Merges sources in order by the lab's import rules (mergeRows: a row measured on more items replaces one of
 * fewer; otherwise the row already kept stays), and says what happened to every row: a row equal to the kept one
 * but for its run columns is a duplicate; one of as many items with other values is a conflict, listed with the
 * columns that differ (the first source's row is kept).
 */
export function mergeSources(sources: MergeSource[]): { rows: ResultRow[]; sources: SourceSummary[]; conflicts: MergeConflict[] } {
  const rows: ResultRow[] = [];
  const kept = new Map<string, { source: string; row: ResultRow }>();
  const conflicts: MergeConflict[] = [];
  const summaries = sources.map(({ name, rows: incoming }) => {
    const s: SourceSummary = { source: name, rows: incoming.length, added: 0, replaced: 0, duplicates: 0, superseded: 0, conflicts: 0 };
    for (const r of incoming) {
      const id = rowId(r);
      const k = kept.get(id);
      if (!k) s.added++;
      else if (r.items > k.row.items) s.replaced++;
      else if (r.items < k.row.items) {
        s.superseded++;
        continue;
      } else {
        const columns = measurementDiff(k.row, r);
        if (columns.length) (s.conflicts++, conflicts.push({ id, kept: k, other: { source: name, row: r }, columns }));
        else s.duplicates++;
        continue;
      }
      kept.set(id, { source: name, row: r });
    }
    // the rows themselves go through the lab's own merge, so the two can never disagree on which row wins
    mergeRows(rows, incoming);
    return s;
  });
  return { rows, sources: summaries, conflicts };
}

/**
 * The planned tasks (task -> items) that a configuration's stored rows (task -> items) do not finish: absent, or
 * measured on fewer items than planned. The sweep skips a configuration with none left.
 */
export function unfinishedTasks(planned: Map<string, number>, have: Map<string, number> | undefined): string[] {
  return [...planned].filter(([task, n]) => (have?.get(task) ?? -1) < n).map(([task]) => task);
}

/** A configuration a grid plans: its identity and the items each of its tasks is to be scored on. */
export interface ExpectedConfig {
  key: ConfigKey;
  label: string;
  tasks: Map<string, number>;
}

export interface GridGap {
  id: string;
  label: string;
  /** Its shard among `shards`, when given. */
  shard?: number;
  /** Tasks with no row, or with a row of fewer items than planned ("task (n of m items)"). */
  tasks: string[];
}

/**
 * What a grid lacks in a set of rows, by the sweep's own rule for "done" (every planned task stored, on at least
 * the planned items): configurations with no row at all (missing), and those with some tasks absent or short
 * (incomplete). `outside`: configurations in the rows that the grid does not plan.
 */
export function gridGaps(planned: ExpectedConfig[], rows: ResultRow[], shards?: number): { planned: number; done: number; missing: GridGap[]; incomplete: GridGap[]; outside: number } {
  const have = new Map<string, Map<string, number>>();
  for (const r of rows) (have.get(configId(r)) ?? have.set(configId(r), new Map()).get(configId(r))!).set(r.task, r.items);
  const missing: GridGap[] = [], incomplete: GridGap[] = [];
  for (const p of planned) {
    const id = configId(p.key);
    const got = have.get(id);
    const short = unfinishedTasks(p.tasks, got).map((t) => (got?.has(t) ? `${t} (${got.get(t)} of ${p.tasks.get(t)} items)` : t));
    if (!short.length) continue;
    const gap: GridGap = { id, label: p.label, ...(shards ? { shard: shardOf(p.key, shards) } : {}), tasks: short };
    (got ? incomplete : missing).push(gap);
  }
  const ids = new Set(planned.map((p) => configId(p.key)));
  return { planned: planned.length, done: planned.length - missing.length - incomplete.length, missing, incomplete, outside: [...have.keys()].filter((id) => !ids.has(id)).length };
}
