// Small controls shared by the panels.
import { type ReactNode, useRef, useState } from 'react';
import { CancelledError } from '../errors';
import { formatProgress, type Progress } from '../progress';
import { useLab, WITHOUT_GPU } from './lab';

/**
 * A panel's long task: the busy flag, its live progress and its cancellation. `run` hands the work an abort
 * signal, reports its errors (a cancel too, where `reportCancel`: the user then sees what stopped) and always
 * clears busy and progress.
 */
export function useTask(report: (e: unknown) => void, opts: { reportCancel?: boolean } = {}) {
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState<Progress | null>(null);
  const abort = useRef<AbortController | null>(null);
  async function run(work: (signal: AbortSignal) => Promise<void>): Promise<void> {
    setBusy(true);
    const ac = new AbortController();
    abort.current = ac;
    try {
      await work(ac.signal);
    } catch (e) {
      if (opts.reportCancel || !(e instanceof CancelledError)) report(e);
    } finally {
      setBusy(false);
      setProgress(null);
    }
  }
  return { busy, progress, setProgress, run, cancel: () => abort.current?.abort() };
}

export function ProgressLine({ progress, onCancel, extra }: { progress: Progress | null; onCancel?: () => void; extra?: ReactNode }) {
  return (
    <div className="progress" role="status" aria-live="polite">
      <progress value={progress?.done ?? 0} max={progress?.total || 1} />
      <span>{progress ? formatProgress(progress) : 'starting…'}</span>
      {extra}
      {onCancel && <button className="ghost" onClick={onCancel}>Cancel</button>}
    </div>
  );
}

/** A row of checkboxes choosing numbers (bits, group sizes, calibration sizes). */
export function NumberChoice({ label, title, options, value, onChange, format }: {
  label: string; title: string; options: number[]; value: number[]; onChange(v: number[]): void; format?: (n: number) => string;
}) {
  return (
    <fieldset className="field" title={title}>
      <legend>{label}</legend>
      <div className="checks">
        {options.map((o) => (
          <label key={o}>
            <input type="checkbox" checked={value.includes(o)} onChange={(e) => onChange(e.target.checked ? [...value, o].sort((a, b) => a - b) : value.filter((x) => x !== o))} />
            {format ? format(o) : o}
          </label>
        ))}
      </div>
    </fieldset>
  );
}

export function Select<T extends string | number>({ label, title, value, options, onChange, testId, disabled }: {
  label: string; title: string; value: T; options: { value: NoInfer<T>; label: string }[]; onChange(v: NoInfer<T>): void; testId?: string; disabled?: boolean;
}) {
  return (
    <label className="field" title={title}>
      {label}
      <select value={String(value)} data-testid={testId} disabled={disabled} onChange={(e) => onChange(options.find((o) => String(o.value) === e.target.value)!.value)}>
        {options.map((o) => <option key={String(o.value)} value={String(o.value)}>{o.label}</option>)}
      </select>
    </label>
  );
}

export function Check({ label, title, checked, onChange }: { label: string; title: string; checked: boolean; onChange(v: boolean): void }) {
  return (
    <label className="field row inline" title={title}>
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} /> {label}
    </label>
  );
}

export const fmt = (x: number | null | undefined, d = 3): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(2) : x.toFixed(d);

/**
 * One number format down a table column: fixed decimals, at least `d` and enough to show its smallest non-zero
 * value, or exponents throughout where a value reaches 1e6 (never -0.580 beside 8.46e-4).
 */
export function columnFormat(values: (number | null | undefined)[], d = 3): (x: number | null | undefined) => string {
  const xs = values.filter((x): x is number => x !== null && x !== undefined && Number.isFinite(x));
  const big = xs.some((x) => Math.abs(x) >= 1e6);
  const smallest = Math.min(...xs.filter((x) => x !== 0).map(Math.abs));
  const decimals = Number.isFinite(smallest) ? Math.min(6, Math.max(d, Math.floor(-Math.log10(smallest)) + 1)) : d;
  return (x) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : big ? x.toExponential(2) : x.toFixed(decimals));
}

/** A share as a whole percentage ('–' when unknown). */
export const pct = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(0)}%`);

export function fmtN(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}K`;
}

/** A panel with no model to work on: why (no WebGPU, or nothing loaded yet) and what to do. */
export function NoModel({ title, what }: { title: string; what: string }) {
  const { gpu, gpuError } = useLab();
  return (
    <section className="card empty" data-testid="no-model">
      <h2>{title}</h2>
      <p>{gpuError ? `${what} needs WebGPU, which this browser does not expose. ${WITHOUT_GPU}` : gpu ? 'Load a model first (Model tab).' : 'Opening the GPU…'}</p>
    </section>
  );
}
