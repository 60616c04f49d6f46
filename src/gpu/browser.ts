// Browser entry adapter: navigator.gpu. Only src/ui imports this file.
import { Gpu, type GpuOptions } from './gpu';

export function openBrowserGpu(opts: GpuOptions = {}): Promise<Gpu> {
  const api = typeof navigator !== 'undefined' ? navigator.gpu : undefined;
  return Gpu.open(api, 'browser', opts);
}
