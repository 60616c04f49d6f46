// The lab's shared state: the GPU, the loaded model (and its quantized copy), the results store, and the
// errors to show. Panels read it via useLab(); all panels stay mounted, so a running sweep or quantization
// keeps going when the user switches tabs.
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { openBrowserGpu } from '../gpu/browser';
import type { Gpu } from '../gpu/gpu';
import { QuantlabError } from '../gpu/errors';
import { gpuSelfTest, type SelfTest } from '../gpu/selftest';
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
  /** Merges rows into the store (mergeRows): how many were added, and how many replaced rows of fewer items. */
  addResults(rows: ResultRow[]): Promise<{ added: number; replaced: number }>;
  refreshResults(): Promise<void>;
  clearResults(): Promise<void>;
  banner: Banner | null;
  report(e: unknown): void;
  inform(message: string): void;
  clearBanner(): void;
}

const Ctx = createContext<LabState | null>(null);

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
  const addResults = useCallback(async (rows: ResultRow[]) => {
    const { added, replaced, written } = mergeRows(await store.all(), rows);
    await store.append(written);
    setResults(await store.all());
    return { added, replaced };
  }, [store]);
  const clearResults = useCallback(async () => {
    await store.clear();
    setResults([]);
  }, [store]);
  const report = useCallback((e: unknown) => setBanner(toBanner(e)), []);
  const inform = useCallback((message: string) => setBanner({ kind: 'info', message }), []);
  const clearBanner = useCallback(() => setBanner(null), []);
  const value = useMemo(
    () => ({ gpu, gpuError, selfTest, loaded, setLoaded, quantized, setQuantized, store, results, addResults, refreshResults, clearResults, banner, report, inform, clearBanner }),
    [gpu, gpuError, selfTest, loaded, setLoaded, quantized, setQuantized, store, results, addResults, refreshResults, clearResults, banner, report, inform, clearBanner],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useLab(): LabState {
  const v = useContext(Ctx);
  if (!v) throw new Error('useLab outside LabProvider');
  return v;
}
