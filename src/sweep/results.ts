// The results store's row: one per (configuration, task), the same in IndexedDB, JSON Lines, CSV and the fits.
// Export, import and merge (dedupe by configuration + task) live here; the storage backends are thin.
import { InputFileError } from '../errors';
import type { HeadSettings } from '../quant/settings';
import { LAB_VERSION } from '../version';

const NOT_RESULTS = 'Give results the lab wrote (Export CSV / JSON in the Sweep tab, quantlab sweep --out), gzipped or not; nothing was read.';

export interface ConfigKey {
  model: string;
  family: string;
  /** N: non-embedding parameters. */
  n_params: number;
  method: 'fp' | 'gptq' | 'rtn';
  /** 16 for the float baseline. */
  bits: number;
  /** -1 = per channel; 0 for the float baseline. */
  group_size: number;
  /** C_b: calibration sequences (0 without calibration). */
  calib_size: number;
  seqlen: number;
  sym: boolean;
  act_order: boolean;
  /** "sequential" (faithful) or "shared" Hessians. */
  mode: string;
  seed: number;
  /** GPTQ's dampening setting (a fraction of mean(diag H)); null without GPTQ. */
  damp: number | null;
  /** GPTQ's static groups (scales from the weights before the solve); false without GPTQ. */
  static_groups: boolean;
  /** The calibration text (a file of the data folder); '' without calibration. */
  calib_text: string;
  /** The LM head's bits where it is quantized too (GPTQModel's lm_head); 16 where it stays float (the study's). */
  lm_head_bits: number;
  /** The quantized LM head's group size (-1 = per channel); 0 where the head stays float. */
  lm_head_group_size: number;
}

/**
 * Each column of a configuration's key, and whether it is part of the configuration's identity (configId: what
 * a resumed sweep counts as done, what merges dedupe on, what the fits never pool across) or why not. `id`
 * formats the value in the identity. Columns added after results were first written have `absent`: the value
 * rows written before them were run with (ROWS_BEFORE_COLUMNS: fixed here, so that a later change of a default
 * cannot move old rows onto it); they appear in the identity only where they differ from it or are missing
 * (a row stored before the column, read back from IndexedDB or a file as it was), so that such rows, and configurations run with the
 * default, keep the identity (and the shard) they always had. To add a setting: its column here, in ConfigKey
 * and COLUMNS, and in engine.ts's configKey (src/sweep/run-config.ts says where its option is declared).
 */
/** The settings every row written before its column existed was run with (the defaults then). */
const ROWS_BEFORE_COLUMNS = Object.freeze({ damp: 0.05, calibText: 'calib_dict.txt', lmHeadBits: 16, lmHeadGroupSize: 0 });

type KeyColumn<K extends keyof ConfigKey> =
  | { id: (v: ConfigKey[K]) => string; absent?: (k: ConfigKey) => ConfigKey[K] }
  | { not: string };

export const KEY_COLUMNS: { [K in keyof ConfigKey]-?: KeyColumn<K> } = {
  model: { id: String },
  family: { not: 'follows from the model (its config.json)' },
  n_params: { not: 'follows from the model (its weights)' },
  method: { id: String },
  bits: { id: String },
  group_size: { id: String },
  calib_size: { id: String },
  seqlen: { id: String },
  sym: { id: (v) => (v ? 'sym' : 'asym') },
  act_order: { id: (v) => (v ? 'act' : 'noact') },
  mode: { id: String },
  seed: { id: String },
  damp: { id: (v) => `damp=${v}`, absent: (k) => (k.method === 'gptq' ? ROWS_BEFORE_COLUMNS.damp : null) },
  static_groups: { id: (v) => `static_groups=${v}`, absent: () => false },
  calib_text: { id: (v) => `calib_text=${v}`, absent: (k) => (k.method === 'gptq' ? ROWS_BEFORE_COLUMNS.calibText : '') },
  lm_head_bits: { id: (v) => `lm_head_bits=${v}`, absent: () => ROWS_BEFORE_COLUMNS.lmHeadBits },
  lm_head_group_size: { id: (v) => `lm_head_G=${v}`, absent: () => ROWS_BEFORE_COLUMNS.lmHeadGroupSize },
};

/** The key's LM head columns for a head quantized with `head`, or left float (undefined; the float baseline's too). */
export function headColumns(head: HeadSettings | undefined): Pick<ConfigKey, 'lm_head_bits' | 'lm_head_group_size'> {
  return head ? { lm_head_bits: head.bits, lm_head_group_size: head.groupSize } : { lm_head_bits: ROWS_BEFORE_COLUMNS.lmHeadBits, lm_head_group_size: ROWS_BEFORE_COLUMNS.lmHeadGroupSize };
}

/** Whether the configuration quantized its LM head too. */
export const headQuantized = (c: Pick<ConfigKey, 'lm_head_bits'>) => c.lm_head_bits !== undefined && c.lm_head_bits !== ROWS_BEFORE_COLUMNS.lmHeadBits;

export interface ResultRow extends ConfigKey {
  task: string;
  level: string; // KM | KA | KR, or '' for perplexity
  metric: string;
  acc: number | null;
  acc_chance: number | null;
  acc_adj: number | null;
  stderr: number | null;
  perplexity: number | null;
  items: number;
  fewshot: number;
  quant_seconds: number;
  /** The largest dampening fraction any layer's GPTQ needed (raised from the setting when a factorisation failed); null without GPTQ. */
  damp_used: number | null;
  /** Layers whose GPTQ fell back, e.g. "diagonal x2, rtn x1"; '' when none did. */
  fallback: string;
  /** Calibration tokens the Hessians came from (C_b x seqlen); 0 without calibration. */
  calib_tokens: number | null;
  eval_seconds: number;
  adapter: string;
  lab_version: string;
  created: string;
}

export const COLUMNS: (keyof ResultRow)[] = [
  'model', 'family', 'n_params', 'method', 'bits', 'group_size', 'calib_size', 'seqlen', 'sym', 'act_order', 'mode', 'seed',
  'damp', 'static_groups', 'calib_text', 'lm_head_bits', 'lm_head_group_size',
  'task', 'level', 'metric', 'acc', 'acc_chance', 'acc_adj', 'stderr', 'perplexity', 'items', 'fewshot',
  'quant_seconds', 'damp_used', 'fallback', 'calib_tokens', 'eval_seconds', 'adapter', 'lab_version', 'created',
];

const NUMERIC = new Set<keyof ResultRow>(['n_params', 'bits', 'group_size', 'calib_size', 'seqlen', 'seed', 'damp', 'lm_head_bits', 'lm_head_group_size', 'acc', 'acc_chance', 'acc_adj', 'stderr', 'perplexity', 'items', 'fewshot', 'quant_seconds', 'damp_used', 'calib_tokens', 'eval_seconds']);
const BOOLEAN = new Set<keyof ResultRow>(['sym', 'act_order', 'static_groups']);

/** The identity of a configuration (without the task): its identity columns (KEY_COLUMNS), in their order. */
export function configId(c: ConfigKey): string {
  const parts: string[] = [];
  for (const [name, col] of Object.entries(KEY_COLUMNS) as [keyof ConfigKey, KeyColumn<keyof ConfigKey>][]) {
    if ('not' in col) continue;
    const v = c[name];
    if (col.absent && (v === undefined || Object.is(v, col.absent(c)))) continue;
    parts.push((col.id as (v: unknown) => string)(v));
  }
  return parts.join('|');
}

export function rowId(r: ResultRow): string {
  return `${configId(r)}|${r.task}`;
}

/**
 * The setting a configuration was run in beyond model, method, B, G, C_b and seed: what a fit must not pool
 * across (sym or asym zeros, act-order, sequential or shared Hessians, calibration length, and any later
 * identity column off its default: dampening, static groups, calibration text, a quantized LM head).
 */
export function settingOf(c: ConfigKey): string {
  const later = (['damp', 'static_groups', 'calib_text', 'lm_head_bits', 'lm_head_group_size'] as const).filter((k) => {
    const col = KEY_COLUMNS[k];
    return 'id' in col && c[k] !== undefined && !Object.is(c[k], col.absent!(c));
  }).map((k) => (KEY_COLUMNS[k] as { id: (v: unknown) => string }).id(c[k]));
  return [c.sym ? 'sym' : 'asym', c.act_order ? 'act-order' : 'no-act-order', c.mode || 'no-hessian', `seqlen=${c.seqlen}`, ...later].join(',');
}

/**
 * Merges `incoming` into `into` by (configuration, task): a new row is added; a row measured on more items
 * than the one present replaces it (a larger sample of the same measurement, e.g. a full sweep imported over
 * a quick demo) unless `keepMine`; otherwise the present row stays. `written`: the rows added or replaced, for
 * the store.
 */
export function mergeRows(into: ResultRow[], incoming: ResultRow[], opts: { keepMine?: boolean } = {}): { added: number; replaced: number; written: ResultRow[] } {
  const at = new Map(into.map((r, i) => [rowId(r), i]));
  const written = new Map<string, ResultRow>();
  let added = 0, replaced = 0;
  for (const r of incoming) {
    const id = rowId(r);
    const i = at.get(id);
    if (i === undefined) {
      at.set(id, into.push(r) - 1);
      added++;
    } else if (!opts.keepMine && r.items > into[i].items) {
      if (!written.has(id)) replaced++;
      into[i] = r;
    } else continue;
    written.set(id, r);
  }
  return { added, replaced, written: [...written.values()] };
}

const groupText = (g: number) => (g === -1 ? 'channel' : String(g));

/** A configuration's quantization in words: "GPTQ 4-bit G=128 C_b=32", "RTN 3-bit G=32, head 8-bit G=32", "float baseline". */
export function quantLabel(c: Pick<ConfigKey, 'method' | 'bits' | 'group_size' | 'calib_size' | 'lm_head_bits' | 'lm_head_group_size'>): string {
  if (c.method === 'fp') return 'float baseline';
  const head = headQuantized(c) ? `, head ${c.lm_head_bits}-bit G=${groupText(c.lm_head_group_size)}` : '';
  return `${c.method.toUpperCase()} ${c.bits}-bit G=${groupText(c.group_size)}${c.method === 'gptq' ? ` C_b=${c.calib_size}` : ''}${head}`;
}

/** A configuration in words: "qwen3-dict-74k GPTQ 4-bit G=128 C_b=32", "... RTN 3-bit G=32, head 8-bit G=32", "... float baseline". */
export function configLabel(c: Pick<ConfigKey, 'model' | 'method' | 'bits' | 'group_size' | 'calib_size' | 'lm_head_bits' | 'lm_head_group_size'>): string {
  return `${c.model} ${quantLabel(c)}`;
}

/** A stored configuration that an import would replace: its tasks measured on more items in the file. */
export interface Replacement {
  id: string;
  label: string;
  setting: string;
  tasks: number;
  /** Items per task, fewest to most, in the store and in the file. */
  mine: [number, number];
  theirs: [number, number];
}

/**
 * What merging `incoming` into `into` would do, before doing it: rows and configurations it adds, the stored
 * configurations whose rows it would replace (mergeRows: more items win), and rows it leaves out (present
 * with as many items or more).
 */
export function previewMerge(into: ResultRow[], incoming: ResultRow[]): { addedRows: number; addedConfigs: number; replaced: Replacement[]; unchangedRows: number } {
  const mine = new Map(into.map((r) => [rowId(r), r]));
  const mineConfigs = new Set(into.map(configId));
  const seen = new Set<string>();
  const newConfigs = new Set<string>();
  const replaced = new Map<string, Replacement>();
  let addedRows = 0, unchangedRows = 0;
  const span = (x: [number, number], n: number): [number, number] => [Math.min(x[0], n), Math.max(x[1], n)];
  for (const r of incoming) {
    const id = rowId(r);
    if (seen.has(id)) continue;
    seen.add(id);
    const m = mine.get(id);
    if (!m) {
      addedRows++;
      if (!mineConfigs.has(configId(r))) newConfigs.add(configId(r));
    } else if (r.items > m.items) {
      const cid = configId(r);
      const x = replaced.get(cid) ?? { id: cid, label: configLabel(r), setting: settingOf(r), tasks: 0, mine: [Infinity, 0], theirs: [Infinity, 0] };
      x.tasks++;
      x.mine = span(x.mine, m.items);
      x.theirs = span(x.theirs, r.items);
      replaced.set(cid, x);
    } else unchangedRows++;
  }
  return { addedRows, addedConfigs: newConfigs.size, replaced: [...replaced.values()], unchangedRows };
}

function normalize(raw: Record<string, unknown>, where: string): ResultRow {
  const out: Record<string, unknown> = {};
  for (const c of COLUMNS) {
    const v = raw[c];
    if (NUMERIC.has(c)) out[c] = v === null || v === undefined || v === '' ? null : Number(v);
    else if (BOOLEAN.has(c)) out[c] = v === true || v === 'true' || v === '1' || v === 1;
    else out[c] = v === undefined || v === null ? '' : String(v);
  }
  for (const c of ['model', 'task'] as const) if (!out[c]) throw new InputFileError(`${where}: the row has no "${c}".`, NOT_RESULTS);
  for (const c of ['n_params', 'bits'] as const) if (!Number.isFinite(out[c] as number)) throw new InputFileError(`${where}: "${c}" is not a number.`, NOT_RESULTS);
  const row = out as unknown as ResultRow;
  // a row written before a column existed (or a CSV cell left empty) was run with the value it stands for
  for (const [name, col] of Object.entries(KEY_COLUMNS) as [keyof ConfigKey, KeyColumn<keyof ConfigKey>][]) {
    if ('absent' in col && col.absent && (raw[name] === undefined || raw[name] === null || raw[name] === '')) (row as unknown as Record<string, unknown>)[name] = col.absent(row);
  }
  return row;
}

export function toJsonl(rows: ResultRow[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}

export function parseJsonl(text: string, source = 'results.jsonl'): ResultRow[] {
  const rows: ResultRow[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      // A line cut short by a crash mid-write is skipped: everything before it is kept.
      if (i === text.split('\n').length - 1 || i === text.split('\n').length - 2) return;
      throw new InputFileError(`${source}:${i + 1}: not valid JSON.`, NOT_RESULTS);
    }
    rows.push(normalize(raw as Record<string, unknown>, `${source}:${i + 1}`));
  });
  return rows;
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(rows: ResultRow[]): string {
  return [COLUMNS.join(','), ...rows.map((r) => COLUMNS.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
}

/** RFC 4180 CSV (quoted fields, doubled quotes, newlines inside quotes). */
export function parseCsvTable(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [], cell = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') (row.push(cell), (cell = ''));
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      if (row.some((c) => c !== '')) out.push(row);
      (row = []), (cell = '');
    } else cell += ch;
  }
  if (cell !== '' || row.length) (row.push(cell), out.push(row));
  return out;
}

export function parseCsv(text: string, source = 'results.csv'): ResultRow[] {
  const [header, ...body] = parseCsvTable(text);
  if (!header) return [];
  return body.map((cells, i) => normalize(Object.fromEntries(header.map((h, j) => [h.trim(), cells[j]])), `${source}:${i + 2}`));
}

/**
 * The text of a results file's bytes, gunzipped first where they are gzip (by their magic bytes, whatever the
 * name: results.jsonl.gz, a download a browser saved without its extension). DecompressionStream is a web API
 * that Node has too, so the Sweep tab and the CLI read the same files.
 */
export async function resultsText(bytes: Uint8Array): Promise<string> {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return new TextDecoder().decode(bytes);
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Response(stream).text();
}

/** JSON Lines, a JSON array, or CSV, told apart by their first character. */
export function parseResults(text: string, source: string): ResultRow[] {
  const t = text.trimStart();
  if (t.startsWith('[')) {
    let rows: unknown;
    try {
      rows = JSON.parse(t);
    } catch (e) {
      throw new InputFileError(`${source}: not valid JSON (${(e as Error).message}).`, NOT_RESULTS);
    }
    return (rows as Record<string, unknown>[]).map((r, i) => normalize(r, `${source}[${i}]`));
  }
  if (t.startsWith('{')) return parseJsonl(text, source);
  return parseCsv(text, source);
}
