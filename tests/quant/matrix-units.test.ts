// The GEMMs on matrix units: CI's adapter (SwiftShader) has none, so their numbers are checked on the device that
// runs them (checkMatrixUnits, run by every entry point where Gpu.matrixUnits is on). Here: the variants' text,
// the refusal on a device without the feature, and the fallback when the check fails.
import { describe, expect, it } from 'vitest';
import { shaderSource } from '../../src/gpu/shaders';
import { matmul, MMA_FEATURES } from '../../src/model/ops';
import { applyMatrixUnitReport, verifyMatrixUnits } from '../../src/quant/matrix-units';
import { rtnQuantize } from '../../src/quant/gptq';
import { destroyPacked, packWeights, qmatmul } from '../../src/quant/packed';
import { randomF32, testGpu } from '../helpers/gpu';

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

  it('which GEMMs go to them: f16 float weights where on, the packed ones only with packedOnMatrixUnits', async () => {
    const gpu = await testGpu();
    const [M, N, K] = [64, 64, 64];
    const W = gpu.upload(randomF32(N * K, 3), 'w');
    const q = await rtnQuantize(gpu, W, N, K, { bits: 4, groupSize: 32, sym: false });
    const pb = gpu.batch('pack');
    const packed = packWeights(gpu, pb, q, { descAct: false, format: 'gptq_v2' });
    await pb.submit();
    const x = gpu.buffer(M * K * 4, 'x'), y = gpu.buffer(M * N * 4, 'y'), wh = gpu.buffer(N * K * 2, 'wh');
    // the kernels each scope records (recording only: SwiftShader cannot build the matrix-unit pipelines)
    const kernels = (units: boolean, packedToo: boolean) => {
      [gpu.matrixUnits, gpu.packedOnMatrixUnits] = [units, packedToo];
      const counts = new Map<string, number>();
      gpu.dispatchCounts = counts;
      const b = gpu.batch('record');
      matmul(b, x, wh, y, M, N, K, { empty: gpu.empty, wF16: true, tiled: true, splitK: 1 });
      qmatmul(b, packed, x, y, M, { empty: gpu.empty, gemv: false, serial: false, splitK: 1 });
      gpu.dispatchCounts = null;
      [gpu.matrixUnits, gpu.packedOnMatrixUnits] = [false, false];
      return [...counts.keys()];
    };
    try {
      expect(kernels(false, false)).toEqual(['matmul:tiled', 'qgemm:main']);
      expect(kernels(true, false)).toEqual(['matmul:tiled_mma', 'qgemm:main']);
      expect(kernels(true, true)).toEqual(['matmul:tiled_mma', 'qgemm:main_mma']);
    } finally {
      for (const buf of [W, x, y, wh, q.codes, q.scales, q.zeros]) buf.destroy();
      destroyPacked(packed);
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
    gpu.packedOnMatrixUnits = true;
    const warnings: string[] = [];
    const result = await verifyMatrixUnits(gpu, (m) => warnings.push(m));
    expect(result?.ok).toBe(false);
    expect(gpu.matrixUnits).toBe(false);
    expect(gpu.packedOnMatrixUnits).toBe(false);
    expect(warnings.join('\n')).toMatch(/the GEMMs on this GPU's matrix units differ from float64 .*chromium-experimental-subgroup-matrix.*using the f32 ones instead/);
  });

  it('a check where only packed cases fail keeps the float-weight GEMMs on the matrix units', async () => {
    const gpu = await testGpu();
    const report = (packedErr: number, denseErr = 1e-7) => ({
      ok: false,
      checks: [{ name: 'dense f16 70x130x96, bias', maxRelErr: denseErr }, { name: 'packed 4-bit G=32 70x130x96', maxRelErr: packedErr }],
    });
    const warnings: string[] = [];
    try {
      [gpu.matrixUnits, gpu.packedOnMatrixUnits] = [true, true];
      applyMatrixUnitReport(gpu, report(0.02), (m) => warnings.push(m));
      expect([gpu.matrixUnits, gpu.packedOnMatrixUnits]).toEqual([true, false]);
      expect(warnings.pop()).toMatch(/^the packed GEMMs .*packed 4-bit G=32 70x130x96: 0.02/);
      [gpu.matrixUnits, gpu.packedOnMatrixUnits] = [true, true];
      applyMatrixUnitReport(gpu, report(0.02, NaN), (m) => warnings.push(m));
      expect([gpu.matrixUnits, gpu.packedOnMatrixUnits]).toEqual([false, false]);
      expect(warnings.pop()).toMatch(/^the GEMMs .*dense f16 70x130x96, bias: NaN/);
      applyMatrixUnitReport(gpu, { ok: true, checks: report(1e-7).checks }, (m) => warnings.push(m));
      expect(warnings).toEqual([]);
    } finally {
      [gpu.matrixUnits, gpu.packedOnMatrixUnits] = [false, false];
    }
  });
});
