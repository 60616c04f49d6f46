import { useState } from 'react';
import { evaluate, type EvalReport } from '../../eval/run';
import { LEVELS, type Suite, TASKS } from '../../eval/tasks';
import { reportRows } from '../../sweep/engine';
import type { ConfigKey } from '../../sweep/results';
import { browserData } from '../browser';
import { useLab } from '../lab';
import { fmt, ProgressLine, Select, useTask } from '../widgets';

export function EvaluatePanel() {
  const { gpu, loaded, quantized, addResults, report, inform } = useLab();
  const [suite, setSuite] = useState<Suite>('dict');
  const [chosen, setChosen] = useState<string[]>(['ppl', ...TASKS.filter((t) => t.suite === 'dict').map((t) => t.name)]);
  const [limit, setLimit] = useState(50);
  const [result, setResult] = useState<{ report: EvalReport; label: string; key: ConfigKey; quantSeconds: number } | null>(null);
  const { busy, progress, setProgress, run: runTask, cancel } = useTask(report);

  async function run() {
    if (!gpu || !loaded) return;
    await runTask(async (signal) => {
      const model = quantized?.result.model ?? loaded.model;
      const r = await evaluate(model, loaded.tokenizer, browserData, { tasks: chosen, suite, limit, pplWindows: 8, signal, onProgress: setProgress });
      const o = quantized?.result.options;
      const key: ConfigKey = {
        model: loaded.name, family: loaded.ckpt.config.arch, n_params: loaded.ckpt.nonEmbeddingParams,
        method: o ? o.method : 'fp', bits: o ? o.bits : 16, group_size: o ? o.groupSize : 0,
        calib_size: quantized?.result.calibration?.count ?? 0, seqlen: quantized?.result.calibration?.seqLen ?? 0,
        sym: o ? o.sym : true, act_order: o ? o.actOrder : false, mode: o?.method === 'gptq' ? (o.mode ?? 'sequential') : '', seed: quantized?.result.calibration?.seed ?? 0,
      };
      setResult({ report: r, label: quantized?.label ?? 'float model', key, quantSeconds: quantized?.result.seconds ?? 0 });
    });
  }

  async function save() {
    if (!result || !gpu) return;
    const { added, replaced } = await addResults(reportRows(result.key, result.report, result.quantSeconds, gpu.adapterName));
    inform(added + replaced
      ? `${added + replaced} result rows saved${replaced ? ` (${replaced} replacing ones measured on fewer items)` : ''}: the Fit tab uses them.`
      : 'Nothing saved: these tasks of this configuration are stored already, measured on as many items or more.');
  }

  if (!loaded) return <section className="card empty"><h2>Evaluate</h2><p>Load a model first (Model tab).</p></section>;
  const tasks = TASKS.filter((t) => t.suite === suite);
  return (
    <div className="grid two">
      <section className="card">
        <h2>Evaluate {quantized ? `the quantized model (${quantized.label})` : `${loaded.name} (float)`}</h2>
        <div className="controls">
          <Select label="Suite" title="The lab's dictionary tasks (for its own small models) or the study's real benchmarks (for real pretrained models)" value={suite}
            options={[{ value: 'dict', label: 'dictionary tasks (bundled models)' }, { value: 'real', label: 'real benchmarks (NQ, OBQA, GSM8K)' }]}
            onChange={(s) => { setSuite(s); setChosen(['ppl', ...TASKS.filter((t) => t.suite === s).map((t) => t.name)]); }} />
          <label className="field" title="Items per task: a seeded subset (the mini suite). More items, smaller standard errors">
            Items per task
            <input type="number" min={1} max={500} value={limit} onChange={(e) => setLimit(Number(e.target.value))} data-testid="eval-limit" />
          </label>
        </div>
        <fieldset className="field">
          <legend>Tasks</legend>
          <div className="checks">
            <label title={suite === 'dict' ? 'Token perplexity on held-out dictionary text' : 'Token perplexity on WikiText-2 (GPTQ papers)'}>
              <input type="checkbox" checked={chosen.includes('ppl')} onChange={(e) => setChosen(e.target.checked ? [...chosen, 'ppl'] : chosen.filter((c) => c !== 'ppl'))} /> perplexity
            </label>
            {tasks.map((t) => (
              <label key={t.name} title={t.description}>
                <input type="checkbox" checked={chosen.includes(t.name)} onChange={(e) => setChosen(e.target.checked ? [...chosen, t.name] : chosen.filter((c) => c !== t.name))} />
                <span className={`level-${t.level}`}>{t.level}</span> {t.name}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="controls">
          <button onClick={run} disabled={busy || !gpu} data-testid="evaluate">Evaluate</button>
          {result && !busy && <button className="ghost" onClick={save} title="Add these scores to the results store, beside the sweep's">Save to results</button>}
        </div>
        {busy && <ProgressLine progress={progress} onCancel={cancel} />}
      </section>
      {result ? <EvalTables report={result.report} label={result.label} /> : <section className="card empty"><h2>Scores</h2><p>Run the mini benchmarks to see accuracy per task and per knowledge level: memorisation (KM), application (KA), reasoning (KR).</p></section>}
    </div>
  );
}

export function EvalTables({ report, label }: { report: EvalReport; label: string }) {
  return (
    <section className="card" data-testid="eval-results">
      <h2>Scores: {label}</h2>
      <div className="hscroll">
      <table className="small">
        <thead><tr><th>task</th><th>level</th><th>metric</th><th className="num">acc</th><th className="num">chance</th><th className="num">Acc_adj</th><th className="num">± se</th><th className="num">items</th></tr></thead>
        <tbody>
          {report.perplexity.map((p) => (
            <tr key={p.task}><td>{p.task}</td><td /><td>{p.metric}</td><td className="num" colSpan={3}>{fmt(p.ppl, 2)}</td><td /><td className="num" title={`${p.windows} windows of ${p.metric.split('@')[1] ?? ''} tokens`}>{p.windows} win.</td></tr>
          ))}
          {report.tasks.map((t) => (
            <tr key={t.task} title={Object.entries(t.extra).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}>
              <td>{t.task}</td><td className={`level-${t.level}`}>{t.level}</td><td>{t.metric}</td>
              <td className="num">{fmt(t.acc)}</td><td className="num">{fmt(t.acc_chance, 2)}</td><td className="num">{fmt(t.acc_adj)}</td><td className="num">{fmt(t.stderr)}</td><td className="num">{t.items}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      <h3>Per level (mean Acc_adj over the level's tasks)</h3>
      <table>
        <tbody>
          {report.levels.map((l) => <tr key={l.level}><th className={`level-${l.level}`}>{l.level}</th><td className="num">{fmt(l.acc_adj)}</td><td className="muted small">{l.tasks} task{l.tasks > 1 ? 's' : ''}</td></tr>)}
        </tbody>
      </table>
      <p className="muted small">{report.seconds.toFixed(1)} s. Levels: {LEVELS.join(', ')} and General (all tasks).</p>
    </section>
  );
}
