import type { Command } from '../command';
import { printJson } from '../command';
import { cliGpu } from '../gpu-node';
import { checkMatrixUnits } from '../../quant/matrix-units';

export const gpuCommand: Command = {
  name: 'gpu',
  summary: 'print the WebGPU adapter, its features and limits as JSON',
  usage: 'quantlab gpu [--f16]',
  flags: ['f16'],
  async run(args) {
    const gpu = await cliGpu(args);
    // where offered, the matrix-unit GEMMs checked against float64 whether or not this run uses them
    let matrixUnits: unknown = null;
    if (gpu.matrixUnitsOffered) {
      const used = gpu.matrixUnits;
      gpu.matrixUnits = true;
      matrixUnits = await checkMatrixUnits(gpu).catch((e: unknown) => ({ ok: false, error: e instanceof Error ? e.message : String(e) }));
      gpu.matrixUnits = used;
    }
    printJson({ adapter: gpu.adapter, subgroups: gpu.hasSubgroups, shaderF16: gpu.hasF16, timestampQuery: gpu.hasTimestamps, matrixUnitsOffered: gpu.matrixUnitsOffered, matrixUnits });
    gpu.destroy();
  },
};
