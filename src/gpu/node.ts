// Node entry adapter: Dawn through the npm package `webgpu`. Only Node front ends (CLI, tests, benchmarks)
// import this file; everything else receives a Gpu.
import { existsSync, readdirSync } from 'node:fs';
import { Gpu, type GpuOptions } from './gpu';
import { WebGPUUnavailableError } from './errors';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const SYSTEM_ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

/** On a machine with no Vulkan driver of its own, use SwiftShader (installed with Chromium by scripts/setup.sh). */
function defaultVulkanDriver(): void {
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return;
  const hasSystemIcd = SYSTEM_ICD_DIRS.some((d) => existsSync(d) && readdirSync(d).some((f) => f.endsWith('.json')));
  if (!hasSystemIcd && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
}

// Dawn aborts the process if the object returned by create() is garbage-collected while a device lives:
// keep every instance referenced for the life of the process.
const instances: unknown[] = [];

/** A Dawn `GPU` object (navigator.gpu's equivalent), kept alive for the life of the process. */
export async function nodeGpuApi(dawnToggles: string[] = []): Promise<GPU> {
  defaultVulkanDriver();
  let mod: typeof import('webgpu');
  try {
    mod = await import('webgpu');
  } catch (e) {
    throw Object.assign(new WebGPUUnavailableError('node'), { cause: e });
  }
  Object.assign(globalThis, mod.globals);
  const api = mod.create(['disable-dawn-features=timestamp_quantization', ...dawnToggles]);
  instances.push(api);
  return api as unknown as GPU;
}

export async function openNodeGpu(opts: GpuOptions = {}): Promise<Gpu> {
  return Gpu.open(await nodeGpuApi(opts.dawnToggles), 'node', opts);
}
