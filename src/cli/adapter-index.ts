// One process per GPU on one host: --adapter-index K leaves the K-th GPU as the only Vulkan device this process
// sees. Dawn for Node takes the first adapter whose name matches its `adapter=` flag, and identical GPUs share a
// name; NVIDIA's Vulkan driver ignores CUDA_VISIBLE_DEVICES, and the Vulkan loader's own filters
// (VK_LOADER_DEVICE_ID_FILTER, VK_LOADER_DEVICE_SELECT) match a model's vendor and device ids, which identical
// cards share. What does tell them apart is the PCI address: Mesa's device-select layer (an implicit Vulkan layer,
// in Debian's and Ubuntu's mesa-vulkan-drivers package, working over any vendor's driver) exposes the one device at
// DRI_PRIME=pci-DDDD_BB_DD_F when MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE=1. docs/distributed.md says more.
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { nodeGpuApi } from '../gpu/node';
import { UsageError } from './args';
import { log } from './command';

export const ADAPTER_INDEX_USAGE = '[--adapter-index K (use only the K-th GPU of this host, in PCI order as nvidia-smi numbers them: one process per GPU; needs Mesa\'s Vulkan device-select layer)]';

/** Kernel drivers of GPUs a Vulkan driver serves; a server's BMC display (e.g. ASPEED's `ast`) is not one. */
const GPU_DRIVERS = ['nvidia', 'amdgpu', 'radeon', 'i915', 'xe', 'nouveau'];

export interface PciGpu {
  /** domain:bus:device.function, e.g. 0000:18:00.0 */
  address: string;
  driver: string;
}

/** The host's GPUs (PCI display controllers bound to a GPU driver), in PCI address order. */
export function pciGpus(devices = '/sys/bus/pci/devices'): PciGpu[] {
  if (!existsSync(devices)) return [];
  const out: PciGpu[] = [];
  for (const address of readdirSync(devices)) {
    const dir = join(devices, address);
    let cls: string, driver: string;
    try {
      cls = readFileSync(join(dir, 'class'), 'utf8').trim();
      driver = basename(readlinkSync(join(dir, 'driver')));
    } catch {
      continue; // no class file, or no driver bound
    }
    if (cls.startsWith('0x03') && GPU_DRIVERS.includes(driver)) out.push({ address, driver });
  }
  return out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** The device-select layer's name for a PCI address: 0000:18:00.0 -> pci-0000_18_00_0. */
export function driPrimeTag(address: string): string {
  const m = /^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i.exec(address);
  if (!m) throw new RangeError(`"${address}" is not a PCI address (domain:bus:device.function)`);
  return `pci-${m[1]}_${m[2]}_${m[3]}_${m[4]}`.toLowerCase();
}

/** Where the Vulkan loader looks for implicit layers (Linux), the environment's own folders first. */
function implicitLayerDirs(env: NodeJS.ProcessEnv): string[] {
  const split = (v: string | undefined) => (v ?? '').split(':').filter(Boolean);
  return [
    ...split(env.VK_IMPLICIT_LAYER_PATH), ...split(env.VK_ADD_IMPLICIT_LAYER_PATH),
    ...split(env.XDG_CONFIG_HOME ?? join(homedir(), '.config')).map((d) => join(d, 'vulkan/implicit_layer.d')),
    ...split(env.XDG_CONFIG_DIRS ?? '/etc/xdg').map((d) => join(d, 'vulkan/implicit_layer.d')),
    '/etc/vulkan/implicit_layer.d',
    ...split(env.XDG_DATA_HOME ?? join(homedir(), '.local/share')).map((d) => join(d, 'vulkan/implicit_layer.d')),
    ...split(env.XDG_DATA_DIRS ?? '/usr/local/share:/usr/share').map((d) => join(d, 'vulkan/implicit_layer.d')),
  ];
}

/** The manifest of Mesa's device-select layer where the loader would find it, or null. */
export function deviceSelectLayer(env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of implicitLayerDirs(env)) {
    if (!existsSync(dir)) continue;
    const f = readdirSync(dir).find((n) => /^VkLayer_MESA_device_select.*\.json$/.test(n));
    if (f) return join(dir, f);
  }
  return null;
}

/**
 * Sets the environment so that the Vulkan loader, once Dawn starts it, shows this process only the GPU at
 * `index`; throws a UsageError saying what is missing (no such GPU, no device-select layer).
 */
export function selectGpu(index: number, env: NodeJS.ProcessEnv = process.env, devices?: string): PciGpu {
  const gpus = pciGpus(devices);
  if (!gpus.length) throw new UsageError(`--adapter-index ${index}: this host shows no GPU on its PCI bus (in /sys/bus/pci/devices). In a container given one GPU, leave --adapter-index out: that GPU is the only one it sees.`);
  if (index >= gpus.length) throw new UsageError(`--adapter-index ${index}: this host has ${gpus.length} GPU(s) (${gpus.map((g, i) => `${i}: ${g.address}`).join(', ')}); give 0 to ${gpus.length - 1}`);
  if (!deviceSelectLayer(env)) {
    throw new UsageError(`--adapter-index ${index} needs Mesa's Vulkan device-select layer (VkLayer_MESA_device_select.json in an implicit layer folder; Debian/Ubuntu: apt-get install mesa-vulkan-drivers), which picks a GPU by PCI address; without it, run one container per GPU (docs/distributed.md)`);
  }
  const gpu = gpus[index];
  env.DRI_PRIME = driPrimeTag(gpu.address);
  env.MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE = '1';
  delete env.MESA_VK_DEVICE_SELECT; // it would win over DRI_PRIME
  delete env.NODEVICE_SELECT; // the layer's own off switch
  return gpu;
}

/** The adapters Dawn for Node can see: its error for an adapter name that matches none lists them. */
export async function visibleAdapters(): Promise<string[]> {
  const api = await nodeGpuApi(['adapter=\u0001no adapter has this name']);
  try {
    await api.requestAdapter();
  } catch (e) {
    return [...String((e as Error).message ?? e).matchAll(/^\s*\* backend: '[^']*', name: '(.*)'$/gm)].map((m) => m[1]);
  }
  return [];
}

/** --adapter-index K: selects the GPU, then checks that Dawn sees that one alone (the layer may not have loaded). */
export async function useAdapterIndex(index: number): Promise<void> {
  const gpu = selectGpu(index);
  const seen = await visibleAdapters();
  if (seen.length !== 1) {
    throw new UsageError(`--adapter-index ${index}: asked the Vulkan device-select layer for the GPU at ${gpu.address} alone, but Dawn sees ${seen.length} adapter(s)${seen.length ? ` (${seen.join('; ')})` : ''}: the layer did not load (set VK_LOADER_DEBUG=layer to see why) or this GPU has no Vulkan driver`);
  }
  log(`adapter: GPU ${index} of this host, ${gpu.address} (${gpu.driver}): ${seen[0]}`);
}
