// Opens the GPU for a CLI command, with the Dawn toggles a command may ask for.
import { openNodeGpu } from '../gpu/node';
import type { Gpu } from '../gpu/gpu';
import type { Args } from './args';
import { log } from './command';
import { verifyMatrixUnits } from '../quant/matrix-units';

/**
 * --f16's Dawn toggles: NVIDIA's Vulkan driver exposes shader-f16 in Dawn only behind the first (see README, GPU
 * notes); the second lets Dawn offer its experimental features, the matrix units among them (Gpu.matrixUnits).
 */
export const F16_TOGGLES = ['enable-dawn-features=vulkan_enable_f16_on_nvidia,allow_unsafe_apis'];

export function cliGpu(args?: Args): Promise<Gpu> {
  return openCliGpu(args?.flag('f16') ?? false);
}

/** The GPU as the CLI's commands open it: --f16's toggles when `f16`, the matrix units checked before use. */
export async function openCliGpu(f16: boolean): Promise<Gpu> {
  const toggles = f16 ? F16_TOGGLES : [];
  // QUANTLAB_MATRIX_UNITS=1: the f16-weight GEMMs on the matrix units where Dawn offers them (with --f16's
  // toggles); =all: the packed ones too
  const env = process.env.QUANTLAB_MATRIX_UNITS ?? '';
  const scope = ({ 1: 'dense', dense: 'dense', all: 'all' } as const)[env as '1' | 'dense' | 'all'];
  if (!scope && !['', '0'].includes(env)) log(`warning: QUANTLAB_MATRIX_UNITS=${env} is not 1 (or dense), all or 0: the matrix units stay off`);
  const gpu = await openNodeGpu({ dawnToggles: toggles, onLost: (e) => log(e.message), matrixUnits: scope });
  await verifyMatrixUnits(gpu, (m) => log(`warning: ${m}`));
  // QUANTLAB_GPU_KERNELS=1: the GPU kernel variants on a CPU adapter too (to look at the host's side of a decode
  // step on a machine without a GPU; slow)
  if (process.env.QUANTLAB_GPU_KERNELS === '1') gpu.serialKernels = false;
  return gpu;
}
