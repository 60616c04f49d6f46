// Opens the GPU for a CLI command, with the Dawn toggles a command may ask for.
import { openNodeGpu } from '../gpu/node';
import type { Gpu } from '../gpu/gpu';
import type { Args } from './args';
import { log } from './command';

export async function cliGpu(args?: Args): Promise<Gpu> {
  const toggles: string[] = [];
  // NVIDIA's Vulkan driver exposes shader-f16 in Dawn only behind this toggle (see README, GPU notes).
  if (args?.flag('f16')) toggles.push('enable-dawn-features=vulkan_enable_f16_on_nvidia');
  const gpu = await openNodeGpu({ dawnToggles: toggles, onLost: (e) => log(e.message) });
  // QUANTLAB_GPU_KERNELS=1: the GPU kernel variants on a CPU adapter too (to look at the host's side of a decode
  // step on a machine without a GPU; slow)
  if (process.env.QUANTLAB_GPU_KERNELS === '1') gpu.serialKernels = false;
  return gpu;
}
