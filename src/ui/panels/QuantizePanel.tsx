import { useMemo, useState } from 'react';
import { DenseLinear } from '../../model/linear';
import { HF_LINEAR, LINEAR_NAMES, type LinearName } from '../../model/transformer';
import { corpusTokens, drawCalibration } from '../../quant/calibration';
import { exportQuantized } from '../../quant/export';
import { exportQuantizedOnnx, onnxExportProblem } from '../../quant/onnx/export';
import { groupGrid, PackedLinear, readDequantized } from '../../quant/packed';
import { type LayerResult, phasesText, quantizeModel, type QuantizeOptions } from '../../quant/quantize-model';
import { headSettings, LAB_QUANTIZE_START, packedWidths, type QuantizeSettings } from '../../quant/settings';
import { BIT_WIDTHS } from '../../model/config';
import { quantizeProblems, withName } from '../../sweep/checks';
import { labConfigKey } from '../../sweep/engine';
import { quantLabel } from '../../sweep/results';
import { browserData, saveFile, zip } from '../browser';
import { useLab } from '../lab';
import { Check, fmt, NoModel, ProgressLine, Select, useTask } from '../widgets';

const GROUPS = [32, 64, 128, 1024, -1];
const FIELD = { point: 'Bits / G / C_b', calibration: 'Calibration C_b', damp: 'Damp', seqLen: 'Sequence length', head: 'LM head' } as const;
const numberOrNaN = (v: string) => (v === '' ? NaN : Number(v));
const headError = (e: number) => (Number.isFinite(e) ? e.toExponential(2) : 'not measured (RTN)');

export function QuantizePanel() {
  const { gpu, loaded, quantized, setQuantized, report, inform } = useLab();
  const [opts, setOpts] = useState<QuantizeSettings>(LAB_QUANTIZE_START);
  const [layers, setLayers] = useState<LayerResult[]>([]);
  const { busy, progress, setProgress, run: runTask, cancel } = useTask(report);
  const set = <K extends keyof typeof opts>(k: K, v: (typeof opts)[K]) => setOpts((o) => ({ ...o, [k]: v }));
  const maxLen = loaded?.model.config.maxPosition ?? 2048;
  // the CLI's checks (src/sweep/checks.ts), named as this tab's fields
  const problems = quantizeProblems({ ...opts, lmHead: headSettings(opts) }).map((p) => withName(FIELD[p.field], p.problem));

  async function run() {
    if (!gpu || !loaded || problems.length) return;
    setLayers([]);
    await runTask(async (signal) => {
      const seqLen = Math.min(opts.seqLen, maxLen);
      let calib = null;
      if (opts.method === 'gptq') {
        setProgress({ what: 'tokenizing the calibration text', done: 0, total: 1 });
        const corpus = corpusTokens(loaded.tokenizer, await browserData.read(opts.calibText));
        calib = drawCalibration(corpus, opts.calib, seqLen, opts.seed, loaded.tokenizer.prefix);
      }
      const qo: QuantizeOptions = { method: opts.method, bits: opts.bits, groupSize: opts.groupSize, sym: opts.sym, actOrder: opts.method === 'gptq' && opts.actOrder, staticGroups: opts.staticGroups, percdamp: opts.percdamp, mode: opts.mode, lmHead: headSettings(opts) };
      const result = await quantizeModel(loaded.model, calib, qo, {
        signal,
        onProgress: setProgress,
        onLayer: (r) => setLayers((ls) => [...ls, r]),
      });
      const label = quantLabel(labConfigKey(loaded, result)!); // as the results table names the configuration
      setQuantized({ result, label });
      inform(`${label}: ${result.layers.length} linear layers in ${result.seconds.toFixed(1)} s. Evaluate and Generate now use the quantized model.`);
    });
  }

  async function exportZip() {
    if (!gpu || !loaded || !quantized) return;
    try {
      const r = quantized.result;
      const files = await exportQuantized(gpu, loaded.ckpt, r.model, { ...r.options, calibSize: r.calibration?.count, seqLen: r.calibration?.seqLen });
      const name = `${loaded.name}-${r.options.method}-${r.options.bits}bit-g${r.options.groupSize}`;
      saveFile(`${name}.zip`, zip(files.map((f) => ({ name: `${name}/${f.name}`, data: f.data }))), 'application/zip');
    } catch (e) {
      report(e);
    }
  }

  async function exportOnnxZip() {
    if (!gpu || !loaded || !quantized) return;
    try {
      const r = quantized.result;
      const { files } = await exportQuantizedOnnx(gpu, loaded.ckpt, r.model, r.options);
      const name = `${loaded.name}-${r.options.method}-${r.options.bits}bit-g${r.options.groupSize}-onnx`;
      saveFile(`${name}.zip`, zip(files.map((f) => ({ name: `${name}/${f.name}`, data: f.data }))), 'application/zip');
    } catch (e) {
      report(e);
    }
  }
  const onnxProblem = quantized ? onnxExportProblem(quantized.result.model.config, packedWidths(quantized.result.options)) : null;

  if (!loaded) return <NoModel title="Quantize" what="Quantizing" />;
  const shown = busy ? layers : (quantized?.result.layers ?? layers);
  return (
    <div className="grid two">
      <section className="card">
        <h2>Quantize {loaded.name}</h2>
        <div className="controls">
          <Select label="Method" title="GPTQ uses calibration data and second-order error feedback; RTN rounds each weight to the nearest level (the baseline)" value={opts.method}
            options={[{ value: 'gptq', label: 'GPTQ' }, { value: 'rtn', label: 'RTN (round to nearest)' }]} onChange={(v) => set('method', v)} />
          <Select label="Bits B" title="Bits per weight: 2, 3, 4 or 8. Fewer bits, smaller model, larger error" value={opts.bits}
            options={BIT_WIDTHS.map((b) => ({ value: b, label: `${b}-bit` }))} onChange={(v) => set('bits', v)} />
          <Select label="Group size G" title="Columns sharing one scale and zero point: smaller groups adapt better but store more scales" value={opts.groupSize}
            options={GROUPS.map((g) => ({ value: g, label: g === -1 ? 'per channel' : String(g) }))} onChange={(v) => set('groupSize', v)} />
          <Select label="Calibration C_b" title="Number of calibration sequences GPTQ measures the layer inputs (the Hessian) on (RTN takes none)" value={opts.calib} disabled={opts.method === 'rtn'}
            options={[8, 32, 128, 1024].map((c) => ({ value: c, label: String(c) }))} onChange={(v) => set('calib', v)} />
          <label className="field" title="Tokens per calibration sequence (capped at the model's context)">
            Sequence length
            <input type="number" min={16} max={maxLen} step={16} value={Number.isNaN(opts.seqLen) ? '' : Math.min(opts.seqLen, maxLen)} onChange={(e) => set('seqLen', numberOrNaN(e.target.value))} disabled={opts.method === 'rtn'} />
          </label>
          <label className="field" title="Dampening added to the Hessian's diagonal, as a fraction of its mean (GPTQModel: 0.05, raised by 0.01 when the Cholesky factorisation fails)">
            Damp
            <input type="number" min={0.001} max={0.5} step={0.005} value={Number.isNaN(opts.percdamp) ? '' : opts.percdamp} onChange={(e) => set('percdamp', numberOrNaN(e.target.value))} disabled={opts.method === 'rtn'} />
          </label>
          <Select label="Hessians" title="Sequential: each layer calibrated on the outputs of the already-quantized layers before it (GPTQModel, faithful). Shared: all Hessians from the float model (faster)" value={opts.mode}
            options={[{ value: 'sequential', label: 'sequential (faithful)' }, { value: 'shared', label: 'shared (faster)' }]} onChange={(v) => set('mode', v)} />
        </div>
        <div className="controls">
          <Check label="symmetric" title="Symmetric quantization: the zero point sits in the middle of the range (GPTQModel's default)" checked={opts.sym} onChange={(v) => set('sym', v)} />
          <Check label="act-order" title="Quantize columns in order of decreasing Hessian diagonal (desc_act)" checked={opts.actOrder} onChange={(v) => set('actOrder', v)} />
          <Check label="static groups" title="Compute every group's scale before the solve, on the original column order" checked={opts.staticGroups} onChange={(v) => set('staticGroups', v)} />
          <Check label="LM head" title="Quantize the LM head too (GPTQModel's lm_head; symmetric, no act-order): a large vocabulary's head is much of a small model's bytes. A tied head gets its own packed matrix; the embedding stays float. GPTQModel and vLLM load such a head, transformers' GPTQ loader does not" checked={opts.lmHead} onChange={(v) => set('lmHead', v)} />
          {opts.lmHead && <Select label="head bits" title="Bits of the LM head (GPTQModel's default: 8)" value={opts.lmHeadBits}
            options={BIT_WIDTHS.map((b) => ({ value: b, label: `${b}-bit` }))} onChange={(v) => set('lmHeadBits', v)} />}
          {opts.lmHead && <Select label="head G" title="Group size of the LM head (GPTQModel's default: 32)" value={opts.lmHeadGroupSize}
            options={GROUPS.map((g) => ({ value: g, label: g === -1 ? 'per channel' : String(g) }))} onChange={(v) => set('lmHeadGroupSize', v)} />}
        </div>
        <div className="controls">
          <button onClick={run} disabled={!gpu || busy || problems.length > 0} data-testid="quantize" title={problems.join('; ') || undefined}>Quantize</button>
          {quantized && !busy && <button className="ghost" onClick={exportZip} title="Download the quantized checkpoint (GPTQModel format) as a zip of its folder">Export (GPTQ format)</button>}
          {quantized && !busy && <button className="ghost" onClick={exportOnnxZip} disabled={onnxProblem !== null} data-testid="export-onnx"
            title={onnxProblem ?? 'Download the quantized model as an ONNX folder (zip) that transformers.js loads on WebGPU: MatMulNBits with these very weights'}>Export for transformers.js</button>}
          {quantized && !busy && <button className="ghost" onClick={() => setQuantized(null)} title="Go back to the float model">Discard</button>}
        </div>
        {problems.length > 0 && <p className="problem" role="alert" data-testid="quantize-problem">Cannot quantize: {problems.join('; ')}.</p>}
        {busy && <ProgressLine progress={progress} onCancel={cancel} />}
        {quantized && !busy && <p className="muted small" data-testid="quantized-label">Active: {quantized.label}, {quantized.result.seconds.toFixed(1)} s{phasesText(quantized.result)}.{quantized.result.head && ` LM head ${quantized.result.options.lmHead!.bits}-bit: error ${headError(quantized.result.head.reconError)}.`}</p>}
      </section>
      <LayerHeatmap layers={shown} nLayers={loaded.model.config.layers} />
      {quantized && !busy && <WeightHistogram />}
    </div>
  );
}

/** Reconstruction error ||WX - ŴX||² / ||WX||² per layer and module, live while quantization runs. */
export function LayerHeatmap({ layers, nLayers }: { layers: LayerResult[]; nLayers: number }) {
  const byKey = new Map(layers.map((l) => [`${l.layer}.${l.module}`, l]));
  const errs = layers.map((l) => l.reconError).filter((x) => Number.isFinite(x) && x > 0);
  const lo = Math.log10(Math.min(...errs, 1e-3)), hi = Math.log10(Math.max(...errs, 1e-2));
  const color = (e: number) => {
    const t = Math.max(0, Math.min(1, (Math.log10(e) - lo) / Math.max(1e-9, hi - lo)));
    return `hsl(${120 - 120 * t}, 70%, ${75 - 20 * t}%)`;
  };
  return (
    <section className="card" data-testid="heatmap">
      <h2>Per-layer reconstruction error</h2>
      {!layers.length ? <p className="muted">Quantize to see ||WX − ŴX||² / ||WX||² of every linear layer, over the calibration inputs.</p> : (
        <div className="scroll">
          <table className="heatmap">
            <thead><tr><th>layer</th>{LINEAR_NAMES.map((n) => <th key={n} title={HF_LINEAR[n]}>{n}</th>)}</tr></thead>
            <tbody>
              {Array.from({ length: nLayers }, (_, l) => (
                <tr key={l}>
                  <th>{l}</th>
                  {LINEAR_NAMES.map((n) => {
                    const r = byKey.get(`${l}.${n}`);
                    return (
                      <td key={n} style={{ background: r && Number.isFinite(r.reconError) ? color(r.reconError) : undefined }}
                        title={r ? `${HF_LINEAR[n]} ${r.rows}x${r.cols}: error ${fmt(r.reconError)}, loss ${fmt(r.loss)}, damp ${r.dampPercent ?? '–'}${r.fallback ? `, fallback ${r.fallback}` : ''}, ${r.seconds.toFixed(2)} s` : 'not yet'}>
                        {r ? (Number.isFinite(r.reconError) ? r.reconError.toExponential(1) : r.method) : ''}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted small">Colour: green = small error, red = large (log scale). Hover a cell for loss, dampening and time.</p>
        </div>
      )}
    </section>
  );
}

function WeightHistogram() {
  const { gpu, loaded, quantized, report } = useLab();
  const [layer, setLayer] = useState(0);
  const [module, setModule] = useState<LinearName>('down');
  const [data, setData] = useState<{ before: number[]; after: number[]; edges: number[]; grid: number[] } | null>(null);
  const nl = loaded?.model.config.layers ?? 1;

  async function compute() {
    if (!gpu || !loaded || !quantized) return;
    try {
      const fp = loaded.model.layers[layer].linears[module];
      const q = quantized.result.model.layers[layer].linears[module];
      if (!(fp instanceof DenseLinear) || !(q instanceof PackedLinear)) return;
      const row = 0;
      const before = await fp.readRows(row);
      const after = (await readDequantized(gpu, q.packed, 1)).subarray(0, fp.inFeatures);
      const grid = await groupGrid(gpu, q.packed, row, 0);
      const lo = Math.min(...before, ...grid), hi = Math.max(...before, ...grid);
      const bins = 48;
      const edges = Array.from({ length: bins + 1 }, (_, i) => lo + ((hi - lo) * i) / bins);
      const hist = (xs: ArrayLike<number>) => {
        const h = new Array(bins).fill(0);
        for (let i = 0; i < xs.length; i++) h[Math.min(bins - 1, Math.floor(((xs[i] - lo) / (hi - lo)) * bins))]++;
        return h;
      };
      setData({ before: hist(before), after: hist(after), edges, grid });
    } catch (e) {
      report(e);
    }
  }

  const view = useMemo(() => {
    if (!data) return null;
    const W = 560, H = 160, n = data.before.length;
    const max = Math.max(...data.before, ...data.after, 1);
    const x = (v: number) => ((v - data.edges[0]) / (data.edges[n] - data.edges[0])) * W;
    return (
      <svg viewBox={`0 0 ${W} ${H + 16}`} className="histogram" role="img" aria-label="weight histogram before and after quantization">
        {data.before.map((c, i) => <rect key={`b${i}`} x={(i * W) / n} width={W / n - 1} y={H - (c / max) * H} height={(c / max) * H} fill="var(--ka)" opacity={0.45} />)}
        {data.after.map((c, i) => <rect key={`a${i}`} x={(i * W) / n + W / n / 4} width={W / n / 2} y={H - (c / max) * H} height={(c / max) * H} fill="var(--kr)" opacity={0.8} />)}
        {data.grid.map((g, i) => <line key={`g${i}`} x1={x(g)} x2={x(g)} y1={0} y2={H} stroke="var(--fg)" strokeDasharray="2 3" strokeWidth={0.8} />)}
        <text x={0} y={H + 13} fontSize={10} fill="var(--muted)">{data.edges[0].toFixed(3)}</text>
        <text x={W} y={H + 13} fontSize={10} fill="var(--muted)" textAnchor="end">{data.edges[n].toFixed(3)}</text>
      </svg>
    );
  }, [data]);

  return (
    <section className="card wide">
      <h2>Weights before and after quantization</h2>
      <div className="controls">
        <Select label="Layer" title="Decoder layer" value={layer} options={Array.from({ length: nl }, (_, i) => ({ value: i, label: String(i) }))} onChange={setLayer} />
        <Select label="Module" title="Linear layer of the block" value={module} options={LINEAR_NAMES.map((n) => ({ value: n, label: HF_LINEAR[n] }))} onChange={setModule} />
        <button className="ghost" onClick={compute}>Show row 0</button>
      </div>
      {view}
      {data && <p className="muted small">Blue: float weights of output row 0; orange: the same row after quantization; dashed: the quantization grid of its first group — every value a weight of that group can take.</p>}
    </section>
  );
}
