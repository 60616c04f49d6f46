// The benchmark's int8-input experiment (src/bench/int8-input.ts, shaders/int8_input.wgsl) against float64.
import { describe, expect, it } from 'vitest';
import { int8ChunksRef, int8InputBytes, qgemvI8, qgemvSwigluI8, quantizeX8 } from '../../src/bench/int8-input';
import { matmulRef, swigluRef } from '../../src/model/reference';
import { rtnQuantize } from '../../src/quant/gptq';
import { packWeights, readDequantized } from '../../src/quant/packed';
import { maxRelErr, randomF32, testGpu } from '../helpers/gpu';

describe('int8-input GEMV (benchmark experiment)', () => {
  it('int8-input 4-bit GEMVs (experiment): x rounded to int8 per chunk, then . dequant(W)^T in integers (and gate+up+SwiGLU)', async () => {
    const gpu = await testGpu();
    const rows = 36, cols = 160; // 9 column quads; 5 chunks: a pair per K slice and a tail
    const q = await rtnQuantize(gpu, gpu.upload(randomF32(rows * cols, 41, 0.3), 'W'), rows, cols, { bits: 4, groupSize: 32, sym: false });
    const b = gpu.batch();
    const packed = packWeights(gpu, b, q, { descAct: false, format: 'gptq' });
    await b.submit();
    const W = Float64Array.from(await readDequantized(gpu, packed));
    const x = randomF32(cols, 42);
    x.fill(0, 64, 96); // a chunk of zeros: scale 0, no NaN
    const xBuf = gpu.upload(x, 'x');
    const y = gpu.buffer(rows * 4, 'y'), y2 = gpu.buffer(rows * 4, 'y2');
    const b2 = gpu.batch();
    qgemvI8(b2, packed, xBuf, y);
    const xq = quantizeX8(b2, packed, xBuf, gpu.buffer(int8InputBytes(cols), 'xq'));
    qgemvI8(b2, packed, xBuf, y2, { xq, gemvShape: [2, 2] });
    await b2.submit();
    const got = await gpu.readF32(y, rows);
    // exactly the rounded input's product (integer sums, one f32 scale), and within int8 rounding of x's own
    expect(maxRelErr(got, matmulRef(int8ChunksRef(x), W, 1, rows, cols))).toBeLessThan(1e-5);
    expect(maxRelErr(got, matmulRef(x, W, 1, rows, cols))).toBeLessThan(2e-2);
    expect(maxRelErr(await gpu.readF32(y2, rows), got)).toBeLessThan(1e-6); // another shape: f32 partials summed in another order
    expect(() => qgemvI8(gpu.batch(), { ...packed, bits: 8 }, xBuf, y)).toThrow(/4-bit/);
    // and the gate+up+SwiGLU GEMV on it, with this matrix as gate and a second as up
    const qu = await rtnQuantize(gpu, gpu.upload(randomF32(rows * cols, 43, 0.3), 'Wu'), rows, cols, { bits: 4, groupSize: 32, sym: false });
    const b3 = gpu.batch();
    const up = packWeights(gpu, b3, qu, { descAct: false, format: 'gptq' });
    qgemvSwigluI8(b3, packed, up, xBuf, y);
    await b3.submit();
    const xr = int8ChunksRef(x);
    const want = swigluRef(matmulRef(xr, W, 1, rows, cols), matmulRef(xr, Float64Array.from(await readDequantized(gpu, up)), 1, rows, cols));
    expect(maxRelErr(await gpu.readF32(y, rows), want)).toBeLessThan(1e-5);
  });

});
