import { describe, expect, it } from 'vitest';
import { gemvSwiglu, matmul } from '../../src/model/ops';
import { matmulRef, swigluRef } from '../../src/model/reference';
import { maxRelErr, randomF32, testGpu } from '../helpers/gpu';

describe('matmul.wgsl against the float64 reference', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 4],
    [5, 7, 12], // rows and columns not multiples of the 4x4 block or the 32 tile
    [33, 65, 64],
    [3, 40, 13], // K not a multiple of 4: the scalar entry point
    [70, 37, 132],
  ];
  for (const [M, N, K] of [...shapes, [1, 37, 68], [1, 301, 1024]] as [number, number, number][]) {
    // the GEMV with its sums in workgroup memory, and with subgroup sums first where the device has them
    const modes: ['plain' | 'bias' | 'accumulate', boolean][] = [['plain', false], ['bias', false], ['accumulate', false]];
    if (M === 1) modes.push(['accumulate', true]);
    for (const [mode, subgroups] of modes) {
      it(`${M}x${N}x${K} ${mode}${M === 1 ? ` (GEMV${subgroups ? ', subgroup sums' : ''})` : ''}`, async () => {
        const gpu = await testGpu();
        if (subgroups && !gpu.subgroupReduce) return;
        const before = gpu.subgroupReduce;
        gpu.subgroupReduce = subgroups;
        const x = randomF32(M * K, 1 + M), w = randomF32(N * K, 2 + N), bias = randomF32(N, 3), y0 = randomF32(M * N, 4);
        const bx = gpu.upload(x, 'x'), bw = gpu.upload(w, 'w'), bb = gpu.upload(bias, 'bias'), by = gpu.upload(y0, 'y');
        const b = gpu.batch();
        matmul(b, bx, bw, by, M, N, K, { bias: mode === 'bias' ? bb : undefined, accumulate: mode === 'accumulate', empty: gpu.empty, gemv: M === 1 });
        gpu.subgroupReduce = before;
        await b.submit();
        const got = await gpu.readF32(by, M * N);
        const want = matmulRef(x, w, M, N, K, mode === 'bias' ? bias : undefined);
        if (mode === 'accumulate') for (let i = 0; i < want.length; i++) want[i] += y0[i];
        expect(maxRelErr(got, want)).toBeLessThan(1e-5);
      });
    }
  }

  // an MLP's gate, up and SwiGLU in one dispatch (decode steps of a float model)
  for (const [N, K] of [[37, 68], [301, 1024]] as const) {
    for (const subgroups of [false, true]) {
      it(`gate+up+SwiGLU GEMV ${N}x${K}${subgroups ? ', subgroup sums' : ''} = silu(x . Wg^T) * (x . Wu^T)`, async () => {
        const gpu = await testGpu();
        if (subgroups && !gpu.subgroupReduce) return;
        const before = gpu.subgroupReduce;
        gpu.subgroupReduce = subgroups;
        const x = randomF32(K, 5), wg = randomF32(N * K, 6 + N), wu = randomF32(N * K, 7 + N);
        const y = gpu.buffer(N * 4, 'y');
        const b = gpu.batch();
        gemvSwiglu(b, gpu.upload(x, 'x'), gpu.upload(wg, 'wg'), gpu.upload(wu, 'wu'), y, N, K);
        gpu.subgroupReduce = before;
        await b.submit();
        expect(maxRelErr(await gpu.readF32(y, N), swigluRef(matmulRef(x, wg, 1, N, K), matmulRef(x, wu, 1, N, K)))).toBeLessThan(1e-5);
      });
    }
  }
});
