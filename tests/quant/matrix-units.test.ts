// The GEMMs on matrix units: CI's adapter (SwiftShader) has none, so their numbers are checked on the device that
// runs them (checkMatrixUnits, run by every entry point where Gpu.matrixUnits is on). Here: the variants' text,
// the refusal on a device without the feature, and the fallback when the check fails.
import { describe, expect, it } from 'vitest';
import { shaderSource } from '../../src/gpu/shaders';
import { MMA_FEATURES } from '../../src/model/ops';
import { verifyMatrixUnits } from '../../src/quant/matrix-units';
import { testGpu } from '../helpers/gpu';

describe('GEMMs on matrix units', () => {
  it('their variants carry the experimental directives and the shared tile; the others do not', () => {
    for (const [shader, entry, defines] of [['matmul', 'tiled_mma', ['weights_f16']], ['qgemm', 'main_mma', []]] as const) {
      const text = shaderSource(shader, MMA_FEATURES, defines);
      expect(text.split('\n').slice(0, 4)).toEqual(['enable f16;', 'enable subgroups;', 'enable chromium_experimental_subgroup_matrix;', 'diagnostic(off, chromium_experimental.subgroup_matrix_uniformity);']);
      expect(text).toMatch(new RegExp(`fn ${entry}\\(`));
      expect(text).toContain('fn mma_tile(');
      expect(shaderSource(shader, ['f16', 'subgroups'], defines)).not.toMatch(/fn mma_tile\(|subgroupMatrix|enable chromium/);
    }
  });

  it('a device without the feature refuses them by name; a failed check turns them off and says why', async () => {
    const gpu = await testGpu();
    expect(gpu.matrixUnitsOffered).toBe(false); // SwiftShader offers none
    expect(gpu.adapter.subgroupMatrixConfigs).toEqual([]);
    expect(gpu.matrixUnits).toBe(false);
    expect(() => gpu.pipeline({ shader: 'matmul', entry: 'tiled_mma', features: MMA_FEATURES, defines: ['weights_f16'] })).toThrow(/chromium-experimental-subgroup-matrix/);
    expect(await verifyMatrixUnits(gpu, () => undefined)).toBeNull(); // nothing to check where they are off
    // on as if offered: the check cannot build its kernels, so it fails, and the f32 GEMMs stay in use
    gpu.matrixUnits = true;
    const warnings: string[] = [];
    const result = await verifyMatrixUnits(gpu, (m) => warnings.push(m));
    expect(result?.ok).toBe(false);
    expect(gpu.matrixUnits).toBe(false);
    expect(warnings.join('\n')).toMatch(/matrix units differ from float64 .*chromium-experimental-subgroup-matrix.*using the f32 GEMMs instead/);
  });
});
