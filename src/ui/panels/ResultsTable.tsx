// The results store as a table of configurations: one row each, a column per knowledge level (the mean Acc_adj
// of its tasks; General the mean of the levels, as everywhere in the lab), the perplexity with its windows, and
// the tasks behind a row on demand. Filters narrow thousands of imported rows to the few a question is about.
import { Fragment, useMemo, useState } from 'react';
import { generalScore, type Level, LEVELS } from '../../eval/tasks';
import { configId, configLabel, headQuantized, type ResultRow, settingOf } from '../../sweep/results';
import { fmt } from '../widgets';

export interface ConfigRow {
  id: string;
  /** The configuration's first row: its key (model, method, B, G, C_b, setting). */
  key: ResultRow;
  rows: ResultRow[];
  level: Partial<Record<Level | 'General', number>>;
  ppl: { value: number; windows: number; task: string } | null;
  /** Fewest and most items a task of it was measured on (perplexity windows aside). */
  items: [number, number];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Rows grouped by configuration, smallest model first, the float baseline before its quantizations. */
export function groupByConfig(rows: ResultRow[]): ConfigRow[] {
  const by = new Map<string, ResultRow[]>();
  for (const r of rows) {
    const id = configId(r);
    (by.get(id) ?? by.set(id, []).get(id)!).push(r);
  }
  const order = { fp: 0, gptq: 1, rtn: 2 } as const;
  return [...by.entries()].map(([id, rs]) => {
    const level: ConfigRow['level'] = {};
    const scored = rs.filter((r) => r.acc_adj !== null);
    for (const l of LEVELS) {
      const xs = scored.filter((r) => r.level === l).map((r) => r.acc_adj!);
      if (xs.length) level[l] = mean(xs);
    }
    const present = LEVELS.filter((l) => level[l] !== undefined).map((l) => level[l]!);
    if (present.length) level.General = generalScore(present);
    const p = rs.find((r) => r.perplexity !== null);
    // items per task (a perplexity's windows show beside it)
    const tasks = rs.filter((r) => r.perplexity === null);
    const items = (tasks.length ? tasks : rs).map((r) => r.items);
    return { id, key: rs[0], rows: rs, level, ppl: p ? { value: p.perplexity!, windows: p.items, task: p.task } : null, items: [Math.min(...items), Math.max(...items)] as [number, number] };
  }).sort((a, b) => a.key.n_params - b.key.n_params || a.key.model.localeCompare(b.key.model) || order[a.key.method] - order[b.key.method]
    || a.key.bits - b.key.bits || a.key.group_size - b.key.group_size || a.key.calib_size - b.key.calib_size || a.id.localeCompare(b.id));
}

type Filter = 'model' | 'method' | 'bits' | 'group_size' | 'calib_size' | 'setting';
const FILTERS: { key: Filter; label: string; of: (r: ResultRow) => string }[] = [
  { key: 'model', label: 'Model', of: (r) => r.model },
  { key: 'method', label: 'Method', of: (r) => r.method },
  { key: 'bits', label: 'B', of: (r) => String(r.bits) },
  { key: 'group_size', label: 'G', of: (r) => String(r.group_size) },
  { key: 'calib_size', label: 'C_b', of: (r) => String(r.calib_size) },
  { key: 'setting', label: 'Setting', of: (r) => (r.method === 'fp' ? 'float' : settingOf(r)) },
];
const PAGE = 100;

export function ResultsTable({ results }: { results: ResultRow[] }) {
  const configs = useMemo(() => groupByConfig(results), [results]);
  const [filter, setFilter] = useState<Partial<Record<Filter, string>>>({});
  const [open, setOpen] = useState<Set<string>>(new Set());
  const [limit, setLimit] = useState(PAGE);
  const values = useMemo(() => Object.fromEntries(FILTERS.map((f) => {
    const vs = [...new Set(configs.map((c) => f.of(c.key)))];
    return [f.key, f.key === 'model' || f.key === 'method' || f.key === 'setting' ? vs : vs.sort((a, b) => Number(a) - Number(b))];
  })) as Record<Filter, string[]>, [configs]);
  const shown = configs.filter((c) => FILTERS.every((f) => !filter[f.key] || f.of(c.key) === filter[f.key]));
  const toggle = (id: string) => setOpen((o) => {
    const n = new Set(o);
    if (!n.delete(id)) n.add(id);
    return n;
  });
  // fixed decimals down a column (no exponent beside a plain number)
  const cell = (x: number | undefined) => <td className="num">{x === undefined ? '–' : x.toFixed(3)}</td>;
  return (
    <div data-testid="results-table">
      <div className="controls filters">
        {FILTERS.filter((f) => values[f.key].length > 1 || filter[f.key]).map((f) => (
          <label key={f.key} className="field">
            {f.label}
            <select value={filter[f.key] ?? ''} data-testid={`filter-${f.key}`} onChange={(e) => { setFilter({ ...filter, [f.key]: e.target.value || undefined }); setLimit(PAGE); }}>
              <option value="">all ({values[f.key].length})</option>
              {values[f.key].map((v) => <option key={v} value={v}>{v === '-1' ? 'per channel' : v === '0' ? '–' : v}</option>)}
            </select>
          </label>
        ))}
      </div>
      <p className="muted small" data-testid="results-shown">{shown.length === configs.length ? `${configs.length} configurations` : `${shown.length} of ${configs.length} configurations`}; a level: the mean Acc_adj of its tasks, General: the mean of the levels. Click a row for its tasks.</p>
      <div className="scroll">
        <table className="small results">
          <thead><tr><th /><th>model</th><th>method</th><th className="num">B</th><th className="num">G</th><th className="num">C_b</th>
            {LEVELS.map((l) => <th key={l} className={`num level-${l}`}>{l}</th>)}<th className="num level-General">General</th>
            <th className="num" title="Token perplexity on the held-out text (in brackets: over how many windows)">PPL (win.)</th><th className="num" title="Items per task">items</th></tr></thead>
          <tbody>
            {shown.slice(0, limit).map((c) => {
              const k = c.key, expanded = open.has(c.id);
              return (
                <Fragment key={c.id}>
                  <tr className="config" data-testid="result-config" data-config={configLabel(k)} aria-expanded={expanded} onClick={() => toggle(c.id)}
                    title={`${configLabel(k)}${k.method === 'fp' ? '' : `; ${settingOf(k)}`}, seed ${k.seed}; ${c.rows.length} tasks; ${k.adapter}`}>
                    <td><button className="ghost small" aria-label={expanded ? 'Hide its tasks' : 'Show its tasks'}>{expanded ? '▾' : '▸'}</button></td>
                    <td>{k.model}</td><td>{k.method}{headQuantized(k) && <span className="muted" title={`LM head quantized too: ${k.lm_head_bits}-bit G=${k.lm_head_group_size}`}> +head {k.lm_head_bits}b</span>}</td><td className="num">{k.method === 'fp' ? '–' : k.bits}</td>
                    <td className="num">{k.group_size === -1 ? 'ch.' : k.group_size || '–'}</td><td className="num">{k.calib_size || '–'}</td>
                    {LEVELS.map((l) => <Fragment key={l}>{cell(c.level[l])}</Fragment>)}{cell(c.level.General)}
                    <td className="num">{c.ppl ? <>{fmt(c.ppl.value, 2)} <span className="muted">({c.ppl.windows})</span></> : '–'}</td>
                    <td className="num">{c.items[0] === c.items[1] ? c.items[0] : `${c.items[0]}–${c.items[1]}`}</td>
                  </tr>
                  {expanded && c.rows.map((r) => (
                    <tr key={r.task} className="task" data-testid="result-task">
                      <td /><td colSpan={5} className={`level-${r.level}`}>{r.task} <span className="muted">{r.metric}</span></td>
                      <td className="num" colSpan={LEVELS.length + 1}>{r.acc_adj !== null ? <>Acc_adj {fmt(r.acc_adj)}<span className="muted"> ±{fmt(r.stderr)} (acc {fmt(r.acc)})</span></> : '–'}</td>
                      <td className="num">{r.perplexity !== null ? <>{fmt(r.perplexity, 2)} <span className="muted">({r.items})</span></> : '–'}</td>
                      <td className="num">{r.items}</td>
                    </tr>
                  ))}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      </div>
      {shown.length > limit && <button className="ghost small" onClick={() => setLimit(limit + PAGE)} data-testid="results-more">Show {Math.min(PAGE, shown.length - limit)} more of {shown.length - limit}</button>}
    </div>
  );
}
