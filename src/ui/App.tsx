import { useEffect, useState } from 'react';
import { LabProvider, useLab } from './lab';
import { GpuBadge } from './GpuBadge';
import { ModelPanel } from './panels/ModelPanel';
import { Placeholder } from './panels/Placeholder';

const PANELS = ['Model', 'Quantize', 'Evaluate', 'Sweep', 'Fit', 'Benchmark'] as const;
type PanelName = (typeof PANELS)[number];

function Shell() {
  const { gpuError, banner, clearBanner } = useLab();
  const [panel, setPanel] = useState<PanelName>('Model');
  const [theme, setTheme] = useState<'light' | 'dark'>(() =>
    (localStorage.getItem('quantlab.theme') as 'light' | 'dark' | null) ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'),
  );
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('quantlab.theme', theme);
  }, [theme]);

  return (
    <div className="app">
      <header className="top">
        <div className="brand">
          <span className="logo" aria-hidden>◧</span> quantlab
          <span className="tagline">GPTQ, evaluation and scaling laws on your own GPU</span>
        </div>
        <GpuBadge />
        <button className="ghost" onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')} title="Switch between dark and light">
          {theme === 'dark' ? '☀ light' : '☾ dark'}
        </button>
      </header>
      {gpuError && (
        <div className="banner error" role="alert" data-testid="gpu-error">
          <strong>{gpuError.message}</strong>
          {gpuError.action && <div>{gpuError.action}</div>}
        </div>
      )}
      {banner && (
        <div className={`banner ${banner.kind}`} role="alert">
          <strong>{banner.message}</strong>
          {banner.action && <div>{banner.action}</div>}
          <button className="ghost" onClick={clearBanner} aria-label="Dismiss">✕</button>
        </div>
      )}
      <nav className="tabs" role="tablist">
        {PANELS.map((p) => (
          <button key={p} role="tab" aria-selected={panel === p} className={panel === p ? 'tab active' : 'tab'} onClick={() => setPanel(p)}>
            {p}
          </button>
        ))}
      </nav>
      <main className="panel" role="tabpanel" aria-label={panel}>
        {panel === 'Model' ? <ModelPanel /> : <Placeholder name={panel} />}
      </main>
    </div>
  );
}

export function App() {
  return (
    <LabProvider>
      <Shell />
    </LabProvider>
  );
}
