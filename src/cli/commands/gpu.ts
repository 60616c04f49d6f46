import type { Command } from '../command';
import { printJson } from '../command';
import { cliGpu } from '../gpu-node';
import { checkOfferedMatrixUnits } from '../../quant/matrix-units';

export const gpuCommand: Command = {
  name: 'gpu',
  summary: 'print the WebGPU adapter, its features and limits as JSON',
  usage: 'quantlab gpu [--f16]',
  flags: ['f16'],
  async run(args) {
    const gpu = await cliGpu(args);
    const matrixUnits = await checkOfferedMatrixUnits(gpu);
    printJson({ adapter: gpu.adapter, subgroups: gpu.hasSubgroups, shaderF16: gpu.hasF16, timestampQuery: gpu.hasTimestamps, matrixUnitsOffered: gpu.matrixUnitsOffered, matrixUnits });
    gpu.destroy();
  },
};
