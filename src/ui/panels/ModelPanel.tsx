import { useEffect, useRef, useState } from 'react';
import { nonEmbeddingParams, totalParams } from '../../model/config';
import { Checkpoint } from '../../model/checkpoint';
import { fetchModelFiles } from '../../model/hub';
import type { ModelFiles } from '../../model/source';
import { TextTokenizer } from '../../model/tokenizer';
import type { Transformer } from '../../model/transformer';
import { loadModel, modelMemory } from '../../quant/load';
import { describePlan, planMemory } from '../../model/memory';
import { formatBytes } from '../../progress';
import { bundledUrl, cacheStorage, filesFromDrop, filesFromInput } from '../files';
import { useLab } from '../lab';
import { fmtN, ProgressLine, useTask } from '../widgets';
import { formatGenerationStats, type GenerationStats, generationClock } from '../../progress';

export interface BundledModel {
  name: string;
  arch: string;
  n_params_non_embedding: number;
  default?: boolean;
  files: string[];
}

export function useBundledModels(): BundledModel[] {
  const [list, setList] = useState<BundledModel[]>([]);
  useEffect(() => {
    fetch(new URL('models/index.json', document.baseURI))
      .then((r) => r.json())
      .then((j: { models: BundledModel[] }) => setList(j.models))
      .catch(() => setList([]));
  }, []);
  return list;
}


export function ModelPanel() {
  const { gpu, gpuError, loaded, setLoaded, report, inform } = useLab();
  const bundled = useBundledModels();
  // a cancelled download or load is reported too: the banner says what stopped
  const { busy, progress, setProgress, run, cancel } = useTask(report, { reportCancel: true });
  const [hubId, setHubId] = useState('');
  const autoloaded = useRef(false);

  async function load(source: string, get: (signal: AbortSignal) => Promise<ModelFiles>, name?: string) {
    if (!gpu) return;
    await run(async (signal) => {
      const files = await get(signal);
      const ckpt = await Checkpoint.open(files);
      const tokenizer = await TextTokenizer.load(files, ckpt.config);
      const { model, notes } = await loadModel(gpu, ckpt, { onProgress: setProgress, signal });
      setLoaded({ ckpt, tokenizer, model, source, name: name ?? files.id.replace(/\/$/, '').replace(/^.*\//, '') });
      if (notes.length) inform(notes.join('; '));
    });
  }

  const loadBundled = (name: string) =>
    load('bundled', (signal) => fetchModelFiles(bundledUrl(name), { onProgress: setProgress, signal, files: bundled.find((m) => m.name === name)?.files }), name);

  // The lab opens on the bundled default model.
  useEffect(() => {
    const dflt = bundled.find((m) => m.default);
    if (gpu && dflt && !loaded && !autoloaded.current) {
      autoloaded.current = true;
      void loadBundled(dflt.name);
    }
  }, [gpu, bundled, loaded]);

  return (
    <div className="grid two">
      <section className="card">
        <h2>Load a model</h2>
        <label className="field" title="Models of the lab's own family, trained on WordNet and a dictionary, shipped with the lab">
          Bundled
          <select aria-label="Bundled model" disabled={!gpu || busy} value={bundled.some((m) => m.name === loaded?.name) ? loaded!.name : ''} onChange={(e) => e.target.value && loadBundled(e.target.value)}>
            <option value="">choose a bundled model…</option>
            {bundled.map((m) => (
              <option key={m.name} value={m.name}>{m.name} ({m.arch}, N = {fmtN(m.n_params_non_embedding)})</option>
            ))}
          </select>
        </label>
        <label className="field" title="A folder in the Hugging Face layout: config.json, model.safetensors, tokenizer.json">
          Local folder
          <input type="file" aria-label="Model folder" disabled={!gpu || busy}
            {...({ webkitdirectory: '', directory: '' } as Record<string, string>)} multiple
            onChange={(e) => e.target.files?.length && load('folder', async () => filesFromInput(e.target.files!))} />
        </label>
        <div className="dropzone" onDragOver={(e) => e.preventDefault()}
          onDrop={(e) => { e.preventDefault(); const items = e.dataTransfer.items; void load('folder', () => filesFromDrop(items)); }}>
          or drop a model folder here
        </div>
        <form className="field row" onSubmit={(e) => { e.preventDefault(); if (hubId) void load('url', (signal) => fetchModelFiles(hubId, { cache: cacheStorage(), onProgress: setProgress, signal })); }}>
          <label title="A Hugging Face id (Qwen/Qwen3-0.6B) or the URL of a model folder; downloads are cached">
            Hugging Face id or URL
            <input value={hubId} onChange={(e) => setHubId(e.target.value)} placeholder="Qwen/Qwen3-0.6B" aria-label="Hugging Face id or URL" disabled={!gpu || busy} />
          </label>
          <button type="submit" disabled={!gpu || busy || !hubId}>Download</button>
        </form>
        {busy && <ProgressLine progress={progress} onCancel={cancel} />}
      </section>
      {loaded ? <ModelInfo /> : (
        <section className="card empty" data-testid="model-empty">
          <h2>{gpuError ? 'No model: this browser has no WebGPU' : 'No model loaded'}</h2>
          <p>{gpuError ? 'Models run on the GPU through WebGPU, so none can be loaded here (the banner above says how to get WebGPU). What works without it: import results in the Sweep tab (Import…) and fit the law to them in the Fit tab.' : gpu ? (busy ? 'Loading…' : 'Pick a bundled model, a folder or a Hugging Face id.') : 'Opening the GPU…'}</p>
        </section>
      )}
      {loaded && <Generate />}
    </div>
  );
}

function ModelInfo() {
  const { loaded, quantized } = useLab();
  if (!loaded) return null;
  const c = loaded.ckpt.config;
  // the checkpoint's own quantization, or the one made in this session (what Generate and Evaluate now use)
  const quant = quantized ? `${quantized.label}, active: quantized in this session (Quantize tab)${c.gptq ? '' : '; the checkpoint holds float weights'}`
    : c.gptq ? `GPTQ ${c.gptq.bits}-bit, G = ${c.gptq.groupSize}` : 'no (float weights)';
  const rows: [string, string | number][] = [
    ['architecture', c.architecture], ['layers', c.layers], ['hidden size', c.hidden], ['intermediate size', c.intermediate],
    ['heads / KV heads', `${c.heads} / ${c.kvHeads}`], ['head dim', c.headDim], ['vocabulary', c.vocab], ['context', c.maxPosition],
    ['rope', `${c.rope.type}, θ = ${c.rope.theta}`], ['tied embeddings', c.tied ? 'yes' : 'no'],
    ['N (non-embedding)', nonEmbeddingParams(c).toLocaleString('en')], ['all parameters', totalParams(c).toLocaleString('en')],
    ['quantized', quant],
  ];
  // what running it takes on the GPU (src/model/memory.ts), item by item in the tooltip
  const plan = planMemory(c, modelMemory(loaded.ckpt, 'auto'));
  const planRow = (
    <tr key="memory" title={describePlan(plan).join('\n')} data-testid="memory-plan">
      <th>GPU memory</th><td>{formatBytes(plan.total)} (largest buffer {formatBytes(plan.largest.bytes)}, {plan.largest.what})</td>
    </tr>
  );
  return (
    <section className="card" data-testid="model-info">
      <h2>{loaded.name}</h2>
      <table className="kv"><tbody>{rows.map(([k, v]) => <tr key={k}><th>{k}</th><td>{v}</td></tr>)}{planRow}</tbody></table>
    </section>
  );
}

/** Where two greedy token streams part: the index of the first token that differs (their common length if none). */
export function divergence(a: number[], b: number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

type GenerateWith = 'quantized' | 'float' | 'both';

function Generate() {
  const { loaded, quantized, report } = useLab();
  const [prompt, setPrompt] = useState('dog (noun):');
  const [text, setText] = useState('');
  /** One timing line per model that generated, named. */
  const [stats, setStats] = useState<{ model: string; stats: GenerationStats }[]>([]);
  const [pick, setPick] = useState<GenerateWith>('quantized');
  // side by side: the float model's text, and where the quantized one leaves it
  const [compare, setCompare] = useState<{ float: string; common: string; tokens: number; agree: number } | null>(null);
  const task = useTask(report);
  if (!loaded) return null;
  const withWhat: GenerateWith = quantized ? pick : 'float';
  const qmodel = quantized?.result.model;
  const which = withWhat === 'float' ? 'float model' : withWhat === 'both' ? `float and quantized models (${quantized!.label})` : `quantized model (${quantized!.label})`;
  function run() {
    const { tokenizer } = loaded!;
    setText('');
    setStats([]);
    setCompare(null);
    const ids = [...tokenizer.prefix, ...tokenizer.encode(prompt)];
    const floatName = 'float model', quantName = `quantized model (${quantized?.label})`;
    const stream = async (model: Transformer, signal: AbortSignal, show: (t: string) => void) => {
      const clock = generationClock();
      const out: number[] = [];
      try {
        await model.generate(ids, 48, { eos: tokenizer.eosIds, signal, onToken: (t) => (clock.onToken(), out.push(t), show(tokenizer.decode(out, true))) });
      } finally {
        const name = model === loaded!.model ? floatName : quantName;
        setStats((xs) => [...xs.filter((x) => x.model !== name), { model: name, stats: clock.stats() }]);
      }
      return out;
    };
    // the tokens so far stay on screen after Stop; the timing line counts them
    return task.run(async (signal) => {
      if (withWhat !== 'both') {
        await stream(withWhat === 'float' ? loaded!.model : qmodel!, signal, setText);
        return;
      }
      let floatText = '';
      const fp = await stream(loaded!.model, signal, (t) => setCompare({ float: (floatText = t), common: '', tokens: 0, agree: 0 }));
      const q = await stream(qmodel!, signal, setText);
      const agree = divergence(fp, q);
      setCompare({ float: floatText, common: tokenizer.decode(q.slice(0, agree), true), tokens: Math.max(fp.length, q.length), agree });
    });
  }
  const common = compare && compare.agree > 0 && text.startsWith(compare.common) ? compare.common : '';
  return (
    <section className="card wide">
      <h2>Generate <span className="muted small">greedy, with the {which}</span></h2>
      <div className="field row">
        <input value={prompt} onChange={(e) => setPrompt(e.target.value)} aria-label="Prompt" title="Greedy decoding from this prompt" />
        {quantized && (
          <select value={withWhat} onChange={(e) => setPick(e.target.value as GenerateWith)} aria-label="Model to generate with"
            title="Compare the quantized model's text with the float model's on the same prompt">
            <option value="quantized">quantized ({quantized.label})</option>
            <option value="float">float</option>
            <option value="both">both, side by side</option>
          </select>
        )}
        <button onClick={run} disabled={task.busy}>{task.busy ? 'generating…' : 'Generate'}</button>
        {task.busy && <button className="ghost" onClick={task.cancel}>Stop</button>}
      </div>
      {withWhat === 'both' && compare && (
        <p className="generation" data-testid="generation-float"><span className="muted small">float: </span><span className="prompt">{prompt}</span>{compare.float}</p>
      )}
      <p className="generation" data-testid="generation" data-busy={task.busy}>
        {withWhat === 'both' && compare && <span className="muted small">quantized: </span>}
        <span className="prompt">{prompt}</span>
        <span data-testid="completion">{withWhat === 'both' && compare?.tokens ? <>{common}<mark className="diverged" title="from here the quantized model's greedy tokens differ from the float model's">{text.slice(common.length)}</mark></> : text}</span>
      </p>
      {withWhat === 'both' && compare && compare.tokens > 0 && (
        <p className="muted small" data-testid="divergence">
          {compare.agree === compare.tokens ? `The two models agree on all ${compare.tokens} tokens.` : `The two models agree on the first ${compare.agree} of ${compare.tokens} tokens; highlighted: where the quantized model's text leaves the float model's.`}
        </p>
      )}
      {stats.map((x) => (
        <p key={x.model} className="muted small" data-testid="generation-stats" data-model={x.model} title="Time to the first token includes the prompt's pass and, the first time, compiling the kernels">
          {stats.length > 1 || withWhat !== 'float' || quantized ? `${x.model}: ` : ''}{formatGenerationStats(x.stats)}
        </p>
      ))}
    </section>
  );
}
