import { useEffect, useState } from 'react';
import { BIT_WIDTHS } from '../../model/config';
import { type BenchReport, benchSummary, parseBenchReport, ratioText, runBench, summaryRate, SHAPES, SMALL_SHAPES } from '../../bench/bench';
import { saveFile } from '../browser';
import { useLab } from '../lab';
import { browserOrtPeer } from '../ort-browser';
import { Check, fmt, pct, ProgressLine, Select, useTask } from '../widgets';

export function BenchPanel() {
  const { gpu, gpuError, report } = useLab();
  const [size, setSize] = useState<'small' | 'full'>('full');
  // software adapters (SwiftShader) get the small shapes: the real ones would take minutes there
  useEffect(() => {
    if (gpu?.serialKernels) setSize('small');
  }, [gpu]);
  const [withOrt, setWithOrt] = useState(true);
  const [result, setResult] = useState<BenchReport | null>(null);
  /** The file a shown report was opened from (null: measured here, now). */
  const [openedFrom, setOpenedFrom] = useState<string | null>(null);
  const { busy, progress, setProgress, run: runTask, cancel } = useTask(report);
  const summary = result ? benchSummary(result) : [];
  const times = (x: number | null) => ratioText(x, '–', '×');

  async function open(f: File) {
    try {
      setResult(parseBenchReport(await f.text(), f.name));
      setOpenedFrom(f.name);
    } catch (e) {
      report(e);
    }
  }

  async function run() {
    if (!gpu) return;
    await runTask(async (signal) => {
      const small = size === 'small';
      setOpenedFrom(null);
      setResult(await runBench(gpu, {
        shapes: small ? SMALL_SHAPES : SHAPES, batches: small ? [1, 4] : [1, 128], bits: small ? [3, 4] : [...BIT_WIDTHS],
        rotateBytes: small ? 2 ** 20 : 512 * 2 ** 20, repeats: small ? 2 : 5, dispatches: small ? 2 : 8,
        ort: withOrt ? await browserOrtPeer() : null, ortBlocks: small ? [32] : [32, 128], onProgress: setProgress, signal,
      }));
    });
  }

  return (
    <div className="grid">
      <section className="card">
        <h2>Kernel benchmark</h2>
        <p className="muted small">The packed matmul at 2/3/4/8 bits beside this GPU's fp32 matmul, onnxruntime-web's MatMulNBits and a streaming-read probe, all measured now, on this adapter; on the gate+up shapes also the decode step that reads both matrices and applies SwiGLU in one dispatch. GPU time from timestamp queries over many dispatches rotating through weights larger than the cache; call time as a user makes one call (upload, dispatch, read back). Every contender is checked against a float64 CPU result first.</p>
        <div className="controls">
          <Select label="Shapes" title="Real model shapes (Qwen3-0.6B, Llama-3.2-1B, 8B) need a real GPU; small ones suit software adapters" value={size}
            options={[{ value: 'small', label: 'small (software GPUs)' }, { value: 'full', label: 'Qwen3 / Llama / 8B shapes' }]} onChange={setSize} />
          <Check label="onnxruntime-web" title="Include onnxruntime-web's MatMulNBits (WebGPU execution provider) as the peer" checked={withOrt} onChange={setWithOrt} />
          <button onClick={run} disabled={!gpu || busy} data-testid="run-bench">Run benchmark</button>
          {result && <button className="ghost" onClick={() => saveFile('quantlab-bench.json', JSON.stringify(result, null, 1), 'application/json')}>Save JSON</button>}
          <label className="button ghost" title="Look at a report saved elsewhere: this tab's Save JSON, or quantlab bench --json / --out on a GPU server (bench/results/ holds the H100's)">
            Open report… <input type="file" accept=".json" hidden data-testid="open-bench" onChange={(e) => e.target.files?.[0] && open(e.target.files[0])} />
          </label>
        </div>
        {gpu?.serialKernels && (
          <p className="note" data-testid="bench-software">
            This adapter is a CPU running the GPU's work in software ({gpu.adapterName}): the benchmark is meant for GPUs. Run here it checks that every kernel is
            correct, but its speeds say nothing about a GPU: shares of the read probe near 0% and fractions of fp32's speed are what a CPU gives. Open a report saved on a GPU
            (bench/results/ holds an H100's) to see what the kernels do there.
          </p>
        )}
        {gpuError && <p className="note" data-testid="bench-no-gpu">Running the benchmark needs WebGPU, which this browser does not expose; Open report… shows a report saved elsewhere.</p>}
        {busy && <ProgressLine progress={progress} onCancel={cancel} />}
      </section>
      {result && (
        <section className="card" data-testid="bench-results">
          <h2>{result.adapter}{openedFrom && <span className="muted small"> — opened from {openedFrom}, not measured on this adapter</span>}</h2>
          <p className="small">Read probe: <strong>{fmt(result.probeGBps, 0)} GB/s</strong>. Empty dispatch: {fmt(result.dispatchMicros, 1)} µs. {result.date}</p>
          {summary.length > 0 && (
            <>
              <h3>At a glance</h3>
              <table className="small" data-testid="bench-summary">
                <thead><tr><th>shape (K×N)</th><th className="num">M</th><th>fastest 4-bit kernel</th><th className="num">GPU µs</th>
                  <th className="num" title="Decode (M = 1) reads weights: its share of the read probe. Prefill (M > 1) computes: TFLOP/s">rate</th>
                  <th className="num" title="fp32 matmul's GPU time over this kernel's: what 4-bit weights buy on this GPU">vs fp32</th>
                  <th className="num" title="onnxruntime-web MatMulNBits' fastest whole call over this kernel's whole call">vs onnxruntime-web</th></tr></thead>
                <tbody>
                  {summary.map((r, i) => (
                    <tr key={i}>
                      <td>{r.shape} {r.K}×{r.N}</td><td className="num">{r.M}</td><td>{r.contender}</td><td className="num">{fmt(r.gpuMicros, 1)}</td>
                      <td className="num">{summaryRate(r, '–')}</td><td className="num">{times(r.overFp32)}</td><td className="num">{times(r.overOrt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <h3>Every contender</h3>
            </>
          )}
          <div className="scroll">
            <table className="small">
              <thead><tr><th>shape (K×N)</th><th className="num">M</th><th>contender</th><th className="num">GPU µs</th><th className="num">call µs</th><th className="num">GB/s</th><th className="num">% probe</th><th className="num" title="GPU time of a streaming read of the same bytes in one dispatch, over this kernel's time">% same-size read</th><th>check</th></tr></thead>
              <tbody>
                {result.rows.map((r, i) => (
                  <tr key={i}>
                    <td>{r.shape} {r.K}×{r.N}</td><td className="num">{r.M}</td><td>{r.contender}</td><td className="num">{fmt(r.gpuMicros, 1)}</td><td className="num">{fmt(r.callMicros, 1)}</td>
                    <td className="num">{fmt(r.gbps, 0)}</td><td className="num">{pct(r.ofProbe)}</td><td className="num">{pct(r.ofRead)}</td>
                    <td className={r.check === 'pass' ? 'sig' : 'level-KR'} title={`max error vs float64, relative to Σ|w·x|: ${r.maxErr.toExponential(1)}`}>{r.check}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {over100(result) && (
            <p className="muted small" data-testid="bench-over-100">
              Above 100%: the kernel took less GPU time than the read it is compared with, not less than the memory needs. {'% same-size read'} compares with the read
              probe's kernel reading the same bytes in one dispatch, a grid-stride loop that is latency-bound on a few megabytes: a kernel that spreads them over more
              workgroups finishes sooner. {'% probe'} compares with the probe's large streaming read; a value just above 100% there is the two measurements' variation.
            </p>
          )}
          {result.notes.map((n, i) => <p key={i} className="muted small">{n}</p>)}
        </section>
      )}
    </div>
  );
}

/** Whether a report has shares above 100% (a small matrix beating the probe kernel's read of its bytes). */
function over100(r: BenchReport): boolean {
  return r.rows.some((x) => (x.ofRead ?? 0) > 1 || (x.ofProbe ?? 0) > 1);
}
