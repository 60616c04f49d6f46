// The lab's shared state: the GPU, the loaded model, and the errors to show. Panels read it via useLab().
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { openBrowserGpu } from '../gpu/browser';
import type { Gpu } from '../gpu/gpu';
import { QuantlabError } from '../gpu/errors';
import { gpuSelfTest, type SelfTest } from '../gpu/selftest';
import type { Checkpoint } from '../model/checkpoint';
import type { TextTokenizer } from '../model/tokenizer';
import type { Transformer } from '../model/transformer';

export interface LoadedModel {
  ckpt: Checkpoint;
  tokenizer: TextTokenizer;
  model: Transformer;
  /** Where it came from: "bundled", "folder", "url". */
  source: string;
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
  banner: Banner | null;
  report(e: unknown): void;
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
  const [banner, setBanner] = useState<Banner | null>(null);

  useEffect(() => {
    let alive = true;
    openBrowserGpu({ onLost: (e) => setGpuError(toBanner(e)) })
      .then(async (g) => {
        if (!alive) return g.destroy();
        setGpu(g);
        setSelfTest(await gpuSelfTest(g));
      })
      .catch((e) => alive && setGpuError(toBanner(e)));
    return () => {
      alive = false;
    };
  }, []);

  const setLoaded = useCallback((m: LoadedModel | null) => {
    setLoadedState((old) => {
      if (old && old !== m) old.model.destroy();
      return m;
    });
  }, []);
  const report = useCallback((e: unknown) => setBanner(toBanner(e)), []);
  const clearBanner = useCallback(() => setBanner(null), []);
  const value = useMemo(
    () => ({ gpu, gpuError, selfTest, loaded, setLoaded, banner, report, clearBanner }),
    [gpu, gpuError, selfTest, loaded, setLoaded, banner, report, clearBanner],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useLab(): LabState {
  const v = useContext(Ctx);
  if (!v) throw new Error('useLab outside LabProvider');
  return v;
}
