import { renameSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { QuantlabError } from '../../errors';
import { parseResults, type ResultRow, resultsText, toCsv, toJsonl } from '../../sweep/results';
import { gridGaps, type GridGap, type MergeConflict, mergeSources } from '../../sweep/shard';
import { UsageError } from '../args';
import type { Command } from '../command';
import { log, printJson, readUserFile } from '../command';
import { plannedGrid } from '../plan';
import { GRID_FLAGS, GRID_USAGE, sweepOptions } from './sweep';
import { DATA_DIR } from '../data';

/** Options that ask for a grid check: any of the sweep's grid options. */
const GRID_OPTIONS = ['model', 'preset', 'bits', 'group', 'calib', 'methods'];

class MergeProblemError extends QuantlabError {}

export const mergeCommand: Command = {
  name: 'merge',
  summary: 'merge sweep results (shards, machines, the lab\'s exports) by the lab\'s import rules; lists conflicts and what a grid lacks',
  usage: `quantlab merge OUT.jsonl|OUT.csv[.gz] IN... (JSON Lines, JSON or CSV, gzipped or not) [grid to check against: ${GRID_USAGE} (without --model: the models in the results)] [--shards N (name the shard of each gap)] [--complete (exit 1 when the grid lacks anything)] [--allow-conflicts (exit 0 despite conflicts)] [--json (the summary on stdout)]`,
  flags: [...GRID_FLAGS, 'complete', 'allow-conflicts', 'json'],
  async run(args) {
    const [out, ...inputs] = args.positional;
    if (!out || !inputs.length) throw new UsageError('give the output file, then one or more results files: quantlab merge OUT.jsonl IN.jsonl...');
    const format = outputFormat(out);
    const shards = args.has('shards') ? args.int('shards', undefined, 1) : undefined;
    const sources = [];
    for (const file of inputs) sources.push({ name: file, rows: parseResults(await resultsText(readUserFile(file)), file) });
    const merged = mergeSources(sources);

    const checkGrid = GRID_OPTIONS.some((o) => args.has(o));
    let gaps = null;
    if (checkGrid) {
      // without --model: the models the results name
      const specs = args.has('model') ? args.list('model') : [...new Set(merged.rows.map((r) => r.model))];
      if (!specs.length) throw new UsageError('no models to check the grid for: give --model (the results hold none)');
      gaps = gridGaps(await plannedGrid(sweepOptions(args, specs), args.str('data', DATA_DIR)), merged.rows, shards);
    }

    writeAtomically(out, format.gzip ? gzipSync(format.text(merged.rows)) : format.text(merged.rows));

    for (const s of merged.sources) {
      log(`${s.source}: ${s.rows} rows: ${s.added} added, ${s.replaced} replaced rows of fewer items, ${s.duplicates} duplicates, ${s.superseded} superseded (fewer items), ${s.conflicts} conflicts`);
    }
    for (const c of merged.conflicts) log(`conflict ${c.id}: ${c.kept.source} and ${c.other.source} differ in ${c.columns.map((k) => `${k} (${show(c.kept.row, k)} vs ${show(c.other.row, k)})`).join(', ')}; kept ${c.kept.source}'s`);
    log(`merge: ${merged.rows.length} rows -> ${out}`);
    if (gaps) {
      log(`grid: ${gaps.done} of ${gaps.planned} configurations done, ${gaps.missing.length} missing, ${gaps.incomplete.length} incomplete${gaps.outside ? `; ${gaps.outside} configuration(s) in the results are not in this grid` : ''}`);
      for (const g of gaps.missing) log(`  missing: ${describeGap(g)}`);
      for (const g of gaps.incomplete) log(`  incomplete: ${describeGap(g)}: ${g.tasks.join(', ')}`);
      const rerun = [...new Set([...gaps.missing, ...gaps.incomplete].map((g) => g.shard).filter((s) => s !== undefined))].sort((a, b) => a - b);
      if (shards && rerun.length) log(`  shards to run again (each resumes from its --out): ${rerun.map((i) => `${i}/${shards}`).join(' ')}`);
    }
    if (args.flag('json')) printJson({ out, rows: merged.rows.length, sources: merged.sources, conflicts: merged.conflicts.map(conflictJson), grid: gaps });

    const problems: string[] = [], actions: string[] = [];
    if (merged.conflicts.length && !args.flag('allow-conflicts')) {
      problems.push(`${merged.conflicts.length} conflicting row(s) (listed above; the earlier file's row was kept)`);
      actions.push('Find why one configuration measured differently (another GPU, another lab version), then drop a file or pass --allow-conflicts.');
    }
    if (gaps && args.flag('complete') && gaps.done < gaps.planned) {
      problems.push(`the grid lacks ${gaps.planned - gaps.done} configuration(s)`);
      actions.push('Run the shards named above again (each resumes from its --out) and merge again.');
    }
    if (problems.length) throw new MergeProblemError(`wrote ${out}, but ${problems.join(' and ')}.`, actions.join(' '));
  },
};

/** OUT's format, by its name: JSON Lines or CSV, gzipped when it ends in .gz. */
function outputFormat(out: string): { gzip: boolean; text: (rows: ResultRow[]) => string } {
  const gzip = out.endsWith('.gz');
  const base = gzip ? out.slice(0, -3) : out;
  if (base.endsWith('.jsonl')) return { gzip, text: toJsonl };
  if (base.endsWith('.csv')) return { gzip, text: toCsv };
  throw new UsageError(`the output ${out} must end in .jsonl or .csv (then .gz to gzip it): the formats the lab and quantlab fit read`);
}

/** Written beside, then renamed: a merge killed midway leaves OUT as it was (OUT may be one of the inputs). */
function writeAtomically(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.partial-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

function describeGap(g: GridGap): string {
  return `${g.label}${g.shard !== undefined ? ` (shard ${g.shard})` : ''}`;
}

function show(r: ResultRow, k: string): string {
  return JSON.stringify(r[k as keyof ResultRow]);
}

function conflictJson(c: MergeConflict) {
  return { id: c.id, columns: c.columns, kept: c.kept.source, other: c.other.source, kept_values: pick(c.kept.row, c.columns), other_values: pick(c.other.row, c.columns) };
}

function pick(r: ResultRow, cols: string[]): Record<string, unknown> {
  return Object.fromEntries(cols.map((c) => [c, r[c as keyof ResultRow]]));
}
