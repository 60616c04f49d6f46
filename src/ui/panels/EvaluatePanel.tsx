import { useEffect, useState } from 'react';
import { evaluate, type EvalReport, PPL_WINDOWS } from '../../eval/run';
import { LAB_ITEMS_PER_TASK } from '../../eval/settings';
import { evalProblem } from '../../sweep/checks';
import { LEVELS, type Suite, suiteForModel, TASKS } from '../../eval/tasks';
import { labConfigKey, reportRows } from '../../sweep/engine';
import type { ConfigKey } from '../../sweep/results';
import { browserData } from '../browser';
import { useLab } from '../lab';
import { fmt, NoModel, ProgressLine, Select, useTask } from '../widgets';

export function EvaluatePanel() {
  const { gpu, loaded, quantized, addResults, report, inform } = useLab();
  // the suite follows the model's provenance (its config.json), until the user picks another
  const modelSuite = loaded ? suiteForModel(loaded.ckpt.rawConfig) : { suite: 'dict' as Suite, because: '' };
  const suiteTasks = (s: Suite) => ['ppl', ...TASKS.filter((t) => t.suite === s).map((t) => t.name)];
  const [suite, setSuite] = useState<Suite>(modelSuite.suite);
  const [chosen, setChosen] = useState<string[]>(suiteTasks(modelSuite.suite));
  useEffect(() => {
    setSuite(modelSuite.suite);
    setChosen(suiteTasks(modelSuite.suite));
  }, [loaded]); // eslint-disable-line react-hooks/exhaustive-deps
  const [limit, setLimit] = useState(LAB_ITEMS_PER_TASK);
  // the CLI's checks (src/sweep/checks.ts): 0 items per task is refused here as there
  const problem = evalProblem({ tasks: chosen, limit });
  const [withFloat, setWithFloat] = useState(false);
  type Scored<K = ConfigKey> = { report: EvalReport; key: K };
  // key null: a checkpoint quantized elsewhere, whose scores have no configuration to be saved under
  const [result, setResult] = useState<Scored<ConfigKey | null> & { label: string; quantSeconds: number; baseline?: Scored } | null>(null);
  const { busy, progress, setProgress, run: runTask, cancel } = useTask(report);

  async function run() {
    if (!gpu || !loaded || problem) return;
    await runTask(async (signal) => {
      const opts = { tasks: chosen, suite, limit, pplWindows: PPL_WINDOWS, signal, onProgress: setProgress };
      const r = await evaluate(quantized?.result.model ?? loaded.model, loaded.tokenizer, browserData, opts);
      const key = labConfigKey(loaded, quantized?.result);
      const fpKey = labConfigKey(loaded);
      // the float model on the same items, for the quantized model's loss per task
      const baseline = quantized && withFloat && fpKey ? { report: await evaluate(loaded.model, loaded.tokenizer, browserData, opts), key: fpKey } : undefined;
      setResult({ report: r, label: quantized?.label ?? (key ? 'float model' : 'GPTQ checkpoint'), key, quantSeconds: quantized?.result.seconds ?? 0, baseline });
    });
  }

  async function save() {
    if (!result?.key || !gpu) return;
    const rows = [
      ...reportRows(result.key, result.report, result.quantSeconds, gpu.adapterName),
      ...(result.baseline ? reportRows(result.baseline.key, result.baseline.report, 0, gpu.adapterName) : []),
    ];
    const { added, replaced } = await addResults(rows);
    inform(added + replaced
      ? `${added + replaced} result rows saved${replaced ? ` (${replaced} replacing ones measured on fewer items)` : ''}: the Fit tab uses them.`
      : 'Nothing saved: these tasks of this configuration are stored already, measured on as many items or more.');
  }

  if (!loaded) return <NoModel title="Evaluate" what="Evaluating" />;
  const tasks = TASKS.filter((t) => t.suite === suite);
  return (
    <div className="grid two">
      <section className="card">
        <h2>Evaluate {quantized ? `the quantized model (${quantized.label})` : `${loaded.name} (${loaded.ckpt.config.gptq ? `a ${loaded.ckpt.config.gptq.bits}-bit GPTQ checkpoint` : 'float'})`}</h2>
        <div className="controls">
          <Select label="Suite" title={`The lab's dictionary tasks (for its own small models) or the study's real benchmarks (for real pretrained models). Default for this model: ${modelSuite.suite} (${modelSuite.because})`} value={suite}
            options={[{ value: 'dict', label: 'dictionary tasks (bundled models)' }, { value: 'real', label: 'real benchmarks (NQ, OBQA, GSM8K)' }]}
            onChange={(s) => { setSuite(s); setChosen(suiteTasks(s)); }} />
          <label className="field" title="Items per task: a seeded subset (the mini suite). More items, smaller standard errors">
            Items per task
            <input type="number" min={1} max={500} value={Number.isNaN(limit) ? '' : limit} onChange={(e) => setLimit(e.target.value === '' ? NaN : Number(e.target.value))} data-testid="eval-limit" aria-invalid={problem !== null} />
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
          {quantized && (
            <label className="field row inline" title="Also evaluate the float model on the same items, and show what quantization cost on each task">
              <input type="checkbox" checked={withFloat} onChange={(e) => setWithFloat(e.target.checked)} data-testid="eval-with-float" /> and the float model
            </label>
          )}
          <button onClick={run} disabled={busy || !gpu || problem !== null} data-testid="evaluate" title={problem ?? undefined}>Evaluate</button>
          {result && !busy && <button className="ghost" onClick={save} disabled={!result.key}
            title={result.key ? 'Add these scores to the results store, beside the sweep\'s' : `${loaded.name} was quantized elsewhere (a GPTQ checkpoint): the lab does not know how it was calibrated, so there is no configuration to save its scores under. Quantize the float model here to put scores beside the sweep's.`}>Save to results</button>}
        </div>
        {problem && <p className="problem" role="alert" data-testid="eval-problem">Cannot evaluate: {problem}.</p>}
        <p className="muted small">Perplexity: over {PPL_WINDOWS} windows of the held-out text, as in the Sweep tab and the CLI.</p>
        {busy && <ProgressLine progress={progress} onCancel={cancel} />}
      </section>
      {result ? <EvalTables report={result.report} label={result.label} baseline={result.baseline?.report} /> : <section className="card empty"><h2>Scores</h2><p>Run the mini benchmarks to see accuracy per task and per knowledge level: memorisation (KM), application (KA), reasoning (KR).</p></section>}
    </div>
  );
}

/** quantized - float, coloured by whether it is worse (lower accuracy, higher perplexity). */
function Delta({ d, worseIfPositive = false, digits = 3 }: { d: number; worseIfPositive?: boolean; digits?: number }) {
  const worse = worseIfPositive ? d > 0 : d < 0;
  return <span className={d === 0 ? 'muted' : worse ? 'worse' : 'better'}>{d > 0 ? '+' : ''}{fmt(d, digits)}</span>;
}

export function EvalTables({ report, label, baseline }: { report: EvalReport; label: string; baseline?: EvalReport }) {
  const fpTask = (name: string) => baseline?.tasks.find((t) => t.task === name);
  const fpPpl = (name: string) => baseline?.perplexity.find((p) => p.task === name);
  const fpLevel = (name: string) => baseline?.levels.find((l) => l.level === name);
  const extra = baseline ? <><th className="num" title="The float model on the same items">float</th><th className="num" title="quantized − float">Δ</th></> : null;
  return (
    <section className={baseline ? "card wide" : "card"} data-testid="eval-results">
      <h2>Scores: {label}{baseline ? <span className="muted small"> beside the float model</span> : null}</h2>
      <div className="hscroll">
      <table className="small">
        <thead><tr><th>task</th><th>level</th><th>metric</th><th className="num">acc</th><th className="num">chance</th><th className="num">Acc_adj</th><th className="num">± se</th><th className="num">items</th>{extra}</tr></thead>
        <tbody>
          {report.perplexity.map((p) => (
            <tr key={p.task}><td>{p.task}</td><td /><td>{p.metric}</td><td className="num" colSpan={3}>{fmt(p.ppl, 2)}</td><td /><td className="num" title={`${p.windows} windows of ${p.seqLen} tokens`}>{p.windows} windows</td>
              {baseline && <><td className="num">{fmt(fpPpl(p.task)?.ppl ?? null, 2)}</td><td className="num">{fpPpl(p.task) ? <Delta d={p.ppl - fpPpl(p.task)!.ppl} worseIfPositive digits={2} /> : '–'}</td></>}</tr>
          ))}
          {report.tasks.map((t) => (
            <tr key={t.task} title={Object.entries(t.extra).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}>
              <td>{t.task}</td><td className={`level-${t.level}`}>{t.level}</td><td>{t.metric}</td>
              <td className="num">{fmt(t.acc)}</td><td className="num">{fmt(t.acc_chance, 2)}</td><td className="num">{fmt(t.acc_adj)}</td><td className="num">{fmt(t.stderr)}</td><td className="num">{t.items}</td>
              {baseline && <><td className="num">{fmt(fpTask(t.task)?.acc_adj ?? null)}</td><td className="num">{fpTask(t.task) ? <Delta d={t.acc_adj - fpTask(t.task)!.acc_adj} /> : '–'}</td></>}
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      <h3>Per level (mean Acc_adj over the level's tasks)</h3>
      <table data-testid="eval-levels">
        <tbody>
          {report.levels.map((l) => (
            <tr key={l.level}><th className={`level-${l.level}`}>{l.level}</th><td className="num">{fmt(l.acc_adj)}</td>
              {baseline && <><td className="num muted small">float {fmt(fpLevel(l.level)?.acc_adj ?? null)}</td><td className="num">{fpLevel(l.level) ? <Delta d={l.acc_adj - fpLevel(l.level)!.acc_adj} /> : '–'}</td></>}
              <td className="muted small">{l.tasks} task{l.tasks > 1 ? 's' : ''}</td></tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">{(report.seconds + (baseline?.seconds ?? 0)).toFixed(1)} s. Levels: {LEVELS.join(', ')} and General (all tasks).{baseline ? ' Δ: quantized − float on the same items; red where quantization lost.' : ''}</p>
    </section>
  );
}
