// The one progress type, used by download, load, quantize, evaluate, sweep and benchmark alike.

export interface Progress {
  /** What is being done, in words: "download model.safetensors", "quantize layer 3/28 mlp.down_proj". */
  what: string;
  done: number;
  total: number;
  unit?: string;
  /** Seconds left, when it can be estimated. */
  eta?: number;
}

export type OnProgress = (p: Progress) => void;

/** Turns a stream of (done, total) into Progress with an ETA from the average rate so far. */
export function progressTracker(what: string, total: number, onProgress?: OnProgress, unit?: string) {
  const t0 = Date.now();
  return (done: number, detail?: string) => {
    if (!onProgress) return;
    const elapsed = (Date.now() - t0) / 1000;
    const eta = done > 0 && done < total ? (elapsed / done) * (total - done) : undefined;
    onProgress({ what: detail ? `${what}: ${detail}` : what, done, total, unit, eta });
  };
}

export function formatProgress(p: Progress): string {
  const pct = p.total > 0 ? ` ${((100 * p.done) / p.total).toFixed(0)}%` : '';
  const eta = p.eta !== undefined ? `, ~${formatSeconds(p.eta)} left` : '';
  const amount = p.unit === 'bytes' ? `${(p.done / 2 ** 20).toFixed(1)}/${(p.total / 2 ** 20).toFixed(1)} MiB` : `${p.done}/${p.total}`;
  return `${p.what} ${amount}${pct}${eta}`;
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}
