// The lab's shared state: the GPU, the loaded model (and its quantized copy), the results store, and the
// errors to show. Panels read it via useLab(); all panels stay mounted, so a running sweep or quantization
// keeps going when the user switches tabs.
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { openBrowserGpu } from '../gpu/browser';
import type { Gpu } from '../gpu/gpu';
import { QuantlabError } from '../errors';
import { gpuSelfTest, type SelfTest } from '../model/selftest';
import { verifyMatrixUnits } from '../quant/matrix-units';
import type { Checkpoint } from '../model/checkpoint';
import type { TextTokenizer } from '../model/tokenizer';
import type { Transformer } from '../model/transformer';
import type { QuantizeResult } from '../quant/quantize-model';
import { mergeRows, type ResultRow } from '../sweep/results';
import type { ResultStore } from '../sweep/store';
import { indexedDbStore } from './idb-store';

export interface LoadedModel {
  ckpt: Checkpoint;
  tokenizer: TextTokenizer;
  model: Transformer;
  /** Where it came from: "bundled", "folder", "url". */
  source: string;
  /** Short name for tables: the bundled name or the folder name. */
  name: string;
}

export interface QuantizedModel {
  result: QuantizeResult;
  label: string;
}

export interface Banner {
  kind: 'error' | 'info';
  message: string;
  action?: string;
  /** The tab whose work it reports: shown over that tab only (none: over every tab). */
  tab?: string;
}

interface LabState {
  gpu: Gpu | null;
  gpuError: Banner | null;
  selfTest: SelfTest | null;
  loaded: LoadedModel | null;
  setLoaded(m: LoadedModel | null): void;
  quantized: QuantizedModel | null;
  setQuantized(q: QuantizedModel | null): void;
  store: ResultStore;
  results: ResultRow[];
  /** Merges rows into the store (mergeRows): how many were added, and how many replaced rows of fewer items (none with keepMine). */
  addResults(rows: ResultRow[], opts?: { keepMine?: boolean }): Promise<{ added: number; replaced: number }>;
  refreshResults(): Promise<void>;
  clearResults(): Promise<void>;
  banner: Banner | null;
  /** Shows an error or a message over the tab of the panel that calls it (PanelScope). */
  report(e: unknown): void;
  inform(message: string): void;
  clearBanner(): void;
}

interface LabContext extends LabState {
  reportIn(tab: string | undefined, e: unknown): void;
  informIn(tab: string | undefined, message: string): void;
}

const Ctx = createContext<LabContext | null>(null);

/** What a browser without WebGPU can still do, and what needs it. */
export const WITHOUT_GPU = 'Without WebGPU the Fit tab still works: import results in the Sweep tab (the repository\'s examples/family-sweep-h100.jsonl.gz, or your own from quantlab sweep) and fit the law to them; the Benchmark tab opens saved reports. Loading a model, quantizing, evaluating, running a sweep and the kernel benchmark need WebGPU.';

/** The tab a panel is in: its banners belong to it. */
export const PanelScope = createContext<string | undefined>(undefined);

export function toBanner(e: unknown): Banner {
  if (e instanceof QuantlabError) return { kind: 'error', message: e.message.replace(e.action, '').trim(), action: e.action };
  return { kind: 'error', message: e instanceof Error ? e.message : String(e) };
}

export function LabProvider({ children }: { children: ReactNode }) {
  const [gpu, setGpu] = useState<Gpu | null>(null);
  const [gpuError, setGpuError] = useState<Banner | null>(null);
  const [selfTest, setSelfTest] = useState<SelfTest | null>(null);
  const [loaded, setLoadedState] = useState<LoadedModel | null>(null);
  const [quantized, setQuantizedState] = useState<QuantizedModel | null>(null);
  const [results, setResults] = useState<ResultRow[]>([]);
  const [banner, setBanner] = useState<Banner | null>(null);
  const store = useMemo(() => indexedDbStore(), []);

  useEffect(() => {
    let alive = true;
    openBrowserGpu({ onLost: (e) => setGpuError(toBanner(e)) })
      .then(async (g) => {
        if (!alive) return g.destroy();
        await verifyMatrixUnits(g, (m) => console.warn(m));
        setGpu(g);
        setSelfTest(await gpuSelfTest(g));
      })
      .catch((e) => alive && setGpuError(toBanner(e)));
    store.all().then(setResults).catch((e) => setBanner(toBanner(e)));
    return () => {
      alive = false;
    };
  }, [store]);

  const setQuantized = useCallback((q: QuantizedModel | null) => {
    setQuantizedState((old) => {
      if (old && old !== q) old.result.model.destroy();
      return q;
    });
  }, []);
  const setLoaded = useCallback((m: LoadedModel | null) => {
    setQuantized(null);
    setLoadedState((old) => {
      if (old && old !== m) old.model.destroy();
      return m;
    });
  }, [setQuantized]);
  const refreshResults = useCallback(async () => setResults(await store.all()), [store]);
  const addResults = useCallback(async (rows: ResultRow[], opts: { keepMine?: boolean } = {}) => {
    const { added, replaced, written } = mergeRows(await store.all(), rows, opts);
    await store.append(written);
    setResults(await store.all());
    return { added, replaced };
  }, [store]);
  const clearResults = useCallback(async () => {
    await store.clear();
    setResults([]);
  }, [store]);
  const reportIn = useCallback((tab: string | undefined, e: unknown) => setBanner({ ...toBanner(e), tab }), []);
  const informIn = useCallback((tab: string | undefined, message: string) => setBanner({ kind: 'info', message, tab }), []);
  const report = useCallback((e: unknown) => reportIn(undefined, e), [reportIn]);
  const inform = useCallback((message: string) => informIn(undefined, message), [informIn]);
  const clearBanner = useCallback(() => setBanner(null), []);
  const value = useMemo(
    () => ({ gpu, gpuError, selfTest, loaded, setLoaded, quantized, setQuantized, store, results, addResults, refreshResults, clearResults, banner, report, inform, reportIn, informIn, clearBanner }),
    [gpu, gpuError, selfTest, loaded, setLoaded, quantized, setQuantized, store, results, addResults, refreshResults, clearResults, banner, report, inform, reportIn, informIn, clearBanner],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useLab(): LabState {
  const v = useContext(Ctx);
  const tab = useContext(PanelScope);
  const scoped = useMemo(() => (v && tab !== undefined ? { ...v, report: (e: unknown) => v.reportIn(tab, e), inform: (m: string) => v.informIn(tab, m) } : v), [v, tab]);
  if (!scoped) throw new Error('useLab outside LabProvider');
  return scoped;
}
