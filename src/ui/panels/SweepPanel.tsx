import { useMemo, useRef, useState } from 'react';
import { SWEEP_DEFAULTS } from '../../sweep/run-config';
import { BIT_WIDTHS } from '../../model/config';
import { LAB_ITEMS_PER_TASK } from '../../eval/settings';
import { type HeadSettings, LM_HEAD_DEFAULTS } from '../../quant/settings';
import { PPL_WINDOWS } from '../../eval/run';
import { Checkpoint } from '../../model/checkpoint';
import { fetchModelFiles } from '../../model/hub';
import { TextTokenizer } from '../../model/tokenizer';
import { formatSeconds } from '../../progress';
import { sweepProblem } from '../../sweep/checks';
import { estimateSweep, planSweep, SweepRunner, type SweepModel, type SweepOptions, type SweepStatus, timesFromRows } from '../../sweep/engine';
import { gridPoints, PRESETS } from '../../sweep/grid';
import { configId, parseResults, previewMerge, type ResultRow, resultsText, toCsv } from '../../sweep/results';
import { browserData, saveFile } from '../browser';
import { bundledUrl } from '../files';
import { useLab } from '../lab';
import { NumberChoice, ProgressLine, Select } from '../widgets';
import { useBundledModels } from './ModelPanel';
import { ResultsTable } from './ResultsTable';

/** What the Sweep tab offers for the LM head: float (the study's), GPTQModel's default, or as the layers' usual 4-bit. */
const HEADS: { label: string; settings?: HeadSettings }[] = [
  { label: 'float (as the study)' },
  { label: `${LM_HEAD_DEFAULTS.bits}-bit G=${LM_HEAD_DEFAULTS.groupSize} (GPTQModel's)`, settings: LM_HEAD_DEFAULTS },
  { label: '4-bit G=128', settings: { ...LM_HEAD_DEFAULTS, bits: 4, groupSize: 128 } },
];

export function SweepPanel() {
  const { gpu, gpuError, store, results, refreshResults, addResults, clearResults, report, inform } = useLab();
  const bundled = useBundledModels();
  const [models, setModels] = useState<string[]>([]);
  const [preset, setPreset] = useState('quick');
  const [grid, setGrid] = useState(PRESETS[0].grid);
  const [methods, setMethods] = useState<('gptq' | 'rtn')[]>([...SWEEP_DEFAULTS.methods]);
  const [mode, setMode] = useState<'sequential' | 'shared'>(SWEEP_DEFAULTS.mode);
  const [head, setHead] = useState(0);
  const [limit, setLimit] = useState(LAB_ITEMS_PER_TASK);
  const [status, setStatus] = useState<SweepStatus | null>(null);
  const [running, setRunning] = useState(false);
  const [paused, setPaused] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const resume = useRef<(() => void) | null>(null);
  const gateRef = useRef<Promise<void> | null>(null);

  const chosenModels = models.length ? models : bundled.filter((m) => m.default).map((m) => m.name);
  const sweepModels: SweepModel[] = chosenModels.map((name) => ({
    id: name,
    open: async () => {
      const files = await fetchModelFiles(bundledUrl(name), { files: bundled.find((m) => m.name === name)?.files });
      const ckpt = await Checkpoint.open(files);
      return { ckpt, tokenizer: await TextTokenizer.load(files, ckpt.config) };
    },
  }));
  // the CLI's checks (src/sweep/checks.ts): what it refuses, Run is disabled for, with the same words
  const problem = sweepProblem({ models: chosenModels.length, grid, methods, limit });
  const opts: SweepOptions = {
    models: sweepModels, points: problem ? [] : gridPoints(grid), methods, mode, tasks: [...SWEEP_DEFAULTS.tasks], limit, pplWindows: PPL_WINDOWS, lmHead: HEADS[head].settings,
  };
  const plan = problem ? [] : planSweep(opts);
  // before a run: from the rows this adapter measured (those already stored count as if they will run again)
  const estimate = useMemo(() => (gpu && plan.length ? estimateSweep(plan, timesFromRows(results, gpu.adapterName), opts) : undefined),
    [gpu, results, plan.length, preset, grid, methods, mode, head, limit, chosenModels.join()]); // eslint-disable-line react-hooks/exhaustive-deps
  const [pending, setPending] = useState<{ name: string; rows: ResultRow[]; preview: ReturnType<typeof previewMerge> } | null>(null);

  async function run() {
    if (!gpu || problem) return;
    setRunning(true);
    setPaused(false);
    const ac = new AbortController();
    abort.current = ac;
    try {
      const res = await new SweepRunner(gpu, store, browserData).run(opts, {
        signal: ac.signal,
        gate: () => gateRef.current ?? Promise.resolve(),
        onStatus: setStatus,
        onRows: () => void refreshResults(),
      });
      inform(`Sweep ${ac.signal.aborted ? 'stopped' : 'finished'}: ${res.ran} configuration(s) run, ${res.skipped} already in the results, ${res.seconds.toFixed(0)} s.`);
    } catch (e) {
      report(e);
    } finally {
      setRunning(false);
      setStatus(null);
      await refreshResults();
    }
  }

  function togglePause() {
    if (paused) {
      resume.current?.();
      gateRef.current = null;
      setPaused(false);
    } else {
      gateRef.current = new Promise<void>((r) => (resume.current = r));
      setPaused(true);
    }
  }

  /** Reads a results file; where it would replace stored configurations, asks first (pending) instead of merging. */
  async function importFile(f: File) {
    try {
      const rows = parseResults(await resultsText(new Uint8Array(await f.arrayBuffer())), f.name);
      const preview = previewMerge(results, rows);
      if (preview.replaced.length) setPending({ name: f.name, rows, preview });
      else await merge(f.name, rows, false);
    } catch (e) {
      report(e);
    }
  }

  async function merge(name: string, rows: ResultRow[], keepMine: boolean) {
    setPending(null);
    try {
      const { added, replaced } = await addResults(rows, { keepMine });
      inform(`${added} new result rows imported from ${name}${replaced ? `; ${replaced} of yours replaced by the file's, measured on more items` : ''}${keepMine ? '; yours kept where both had a configuration' : ''}.`);
    } catch (e) {
      report(e);
    }
  }

  const configs = new Set(results.map(configId)).size;
  return (
    <div className="grid two">
      <section className="card">
        <h2>Sweep</h2>
        <fieldset className="field" title="Models of one family at several sizes N: the law's N axis">
          <legend>Models (N)</legend>
          <div className="checks">
            {bundled.map((m) => (
              <label key={m.name}>
                <input type="checkbox" checked={chosenModels.includes(m.name)} onChange={(e) => setModels(e.target.checked ? [...chosenModels, m.name] : chosenModels.filter((x) => x !== m.name))} />
                {m.name}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="controls">
          <Select label="Preset" title="The study's grids, or a quick demo" value={preset} testId="preset"
            options={[...PRESETS.map((p) => ({ value: p.id, label: p.label })), { value: 'custom', label: 'Custom' }]}
            onChange={(id) => { setPreset(id); const p = PRESETS.find((x) => x.id === id); if (p) setGrid(p.grid); }} />
          <Select label="Hessians" title="Sequential (faithful, GPTQModel) or shared from the float model (faster; reused across B and G)" value={mode}
            options={[{ value: 'sequential', label: 'sequential' }, { value: 'shared', label: 'shared (faster)' }]} onChange={setMode} />
          <Select label="LM head" title="Quantize every configuration's LM head too (GPTQModel's lm_head), or leave it float as the study does; the results record it, and the Fit tab fits each choice apart" value={head} testId="sweep-head"
            options={HEADS.map((h, i) => ({ value: i, label: h.label }))} onChange={setHead} />
          <label className="field" title="Items per task in each evaluation (the mini suite); fewer is faster, noisier">
            Items per task
            <input type="number" min={1} max={500} value={limit} onChange={(e) => setLimit(Number(e.target.value))} data-testid="sweep-limit" />
          </label>
        </div>
        <p className="muted small">{PRESETS.find((p) => p.id === preset)?.description}</p>
        <NumberChoice label="Bits B" title="Weight bit-widths" options={[...BIT_WIDTHS]} value={grid.bits} onChange={(bits) => { setPreset('custom'); setGrid({ ...grid, bits }); }} />
        <NumberChoice label="Group size G" title="Columns per scale/zero group" options={[32, 64, 128, 1024]} value={grid.groups} onChange={(groups) => { setPreset('custom'); setGrid({ ...grid, groups }); }} />
        <NumberChoice label="Calibration C_b" title="Calibration sequences" options={[8, 32, 128, 1024]} value={grid.calib} onChange={(calib) => { setPreset('custom'); setGrid({ ...grid, calib }); }} />
        <fieldset className="field" title="GPTQ, and the round-to-nearest baseline">
          <legend>Methods</legend>
          <div className="checks">
            {(['gptq', 'rtn'] as const).map((m) => (
              <label key={m}><input type="checkbox" checked={methods.includes(m)} onChange={(e) => setMethods(e.target.checked ? [...methods, m] : methods.filter((x) => x !== m))} />{m.toUpperCase()}</label>
            ))}
          </div>
        </fieldset>
        {problem ? <p className="problem" role="alert" data-testid="sweep-problem">Cannot run: {problem}.</p> : (
          <p data-testid="sweep-plan">
            <strong>{plan.length}</strong> configurations (float baselines included)
            {estimate ? `, about ${formatSeconds(estimate.seconds)} on this GPU if none is stored yet${estimate.basis === 'plan' ? ' (a first estimate: not all of it has been timed here)' : ''}` : ', time estimated once the float baseline has run'}.
            Configurations already in the results, measured on as many items per task, are skipped; those measured on fewer run again and replace them.
            Perplexity over {PPL_WINDOWS} windows, as in the Evaluate tab and the CLI.
          </p>
        )}
        {gpuError && <p className="problem" data-testid="sweep-no-gpu">Running a sweep needs WebGPU, which this browser does not expose; importing results and the table below work without it, and the Fit tab fits them.</p>}
        <div className="controls">
          {!running && <button onClick={run} disabled={!gpu || !plan.length} data-testid="run-sweep" title={problem ?? undefined}>Run sweep</button>}
          {running && <button className="ghost" onClick={togglePause}>{paused ? 'Resume' : 'Pause'}</button>}
        </div>
        {running && status && (
          <div data-testid="sweep-status">
            <p className="small">Configuration {status.config}/{status.total}: {status.label}
              {status.eta !== undefined ? `, about ${formatSeconds(status.eta)} left${status.etaBasis === 'plan' ? ' (a first estimate, partly from the plan)' : ''}` : ', time left estimated once the float baseline has run'}
              {paused ? ' (pausing after this configuration)' : ''}</p>
            <ProgressLine progress={status.phase} onCancel={() => abort.current?.abort()} />
          </div>
        )}
      </section>
      <section className="card" data-testid="results">
        <h2>Results <span className="muted small">{results.length} rows, {configs} configurations, kept in this browser</span></h2>
        <div className="controls">
          <button className="ghost" onClick={() => saveFile('quantlab-results.csv', toCsv(results), 'text/csv')} disabled={!results.length} data-testid="export-csv">Export CSV</button>
          <button className="ghost" onClick={() => saveFile('quantlab-results.json', JSON.stringify(results, null, 1), 'application/json')} disabled={!results.length}>Export JSON</button>
          <label className="ghost button" title="Merge results from another machine or the CLI (CSV, JSON or JSON Lines, gzipped or not)">
            Import… <input type="file" accept=".csv,.json,.jsonl,.gz" hidden data-testid="import" onChange={(e) => { const f = e.target.files?.[0]; e.target.value = ''; if (f) void importFile(f); }} />
          </label>
          <button className="ghost" disabled={!results.length || running} onClick={() => confirm('Delete every result kept in this browser?') && clearResults()}>Clear</button>
        </div>
        {pending && <ImportPreview pending={pending} onMerge={(keepMine) => merge(pending.name, pending.rows, keepMine)} onCancel={() => setPending(null)} />}
        {!results.length ? <p className="muted">No results yet: run a sweep, or import results (the repository's examples/family-sweep-h100.jsonl.gz holds a full run of the bundled family).</p> : <ResultsTable results={results} />}
      </section>
    </div>
  );
}

/** Before an import replaces any of the user's configurations: which, with how many items, and a choice. */
function ImportPreview({ pending, onMerge, onCancel }: { pending: { name: string; preview: ReturnType<typeof previewMerge> }; onMerge(keepMine: boolean): void; onCancel(): void }) {
  const p = pending.preview;
  const items = (x: [number, number]) => (x[0] === x[1] ? `${x[0]}` : `${x[0]}–${x[1]}`);
  return (
    <div className="card inset" role="dialog" aria-labelledby="import-title" data-testid="import-preview">
      <h3 id="import-title">Import {pending.name}?</h3>
      <p className="small">
        It adds {p.addedRows} result rows ({p.addedConfigs} new configurations). It also has {p.replaced.length} of your configurations, measured on more items per
        task: importing replaces yours with the file's unless you keep yours.{p.unchangedRows ? ` ${p.unchangedRows} of its rows are stored already with as many items or more: those stay as they are.` : ''}
      </p>
      <div className="scroll short">
        <table className="small">
          <thead><tr><th>your configuration</th><th className="num">tasks</th><th className="num" title="items per task">yours</th><th className="num" title="items per task">the file's</th></tr></thead>
          <tbody>{p.replaced.map((r) => <tr key={r.id} title={r.setting}><td>{r.label}</td><td className="num">{r.tasks}</td><td className="num">{items(r.mine)}</td><td className="num">{items(r.theirs)}</td></tr>)}</tbody>
        </table>
      </div>
      <div className="controls">
        <button onClick={() => onMerge(true)} data-testid="import-keep">Import, keeping mine</button>
        <button className="ghost" onClick={() => onMerge(false)} data-testid="import-replace">Import, replacing these {p.replaced.length}</button>
        <button className="ghost" onClick={onCancel}>Cancel</button>
      </div>
    </div>
  );
}
