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

export interface GenerationStats {
  tokens: number;
  seconds: number;
  /** Until the first token: the prompt's pass, and on a fresh model the pipelines compiled on first use. */
  firstTokenSeconds: number | null;
  /** Tokens per second after the first one (null below two tokens). */
  decodeTokensPerSecond: number | null;
}

/** Times a generation by its tokens' arrival: call `onToken` per token, `stats` at the end. */
export function generationClock(now: () => number = () => performance.now()) {
  const t0 = now();
  let first = 0, last = 0, n = 0;
  return {
    onToken(): void {
      last = now();
      if (n++ === 0) first = last;
    },
    stats(): GenerationStats {
      const seconds = (now() - t0) / 1000;
      const rate = n > 1 && last > first ? (n - 1) / ((last - first) / 1000) : null;
      return { tokens: n, seconds, firstTokenSeconds: n ? (first - t0) / 1000 : null, decodeTokensPerSecond: rate };
    },
  };
}

export function formatGenerationStats(s: GenerationStats): string {
  const first = s.firstTokenSeconds === null ? '' : `, first token ${(s.firstTokenSeconds * 1000).toFixed(0)} ms`;
  const rate = s.decodeTokensPerSecond === null ? '' : `, then ${s.decodeTokensPerSecond.toFixed(1)} tokens/s`;
  return `${s.tokens} token${s.tokens === 1 ? '' : 's'} in ${s.seconds.toFixed(2)} s${first}${rate}`;
}

/** Bytes for people: 1.2 GiB, 327 MiB, 12.5 KiB. */
export function formatBytes(b: number): string {
  if (b >= 2 ** 30) return `${(b / 2 ** 30).toFixed(2)} GiB`;
  if (b >= 2 ** 20) return `${(b / 2 ** 20).toFixed(0)} MiB`;
  return `${(b / 2 ** 10).toFixed(1)} KiB`;
}
