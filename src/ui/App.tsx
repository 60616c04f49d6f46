import { useCallback, useEffect, useState } from 'react';
import { GpuBadge } from './GpuBadge';
import { LabProvider, PanelScope, useLab, WITHOUT_GPU } from './lab';
import { BenchPanel } from './panels/BenchPanel';
import { EvaluatePanel } from './panels/EvaluatePanel';
import { FitPanel } from './panels/FitPanel';
import { ModelPanel } from './panels/ModelPanel';
import { QuantizePanel } from './panels/QuantizePanel';
import { SweepPanel } from './panels/SweepPanel';
import { Walkthrough } from './Walkthrough';

const PANELS = ['Model', 'Quantize', 'Evaluate', 'Sweep', 'Fit', 'Benchmark'] as const;
type PanelName = (typeof PANELS)[number];
const TOUR_KEY = 'quantlab.tour.done';


function Shell() {
  const { gpuError, banner, clearBanner } = useLab();
  const [panel, setPanel] = useState<PanelName>('Model');
  const [tour, setTour] = useState<number | null>(() => (localStorage.getItem(TOUR_KEY) ? null : 0));
  const [theme, setTheme] = useState<'light' | 'dark'>(() =>
    (localStorage.getItem('quantlab.theme') as 'light' | 'dark' | null) ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'),
  );
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('quantlab.theme', theme);
  }, [theme]);
  const onTab = useCallback((t: string) => setPanel(t as PanelName), []);
  // a tab's message shows over that tab only; the tab's name is marked while another is shown
  const shown = banner && (!banner.tab || banner.tab === panel) ? banner : null;
  const closeTour = () => {
    localStorage.setItem(TOUR_KEY, '1');
    setTour(null);
  };

  return (
    <div className="app">
      <header className="top">
        <div className="brand">
          <span className="logo" aria-hidden>◧</span> quantlab
          <span className="tagline">GPTQ, evaluation and scaling laws on your own GPU</span>
        </div>
        <GpuBadge />
        <button className="ghost" onClick={() => setTour(0)} title="The guided tour: what B, G, C_b, the Hessian and the law are" aria-label="Open the guided tour">?</button>
        <button className="ghost" onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')} title="Switch between dark and light">
          {theme === 'dark' ? '☀ light' : '☾ dark'}
        </button>
      </header>
      {gpuError && (
        <div className="banner error" role="alert" data-testid="gpu-error">
          <strong>{gpuError.message}</strong>
          {gpuError.action && <div>{gpuError.action}</div>}
          <div data-testid="without-gpu">{WITHOUT_GPU}</div>
        </div>
      )}
      {shown && (
        <div className={`banner ${shown.kind}`} role={shown.kind === 'error' ? 'alert' : 'status'} data-testid={`banner-${shown.kind}`}>
          <strong>{shown.message}</strong>
          {shown.action && <div>{shown.action}</div>}
          <button className="ghost" onClick={clearBanner} aria-label="Dismiss">✕</button>
        </div>
      )}
      {tour !== null && <Walkthrough step={tour} setStep={setTour} onTab={onTab} onClose={closeTour} />}
      <nav className="tabs" role="tablist" aria-label="Lab sections">
        {PANELS.map((p) => (
          <button key={p} role="tab" id={`tab-${p}`} aria-selected={panel === p} aria-controls={`panel-${p}`} className={panel === p ? 'tab active' : 'tab'} onClick={() => setPanel(p)}>
            {p}{banner?.tab === p && panel !== p && <span className={`tab-note ${banner.kind}`} title={banner.message} aria-label="a message from this tab"> ●</span>}
          </button>
        ))}
      </nav>
      {/* Every panel stays mounted: a running sweep or quantization continues while another tab is shown. */}
      {PANELS.map((p) => (
        <main key={p} className="panel" role="tabpanel" id={`panel-${p}`} aria-labelledby={`tab-${p}`} hidden={panel !== p}>
          <PanelScope.Provider value={p}>
            {p === 'Model' && <ModelPanel />}
            {p === 'Quantize' && <QuantizePanel />}
            {p === 'Evaluate' && <EvaluatePanel />}
            {p === 'Sweep' && <SweepPanel />}
            {p === 'Fit' && <FitPanel active={panel === 'Fit'} />}
            {p === 'Benchmark' && <BenchPanel />}
          </PanelScope.Provider>
        </main>
      ))}
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
