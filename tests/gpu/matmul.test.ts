// matmul.wgsl against the float64 reference: the GEMM, the GEMV (workgroup and subgroup sums), the fused
// gate+up+SwiGLU GEMV, each with weights stored in f32 and in f16 (widened in the kernel), on odd shapes; the
// one-token GEMVs also with the RMSNorm in front of them applied by the kernel (input_norm.wgsl).
import { describe, expect, it } from 'vitest';
import type { CommandBatch, Gpu } from '../../src/gpu/gpu';
import { WIDE_GEMV_N, WIDE_GEMV_ROWS, gatherRows, gemvQkv, gemvRows, gemvSwiglu, matmul, widenF16 } from '../../src/model/ops';
import { gatherRowsRef, matmulRef, rmsnormRef, swigluRef } from '../../src/model/reference';
import { f16ToF32, f32ToF16 } from '../../src/model/safetensors';
import { maxRelErr, randomF32, testGpu } from '../helpers/gpu';

const gpu = await testGpu();
const linearSubgroups = gpu.subgroupReduce;
/** The subgroup-sum variants run only where subgroups are aligned runs of one fixed size; elsewhere they are skipped, and say why. */
const SUBGROUP_SUMS = `subgroup sums${linearSubgroups ? '' : ' (skipped: the adapter has no subgroups laid out as aligned runs)'}`;

/** Weights as a kernel stores them: f32, or f16 halves (the reference then uses the f16-rounded values). */
function weights(g: Gpu, w: Float32Array, f16: boolean): { buf: GPUBuffer; values: Float32Array } {
  if (!f16) return { buf: g.upload(w, 'w'), values: w };
  const h = Uint16Array.from(w, (v) => f32ToF16(v));
  return { buf: g.upload(h, 'w.f16'), values: f16ToF32(h) };
}

/** Runs `fn` with the subgroup-sum kernels on or off. */
function withSubgroups<T>(on: boolean, fn: () => T): T {
  const before = gpu.subgroupReduce;
  gpu.subgroupReduce = on;
  try {
    return fn();
  } finally {
    gpu.subgroupReduce = before;
  }
}

/** A raw input and an RMSNorm for a GEMV to apply (weights around 1, eps as Qwen3's), with the normed input the reference reads. */
function normedInput(K: number, seed: number): { x: Float32Array; norm: { weight: GPUBuffer; eps: number }; normed: Float64Array } {
  const x = randomF32(K, seed, 3), g = randomF32(K, seed + 1).map((v) => 1 + 0.5 * v), eps = 1e-6;
  return { x, norm: { weight: gpu.upload(g, 'norm'), eps }, normed: rmsnormRef(x, g, 1, K, eps) };
}

describe('matmul.wgsl against the float64 reference', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 4],
    [5, 7, 12], // rows and columns not multiples of the 4x4 block or the 32 tile
    [33, 65, 64],
    [3, 40, 13], // K not a multiple of 4: the scalar entry point (f32 weights only)
    [70, 37, 132],
  ];
  // the tiled GEMM (GPUs; SwiftShader runs the untiled one by default), whole and sliced along K
  for (const [M, N, K, splitK] of [[5, 7, 12, 1], [70, 130, 132, 1], [65, 64, 256, 3], [130, 37, 100, 2]] as const) {
    for (const f16 of [false, true]) {
      it(`tiled ${M}x${N}x${K}${splitK > 1 ? `, K in ${splitK} slices` : ''}, ${f16 ? 'f16' : 'f32'} weights, bias and accumulate`, async () => {
        const x = randomF32(M * K, 21 + M), bias = randomF32(N, 22), y0 = randomF32(M * N, 23);
        const w = weights(gpu, randomF32(N * K, 24 + N), f16);
        const by = gpu.upload(y0, 'y');
        const b = gpu.batch();
        matmul(b, gpu.upload(x, 'x'), w.buf, by, M, N, K, { bias: gpu.upload(bias, 'b'), accumulate: true, empty: gpu.empty, tiled: true, splitK, wF16: f16 });
        await b.submit();
        const want = matmulRef(x, w.values, M, N, K, bias);
        for (let i = 0; i < want.length; i++) want[i] += y0[i];
        expect(maxRelErr(await gpu.readF32(by, M * N), want)).toBeLessThan(1e-5);
      });
    }
  }

  for (const [M, N, K] of [...shapes, [1, 37, 68], [1, 301, 1024]] as [number, number, number][]) {
    // the GEMV with its sums in workgroup memory, and with subgroup sums first where the device has them
    const modes: ['plain' | 'bias' | 'accumulate', boolean][] = [['plain', false], ['bias', false], ['accumulate', false]];
    if (M === 1) modes.push(['accumulate', true]);
    for (const f16 of K % 4 === 0 ? [false, true] : [false]) {
      for (const [mode, subgroups] of modes) {
        const name = `${M}x${N}x${K} ${mode}, ${f16 ? 'f16' : 'f32'} weights${M === 1 ? ` (GEMV${subgroups ? `, ${SUBGROUP_SUMS}` : ''})` : ''}`;
        it.skipIf(subgroups && !linearSubgroups)(name, async () => {
          const x = randomF32(M * K, 1 + M), bias = randomF32(N, 3), y0 = randomF32(M * N, 4);
          const w = weights(gpu, randomF32(N * K, 2 + N), f16);
          const bx = gpu.upload(x, 'x'), bb = gpu.upload(bias, 'bias'), by = gpu.upload(y0, 'y');
          const b = gpu.batch();
          withSubgroups(subgroups, () =>
            matmul(b, bx, w.buf, by, M, N, K, { bias: mode === 'bias' ? bb : undefined, accumulate: mode === 'accumulate', empty: gpu.empty, gemv: M === 1, wF16: f16 }));
          await b.submit();
          const got = await gpu.readF32(by, M * N);
          const want = matmulRef(x, w.values, M, N, K, mode === 'bias' ? bias : undefined);
          if (mode === 'accumulate') for (let i = 0; i < want.length; i++) want[i] += y0[i];
          expect(maxRelErr(got, want)).toBeLessThan(1e-5);
        });
      }
    }
  }

  // the GEMV norming its own input (a decode step's final norm and lm_head)
  for (const [N, K] of [[37, 68], [301, 1024]] as const) {
    for (const f16 of [false, true]) {
      for (const subgroups of [false, true]) {
        it.skipIf(subgroups && !linearSubgroups)(`GEMV ${N}x${K} with its input norm, ${f16 ? 'f16' : 'f32'} weights${subgroups ? `, ${SUBGROUP_SUMS}` : ''} = rmsnorm(x) . W^T + b`, async () => {
          const { x, norm, normed } = normedInput(K, 40 + N);
          const w = weights(gpu, randomF32(N * K, 42 + N), f16), bias = randomF32(N, 43);
          const y = gpu.buffer(N * 4, 'y');
          const b = gpu.batch();
          withSubgroups(subgroups, () => matmul(b, gpu.upload(x, 'x'), w.buf, y, 1, N, K, { bias: gpu.upload(bias, 'b'), empty: gpu.empty, gemv: true, wF16: f16, norm }));
          await b.submit();
          expect(maxRelErr(await gpu.readF32(y, N), matmulRef(normed, w.values, 1, N, K, bias))).toBeLessThan(1e-5);
        });
      }
    }
  }

  it('a GEMV takes WIDE_GEMV_ROWS rows a workgroup only from WIDE_GEMV_N rows and where a subgroup fits a row\'s share', () => {
    const batch = (subgroupReduce: boolean, subgroupMaxSize: number) => ({ gpu: { subgroupReduce, adapter: { subgroupMaxSize } } }) as unknown as CommandBatch;
    expect(gemvRows(batch(true, 32), WIDE_GEMV_N)).toBe(WIDE_GEMV_ROWS);
    expect(gemvRows(batch(true, 32), WIDE_GEMV_N - 1)).toBe(2);
    expect(gemvRows(batch(true, 64), WIDE_GEMV_N)).toBe(2); // 64 lanes would span two rows of 32 invocations
    expect(gemvRows(batch(false, 32), WIDE_GEMV_N)).toBe(2);
  });

  // a GEMV as wide as a vocabulary: WIDE_GEMV_ROWS rows a workgroup with subgroup sums, an odd last workgroup
  for (const f16 of [false, true]) {
    for (const subgroups of [false, true]) {
      const N = WIDE_GEMV_N + 37, K = 68;
      it.skipIf(subgroups && !linearSubgroups)(`wide GEMV ${N}x${K} with its input norm, ${f16 ? 'f16' : 'f32'} weights${subgroups ? `, ${SUBGROUP_SUMS}, ${WIDE_GEMV_ROWS} rows a workgroup` : ''}`, async () => {
        const { x, norm, normed } = normedInput(K, 50);
        const w = weights(gpu, randomF32(N * K, 51), f16);
        const y = gpu.buffer(N * 4, 'y');
        const b = gpu.batch();
        withSubgroups(subgroups, () => {
          expect(gemvRows(b, N)).toBe(subgroups ? WIDE_GEMV_ROWS : 2);
          matmul(b, gpu.upload(x, 'x'), w.buf, y, 1, N, K, { empty: gpu.empty, gemv: true, wF16: f16, norm });
        });
        await b.submit();
        expect(maxRelErr(await gpu.readF32(y, N), matmulRef(normed, w.values, 1, N, K))).toBeLessThan(1e-5);
      });
    }
  }

  it('an input norm is refused by the GEMM: only the one-token GEMV applies it', () => {
    expect(() => matmul(gpu.batch(), gpu.empty, gpu.empty, gpu.empty, 2, 4, 8, { empty: gpu.empty, norm: { weight: gpu.empty, eps: 1e-6 } })).toThrow(/only the one-token GEMV/);
  });

  // an MLP's gate, up and SwiGLU in one dispatch (decode steps of a float model)
  for (const [N, K] of [[37, 68], [301, 1024]] as const) {
    for (const f16 of [false, true]) {
      for (const [subgroups, normed] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const what = normed ? 'silu(n . Wg^T) * (n . Wu^T), n = rmsnorm(x) (the kernel norms its input)' : 'silu(x . Wg^T) * (x . Wu^T)';
        it.skipIf(subgroups && !linearSubgroups)(`gate+up+SwiGLU GEMV ${N}x${K}, ${f16 ? 'f16' : 'f32'} weights${subgroups ? `, ${SUBGROUP_SUMS}` : ''} = ${what}`, async () => {
          const input = normedInput(K, 5);
          const x = normed ? input.x : randomF32(K, 5), ref = normed ? input.normed : x;
          const wg = weights(gpu, randomF32(N * K, 6 + N), f16), wu = weights(gpu, randomF32(N * K, 7 + N), f16);
          const y = gpu.buffer(N * 4, 'y');
          const b = gpu.batch();
          withSubgroups(subgroups, () => gemvSwiglu(b, gpu.upload(x, 'x'), wg.buf, wu.buf, y, N, K, f16, normed ? input.norm : undefined));
          await b.submit();
          expect(maxRelErr(await gpu.readF32(y, N), swigluRef(matmulRef(ref, wg.values, 1, N, K), matmulRef(ref, wu.values, 1, N, K)))).toBeLessThan(1e-5);
        });
      }
    }
  }

  // q, k and v of one input in one dispatch (decode steps of a float model), with and without q/k/v biases
  for (const f16 of [false, true]) {
    for (const [bias, subgroups, normed] of [[false, false, false], [true, false, false], [true, true, false], [false, false, true], [true, true, true]] as const) {
      it.skipIf(subgroups && !linearSubgroups)(`q/k/v GEMV 64+32+30 x 132, ${f16 ? 'f16' : 'f32'} weights${bias ? ', biases' : ''}${subgroups ? `, ${SUBGROUP_SUMS}` : ''}${normed ? ', norming its input' : ''}`, async () => {
        const n = { q: 64, k: 32, v: 30 }, K = 132;
        const input = normedInput(K, 31);
        const x = normed ? input.x : randomF32(K, 31), ref = normed ? input.normed : x;
        const w = { q: weights(gpu, randomF32(n.q * K, 32), f16), k: weights(gpu, randomF32(n.k * K, 33), f16), v: weights(gpu, randomF32(n.v * K, 34), f16) };
        const bq = randomF32(n.q + n.k + n.v, 35);
        const y = { q: gpu.buffer(n.q * 4, 'yq'), k: gpu.buffer(n.k * 4, 'yk'), v: gpu.buffer(n.v * 4, 'yv') };
        const b = gpu.batch();
        withSubgroups(subgroups, () => gemvQkv(b, gpu.upload(x, 'x'), { q: w.q.buf, k: w.k.buf, v: w.v.buf }, y, n, K,
          { bias: bias ? gpu.upload(bq, 'b') : undefined, empty: gpu.empty, wF16: f16, norm: normed ? input.norm : undefined }));
        await b.submit();
        let off = 0;
        for (const p of ['q', 'k', 'v'] as const) {
          const want = matmulRef(ref, w[p].values, 1, n[p], K, bias ? bq.subarray(off, off + n[p]) : undefined);
          off += n[p];
          expect(maxRelErr(await gpu.readF32(y[p], n[p]), want), p).toBeLessThan(1e-5);
        }
      });
    }
  }

  it('f16 weights: refused where a row is not whole quads', () => {
    expect(() => matmul(gpu.batch(), gpu.empty, gpu.empty, gpu.empty, 2, 3, 6, { empty: gpu.empty, wF16: true })).toThrow(/divisible by 4/);
  });
});

describe('f16 storage of float weights', () => {
  it('gather_rows from an f16 embedding (odd row count, row length 2 mod 4) widens exactly', async () => {
    const V = 37, C = 18, idx = Uint32Array.from([3, 0, 36, 3, 17]);
    const table = weights(gpu, randomF32(V * C, 11), true);
    const out = gpu.buffer(idx.length * C * 4, 'out');
    const b = gpu.batch();
    gatherRows(b, table.buf, gpu.upload(idx, 'i'), out, idx.length, C, true);
    await b.submit();
    expect(maxRelErr(await gpu.readF32(out, idx.length * C), gatherRowsRef(table.values, idx, C))).toBe(0);
  });

  it('widen_f16 gives every value exactly, subnormals and signs included', async () => {
    const vals = Float32Array.from([0, -0, 1, -2.5, 65504, -65504, 2 ** -24, -(2 ** -20), 0.1, 3.14159, ...randomF32(1000, 12, 100)]);
    const w = weights(gpu, vals, true);
    const out = gpu.buffer(vals.length * 4, 'out');
    const b = gpu.batch();
    widenF16(b, w.buf, out, vals.length);
    await b.submit();
    const got = await gpu.readF32(out, vals.length);
    expect(Array.from(got)).toEqual(Array.from(w.values));
  });
});
