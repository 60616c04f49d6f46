import { useMemo, useRef, useState } from 'react';
import { Checkpoint } from '../../model/checkpoint';
import { fetchModelFiles } from '../../model/hub';
import { TextTokenizer } from '../../model/tokenizer';
import { formatSeconds } from '../../progress';
import { planSweep, SweepRunner, type SweepModel, type SweepOptions, type SweepStatus } from '../../sweep/engine';
import { gridPoints, PRESETS } from '../../sweep/grid';
import { configId, parseResults, type ResultRow, resultsText, settingOf, toCsv } from '../../sweep/results';
import { browserData, saveFile } from '../browser';
import { bundledUrl } from '../files';
import { useLab } from '../lab';
import { fmt, NumberChoice, ProgressLine, Select } from '../widgets';
import { useBundledModels } from './ModelPanel';

const SPEED_KEY = 'quantlab.secondsPerConfig';

function measuredSpeed(): Record<string, number> {
  try {
    return JSON.parse(localStorage.getItem(SPEED_KEY) ?? '{}');
  } catch {
    return {};
  }
}

export function SweepPanel() {
  const { gpu, store, results, refreshResults, addResults, clearResults, report, inform } = useLab();
  const bundled = useBundledModels();
  const [models, setModels] = useState<string[]>([]);
  const [preset, setPreset] = useState('quick');
  const [grid, setGrid] = useState(PRESETS[0].grid);
  const [methods, setMethods] = useState<('gptq' | 'rtn')[]>(['gptq']);
  const [mode, setMode] = useState<'sequential' | 'shared'>('sequential');
  const [limit, setLimit] = useState(50);
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
  const opts: SweepOptions = {
    models: sweepModels, points: gridPoints(grid), methods, mode, tasks: ['ppl', 'km', 'ka', 'kr'], limit, pplWindows: 4,
  };
  const plan = planSweep(opts);
  const speed = measuredSpeed();
  const estimate = chosenModels.every((m) => speed[m]) ? chosenModels.reduce((a, m) => a + speed[m] * plan.filter((c) => c.model.id === m).length, 0) : null;

  async function run() {
    if (!gpu) return;
    setRunning(true);
    setPaused(false);
    const ac = new AbortController();
    abort.current = ac;
    let t = performance.now();
    try {
      const res = await new SweepRunner(gpu, store, browserData).run(opts, {
        signal: ac.signal,
        gate: () => gateRef.current ?? Promise.resolve(),
        onStatus: setStatus,
        onRows: (rows: ResultRow[]) => {
          void refreshResults();
          const now = performance.now();
          const s = measuredSpeed();
          s[rows[0].model] = (now - t) / 1000;
          t = now;
          localStorage.setItem(SPEED_KEY, JSON.stringify(s));
        },
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

  async function importFile(f: File) {
    try {
      const { added, replaced } = await addResults(parseResults(await resultsText(new Uint8Array(await f.arrayBuffer())), f.name));
      inform(`${added} new result rows imported from ${f.name}${replaced ? `; ${replaced} replaced rows of the same configuration and task measured on fewer items` : ''} (the others present were kept).`);
    } catch (e) {
      report(e);
    }
  }

  const recent = useMemo(() => [...results].sort((a, b) => b.created.localeCompare(a.created)).slice(0, 300), [results]);
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
          <label className="field" title="Items per task in each evaluation (the mini suite); fewer is faster, noisier">
            Items per task
            <input type="number" min={1} max={500} value={limit} onChange={(e) => setLimit(Number(e.target.value))} data-testid="sweep-limit" />
          </label>
        </div>
        <p className="muted small">{PRESETS.find((p) => p.id === preset)?.description}</p>
        <NumberChoice label="Bits B" title="Weight bit-widths" options={[2, 3, 4, 8]} value={grid.bits} onChange={(bits) => { setPreset('custom'); setGrid({ ...grid, bits }); }} />
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
        <p data-testid="sweep-plan">
          <strong>{plan.length}</strong> configurations (float baselines included)
          {estimate !== null ? `, about ${formatSeconds(estimate)} on this GPU` : ', time measured after the first configuration'}.
          Configurations already in the results, measured on as many items per task, are skipped; those measured on fewer run again and replace them.
        </p>
        <div className="controls">
          {!running && <button onClick={run} disabled={!gpu || !plan.length} data-testid="run-sweep">Run sweep</button>}
          {running && <button className="ghost" onClick={togglePause}>{paused ? 'Resume' : 'Pause'}</button>}
        </div>
        {running && status && (
          <div data-testid="sweep-status">
            <p className="small">Configuration {status.config}/{status.total}: {status.label}{status.eta !== undefined ? `, about ${formatSeconds(status.eta)} left` : ''}{paused ? ' (pausing after this configuration)' : ''}</p>
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
            Import… <input type="file" accept=".csv,.json,.jsonl,.gz" hidden data-testid="import" onChange={(e) => e.target.files?.[0] && importFile(e.target.files[0])} />
          </label>
          <button className="ghost" disabled={!results.length || running} onClick={() => confirm('Delete every result kept in this browser?') && clearResults()}>Clear</button>
        </div>
        {!results.length ? <p className="muted">No results yet: run a sweep, or import results (the repository's examples/family-sweep-h100.jsonl.gz holds a full run of the bundled family).</p> : (
          <div className="scroll">
            <table className="small">
              <thead><tr><th>model</th><th>method</th><th className="num">B</th><th className="num">G</th><th className="num">C_b</th><th>task</th><th className="num">acc</th><th className="num">Acc_adj</th><th className="num">PPL</th></tr></thead>
              <tbody>
                {recent.map((r, i) => (
                  <tr key={i} title={`${r.method === 'fp' ? 'float baseline' : settingOf(r)}, seed ${r.seed}; ${r.items} ${r.level ? 'items' : 'windows'}; ${r.adapter}`}>
                    <td>{r.model}</td><td>{r.method}</td><td className="num">{r.bits}</td><td className="num">{r.group_size || '–'}</td><td className="num">{r.calib_size || '–'}</td>
                    <td className={`level-${r.level}`}>{r.task}</td><td className="num">{fmt(r.acc)}</td><td className="num">{fmt(r.acc_adj)}</td><td className="num">{fmt(r.perplexity, 2)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}
