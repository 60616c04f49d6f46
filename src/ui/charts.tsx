// Chart export helpers and the 3D surface (plotly.js gl3d, loaded on demand: it is 4 MB of WebGL plotting).
import { useEffect, useRef, useState } from 'react';
import { saveFile } from './browser';

/** Downloads the first <svg> inside `el` (a recharts chart) as SVG or PNG. */
export async function exportChart(el: HTMLElement | null, name: string, format: 'svg' | 'png'): Promise<void> {
  // the chart's own surface, not a legend icon (also an svg.recharts-surface)
  const svg = el?.querySelector('svg.recharts-surface[role="application"]') ?? el?.querySelector('svg');
  if (!svg) return;
  const clone = svg.cloneNode(true) as SVGSVGElement;
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  const style = getComputedStyle(document.documentElement);
  clone.setAttribute('style', `background:${style.getPropertyValue('--card')};font-family:sans-serif`);
  const text = new XMLSerializer().serializeToString(clone).replace(/var\(--([a-z-]+)\)/g, (_, v: string) => style.getPropertyValue(`--${v}`).trim());
  if (format === 'svg') return saveFile(`${name}.svg`, text, 'image/svg+xml');
  const { width, height } = svg.getBoundingClientRect();
  const img = new Image();
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(text)}`;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = width * 2;
  canvas.height = height * 2;
  const ctx = canvas.getContext('2d')!;
  ctx.scale(2, 2);
  ctx.drawImage(img, 0, 0, width, height);
  const blob = await new Promise<Blob | null>((r) => canvas.toBlob(r, 'image/png'));
  if (blob) saveFile(`${name}.png`, blob, 'image/png');
}

export function saveCsv(name: string, rows: Record<string, unknown>[]): void {
  if (!rows.length) return;
  const cols = Object.keys(rows[0]);
  const cell = (v: unknown) => (typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v === null || v === undefined ? '' : String(v));
  saveFile(`${name}.csv`, [cols.join(','), ...rows.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\n') + '\n', 'text/csv');
}

export function ChartActions({ target, name, data }: { target: React.RefObject<HTMLDivElement | null>; name: string; data: () => Record<string, unknown>[] }) {
  return (
    <span className="chart-actions">
      <button className="ghost small" onClick={() => exportChart(target.current, name, 'png')} title="Download the chart as PNG">PNG</button>
      <button className="ghost small" onClick={() => exportChart(target.current, name, 'svg')} title="Download the chart as SVG">SVG</button>
      <button className="ghost small" onClick={() => saveCsv(name, data())} title="Download the data behind the chart">CSV</button>
    </span>
  );
}

export interface SurfaceTrace {
  name: string;
  x: number[];
  y: number[];
  z: number[][];
  opacity?: number;
  colorscale?: string;
}

export interface PointTrace {
  name: string;
  x: number[];
  y: number[];
  z: number[];
  text: string[];
}

type PlotlyLib = {
  react(el: HTMLElement, data: unknown[], layout: unknown, config: unknown): Promise<unknown>;
  purge(el: HTMLElement): void;
  downloadImage(el: HTMLElement, opts: { format: 'png' | 'svg'; filename: string; width?: number; height?: number }): Promise<unknown>;
};

/** A WebGL 3D plot: surfaces (the fitted and the published law) and markers (measured configurations). */
export function Surface3D({ surfaces, points, axes, name, testId }: { surfaces: SurfaceTrace[]; points: PointTrace[]; axes: [string, string, string]; name: string; testId?: string }) {
  const el = useRef<HTMLDivElement>(null);
  const lib = useRef<PlotlyLib | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let alive = true;
    (async () => {
      try {
        lib.current ??= ((await import('plotly.js-gl3d-dist-min')) as unknown as { default: PlotlyLib }).default;
        if (!alive || !el.current) return;
        const dark = document.documentElement.dataset.theme === 'dark';
        const fg = dark ? '#e6e9ed' : '#1b1f24';
        const axis = (title: string) => ({ title: { text: title }, color: fg, gridcolor: dark ? '#444' : '#ccc' });
        await lib.current.react(
          el.current,
          [
            ...surfaces.map((s) => ({ type: 'surface', name: s.name, x: s.x, y: s.y, z: s.z, opacity: s.opacity ?? 0.85, colorscale: s.colorscale ?? 'Viridis', showscale: false, hovertemplate: `${s.name}<br>${axes[0]} %{x:.2f}<br>${axes[1]} %{y:.2f}<br>${axes[2]} %{z:.3f}<extra></extra>` })),
            ...points.map((p) => ({ type: 'scatter3d', mode: 'markers', name: p.name, x: p.x, y: p.y, z: p.z, text: p.text, marker: { size: 4, color: '#d35400' }, hovertemplate: '%{text}<br>Acc_adj %{z:.3f}<extra></extra>' })),
          ],
          {
            margin: { l: 0, r: 0, t: 10, b: 0 }, height: 380, paper_bgcolor: 'rgba(0,0,0,0)', font: { color: fg },
            scene: { xaxis: axis(axes[0]), yaxis: axis(axes[1]), zaxis: axis(axes[2]), camera: { eye: { x: 1.6, y: -1.6, z: 0.9 } } },
            legend: { x: 0, y: 1 },
          },
          { displaylogo: false, responsive: true, toImageButtonOptions: { filename: name } },
        );
      } catch (e) {
        setError(`3D plot unavailable: ${(e as Error).message}. WebGL may be off in this browser.`);
      }
    })();
    return () => {
      alive = false;
    };
  }, [surfaces, points, axes, name]);
  useEffect(() => () => void (el.current && lib.current?.purge(el.current)), []);
  const download = (format: 'png' | 'svg') => el.current && lib.current?.downloadImage(el.current, { format, filename: name, width: 900, height: 600 });
  return (
    <div>
      <span className="chart-actions">
        <button className="ghost small" onClick={() => download('png')}>PNG</button>
        <button className="ghost small" onClick={() => download('svg')}>SVG</button>
        <button className="ghost small" onClick={() => saveCsv(name, surfaces.flatMap((s) => s.y.flatMap((yv, j) => s.x.map((xv, i) => ({ surface: s.name, [axes[0]]: xv, [axes[1]]: yv, [axes[2]]: s.z[j][i] })))))}>CSV</button>
      </span>
      {error ? <p className="muted">{error}</p> : <div ref={el} data-testid={testId} className="surface" />}
    </div>
  );
}
