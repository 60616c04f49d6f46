// Packing in the GPTQ layout, and the matmul that reads it, against CPU references.
import { describe, expect, it } from 'vitest';
import { matmulRef, rmsnormRef, swigluRef } from '../../src/model/reference';
import { f16ToF32, f32ToF16 } from '../../src/model/safetensors';
import { rtnQuantize } from '../../src/quant/gptq';
import { defaultGemvKernel, gemvShapeFor, swigluShapeFor, gemvSubgroup, type PackedWeights, packWeights, qgemvQkv, qgemvSwiglu, qkvUnfusable, qmatmul, readDequantized, qweightWords, swigluUnfusable, zeroWords } from '../../src/quant/packed';
import { splitKFor } from '../../src/model/ops';
import { BIT_WIDTHS } from '../../src/model/formats';
import { dequantRef, packBits, packQweightRef, unpackBits } from '../../src/quant/reference';
import { f16Label, maxRelErr, randomF32, testGpu, withF16 } from '../helpers/gpu';
import type { Gpu } from '../../src/gpu/gpu';

describe('bitstream packing (CPU)', () => {
  for (const bits of BIT_WIDTHS) {
    it(`${bits}-bit round trip, values crossing word edges`, () => {
      const n = 101;
      const vals = Array.from({ length: n }, (_, i) => (i * 7 + 3) % 2 ** bits);
      const words = packBits(vals, bits);
      expect(words.length).toBe(Math.ceil((n * bits) / 32));
      expect(Array.from(unpackBits(words, bits, n))).toEqual(vals);
    });
  }
  it('3-bit packing equals AutoGPTQ\'s explicit word layout', () => {
    // AutoGPTQ packs 32 3-bit values in 3 words: 10 values, 2+1 split bits of value 10, 10 values, 1+2 split of value 21, 10 values.
    const v = Array.from({ length: 32 }, (_, i) => (i * 5) % 8);
    const w = [0, 0, 0];
    for (let j = 0; j < 10; j++) w[0] |= v[j] << (3 * j);
    w[0] |= v[10] << 30; w[1] |= (v[10] >> 2) & 1;
    for (let j = 0; j < 10; j++) w[1] |= v[11 + j] << (3 * j + 1);
    w[1] |= v[21] << 31; w[2] |= (v[21] >> 1) & 3;
    for (let j = 0; j < 10; j++) w[2] |= v[22 + j] << (3 * j + 2);
    expect(Array.from(packBits(v, 3))).toEqual(w.map((x) => x >>> 0));
  });
});

/** Random weights quantized (RTN, asymmetric) and packed (gptq_v2), with the dense weights they stand for (original column order). */
async function packedRandom(gpu: Gpu, rows: number, cols: number, bits: number, G: number, seed: number, order: Int32Array | null) {
  const q = await rtnQuantize(gpu, gpu.upload(randomF32(rows * cols, seed, 0.3), 'W'), rows, cols, { bits, groupSize: G, sym: false });
  q.order = order;
  const b = gpu.batch();
  const packed = packWeights(gpu, b, q, { descAct: Boolean(order), format: 'gptq_v2' });
  await b.submit();
  return { packed, W: Float64Array.from(await readDequantized(gpu, packed)) };
}

describe('GPU packing and the dequantizing matmul', () => {
  const shapes = [
    { rows: 40, cols: 96, G: 32 },
    { rows: 37, cols: 64, G: -1 }, // rows not a multiple of 4: the one-output GEMV
    { rows: 64, cols: 128, G: 128 },
    { rows: 132, cols: 288, G: 96 }, // rows past one workgroup of the 4-output GEMV (act-order input); 9 chunks: paired + tail
    { rows: 68, cols: 416, G: -1 }, // per channel, no act-order: the contiguous 4-output GEMV; 13 chunks: paired + tail
  ];
  for (const bits of BIT_WIDTHS) {
    for (const { rows, cols, G } of shapes) {
      it(`${bits}-bit ${rows}x${cols} G=${G}: pack = CPU pack, qmatmul = x . dequant(W)^T`, async () => {
        const gpu = await testGpu();
        const W = randomF32(rows * cols, rows + cols + bits, 0.3);
        const q = await rtnQuantize(gpu, gpu.upload(W, 'W'), rows, cols, { bits, groupSize: G, sym: bits !== 3 });
        // act-order: the codes' column k stands for input column order[k] (the kernel reads x through it)
        if (G !== -1) q.order = Int32Array.from({ length: cols }, (_, k) => (k * 5 + 3) % cols);
        const b = gpu.batch();
        const packed = packWeights(gpu, b, q, { descAct: true, format: 'gptq_v2' });
        await b.submit();
        const codes = await gpu.readU32(q.codes, rows * cols);
        const scales = await gpu.readF32(q.scales, q.nGroups * rows), zeros = await gpu.readF32(q.zeros, q.nGroups * rows);
        expect(Array.from(await gpu.readU32(packed.qweight, qweightWords(cols, bits) * rows))).toEqual(Array.from(packQweightRef(codes, rows, cols, bits)));
        const zw = zeroWords(rows, bits);
        const qz = await gpu.readU32(packed.qzeros, q.nGroups * zw);
        for (let g = 0; g < q.nGroups; g++) {
          expect(Array.from(unpackBits(qz.subarray(g * zw, (g + 1) * zw), bits, rows))).toEqual(Array.from(zeros.subarray(g * rows, (g + 1) * rows)));
        }
        // scales are stored as f16: the matmul uses the stored (rounded) scales
        const s16 = f16ToF32(Uint16Array.from(scales, (s) => f32ToF16(s)));
        const kernelG = Uint32Array.from({ length: cols }, (_, k) => Math.floor(k / (G === -1 ? cols : G)));
        const Wk = dequantRef(codes, s16, zeros, kernelG, rows, cols);
        const What = new Float64Array(rows * cols);
        for (let n = 0; n < rows; n++) for (let k = 0; k < cols; k++) What[n * cols + (q.order ? q.order[k] : k)] = Wk[n * cols + k];
        // 70 rows: two GEMM tiles, the second partial; split-K in 2 slices (uneven when the chunks are odd);
        // the GEMV reading an act-order input through its order, and after gathering it (as for large matrices);
        // the GEMM always gathers (gatherInput only steers the GEMV); the GEMV's K slices summed in workgroup
        // memory alone, and across subgroups first where the device has them (2 x 8: lanes of 2 K slices each
        // in a subgroup of 4, as on SwiftShader; 2 x 6: K slices not a power of two, 3 subgroups' partials)
        // (8 x 4 never takes subgroup sums: gemvSubgroup wants XW <= 4)
        const subgroups = gpu.subgroupReduce;
        // GEMM cases: the tiled kernel (GPUs) and the barrier-free one (CPU adapters: serial)
        const cases = [[5, false, 1, undefined, [8, 4], false, false], [70, false, 1, undefined, [8, 4], false, false], [70, false, 2, false, [8, 4], false, false],
          [5, false, 1, undefined, [8, 4], false, true], [70, false, 1, undefined, [8, 4], false, true],
          [1, true, 1, false, [8, 4], false, false], [1, true, 1, true, [8, 4], false, false], [1, true, 1, false, [2, 8], subgroups, false],
          [1, true, 1, false, [2, 6], subgroups, false]] as const;
        for (const [M, gemv, splitK, gatherInput, gemvShape, sub, serial] of cases) {
          const x = randomF32(M * cols, 77);
          const y = gpu.buffer(M * rows * 4, 'y');
          const b2 = gpu.batch();
          gpu.subgroupReduce = sub;
          const sums = gemv && rows % 4 === 0 && gemvSubgroup(gpu, gemvShape[0], gemvShape[1]) ? ', subgroup sums' : '';
          qmatmul(b2, packed, gpu.upload(x, 'x'), y, M, { empty: gpu.empty, gemv, gemvShape: [...gemvShape], splitK, gatherInput, serial });
          gpu.subgroupReduce = subgroups;
          await b2.submit();
          const what = gemv ? `GEMV ${gemvShape.join('x')}${gatherInput ? ', input gathered first' : ''}${sums}` : serial ? 'GEMM without barriers' : `GEMM, split-K ${splitK}`;
          expect(maxRelErr(await gpu.readF32(y, M * rows), matmulRef(x, What, M, rows, cols)), what).toBeLessThan(1e-5);
        }
        // the f16 GEMV (inputs and chunk sums in f16; emulated in f32 where the device has no shader-f16)
        if (rows % 4 === 0) {
          const x = randomF32(cols, 78);
          const y = gpu.buffer(rows * 4, 'y');
          await withF16(gpu, async () => {
            const b2 = gpu.batch();
            qmatmul(b2, packed, gpu.upload(x, 'x'), y, 1, { empty: gpu.empty, gemv: true, gemvShape: [8, 4], gemvKernel: 'f16' });
            await b2.submit();
          });
          expect(maxRelErr(await gpu.readF32(y, rows), matmulRef(x, What, 1, rows, cols)), f16Label(gpu)).toBeLessThan(1e-2);
        }
      });
    }
  }

  it('GEMV subgroup sums: only on linear fixed-size subgroups, for 4-wide power-of-two workgroups that hold them', () => {
    const fake = (min: number, max: number, reduce = true) => ({ subgroupReduce: reduce, adapter: { subgroupMinSize: min, subgroupMaxSize: max } }) as unknown as Gpu;
    expect(gemvSubgroup(fake(32, 32), 4, 128)).toBe(32);
    expect(gemvSubgroup(fake(32, 32), 4, 64)).toBe(32);
    expect(gemvSubgroup(fake(4, 4), 2, 8)).toBe(4);
    expect(gemvSubgroup(fake(32, 32), 4, 112)).toBe(32); // 14 subgroups of 8 K slices
    expect(gemvSubgroup(fake(32, 32), 4, 100)).toBe(0); // a subgroup would straddle two column sets
    expect(gemvSubgroup(fake(32, 32), 8, 32)).toBe(0); // measured no faster
    expect(gemvSubgroup(fake(32, 32), 16, 32)).toBe(0);
    expect(gemvSubgroup(fake(32, 32), 4, 4)).toBe(0); // a workgroup smaller than a subgroup
    expect(gemvSubgroup(fake(32, 32), 3, 64)).toBe(0);
    expect(gemvSubgroup(fake(8, 32), 4, 128)).toBe(0); // sizes vary between pipelines
    expect(gemvSubgroup(fake(32, 32, false), 4, 128)).toBe(0); // layout check failed, or --no-subgroups
  });

  it('GEMV shapes: the measured choices, capped at the device limit; a 4 x 64 GEMV = the reference', async () => {
    // shapes of bench/results (Qwen3-0.6B, Llama-3.2-1B, 8B): [rows, cols] -> f32, f16 (2-bit f16 where it differs)
    const cases: [number, number, number[], number[], number[]?][] = [
      [3072, 1024, [8, 32], [8, 32]], [1024, 3072, [4, 64], [4, 128]], [8192, 2048, [8, 32], [8, 32]], [2048, 8192, [4, 64], [4, 128]],
      [4096, 4096, [4, 64], [4, 128], [4, 64]], [14336, 4096, [8, 32], [16, 32]], [4096, 14336, [4, 64], [4, 128], [4, 64]], [28672, 4096, [8, 32], [16, 32]],
    ];
    for (const [rows, cols, f32, f16, f16at2 = f16] of cases) {
      for (const bits of BIT_WIDTHS) {
        expect(gemvShapeFor('f32', bits, rows, cols, 1024), `f32 ${bits}-bit ${rows}x${cols}`).toEqual(f32);
        expect(gemvShapeFor('f16', bits, rows, cols, 1024), `f16 ${bits}-bit ${rows}x${cols}`).toEqual(bits === 2 ? f16at2 : f16);
      }
    }
    expect(gemvShapeFor('f16', 4, 2048, 8192, 256)).toEqual([4, 64]);
    expect(gemvShapeFor('f16', 4, 14336, 4096, 256)).toEqual([8, 32]);
    expect(gemvShapeFor('f16', 4, 14336, 4096, 128)).toEqual([4, 32]);
    // the fused gate+up GEMV (rows of each matrix): its own choices at the 8B MLP, gemvShapeFor's elsewhere
    expect(swigluShapeFor('f16', 4, 14336, 4096, 512)).toEqual([16, 32]);
    expect(swigluShapeFor('f16', 8, 14336, 4096, 512)).toEqual([16, 16]);
    expect(swigluShapeFor('f32', 4, 14336, 4096, 512)).toEqual([32, 16]);
    expect(swigluShapeFor('f32', 2, 14336, 4096, 512)).toEqual([8, 32]);
    expect(swigluShapeFor('f32', 8, 14336, 4096, 256)).toEqual([8, 32]); // 32 x 16 is over the device limit
    expect(swigluShapeFor('f16', 8, 3072, 1024, 256)).toEqual([8, 32]);
    // the default shape of a long-K matrix with few outputs (4 x 64 under SwiftShader's 256 invocations)
    const gpu = await testGpu();
    const rows = 12, cols = 2048;
    const W = randomF32(rows * cols, 31, 0.3);
    const q = await rtnQuantize(gpu, gpu.upload(W, 'W'), rows, cols, { bits: 4, groupSize: 128, sym: false });
    const b = gpu.batch();
    const packed = packWeights(gpu, b, q, { descAct: false });
    await b.submit();
    const x = randomF32(cols, 32);
    const y = gpu.buffer(rows * 4, 'y');
    const b2 = gpu.batch();
    qmatmul(b2, packed, gpu.upload(x, 'x'), y, 1, { empty: gpu.empty, gemv: true });
    await b2.submit();
    const What = Float64Array.from(await readDequantized(gpu, packed));
    expect(maxRelErr(await gpu.readF32(y, rows), matmulRef(x, What, 1, rows, cols))).toBeLessThan(1e-5);
  });

  it('the f16 GEMV is refused with a reason where it cannot run', async () => {
    const gpu = await testGpu();
    for (const rows of [6, 8]) {
      const q = await rtnQuantize(gpu, gpu.upload(randomF32(rows * 64, 9), 'W'), rows, 64, { bits: 3, groupSize: 32, sym: true });
      const b = gpu.batch();
      const packed = packWeights(gpu, b, q, { descAct: false });
      await b.submit();
      const run = async () => {
        const b2 = gpu.batch();
        qmatmul(b2, packed, gpu.upload(randomF32(64, 1), 'x'), gpu.buffer(32, 'y'), 1, { empty: gpu.empty, gemv: true, gemvKernel: 'f16' });
        await b2.submit();
      };
      if (rows === 6) await expect(run()).rejects.toThrow(/out features divisible by 4 \(have 3 bits, 6 outputs\).*gemvKernel 'f32'/);
      else if (!gpu.hasF16) await expect(run()).rejects.toThrow(/no "shader-f16" feature/);
      // the default picks f16 exactly where it can run, except for small act-order weights (f32 reads the
      // permuted input itself there); a large act-order weight (input gathered first either way) takes f16
      const f16 = gpu.hasF16 && rows === 8;
      expect(defaultGemvKernel(gpu, packed)).toBe(f16 ? 'f16' : 'f32');
      expect(defaultGemvKernel(gpu, { ...packed, xidx: gpu.empty })).toBe('f32');
      expect(defaultGemvKernel(gpu, { ...packed, xidx: gpu.empty, rows: 8192, cols: 4096 })).toBe(gpu.hasF16 ? 'f16' : 'f32');
    }
  });

  it('split-K GEMM with bias and accumulation equals the one-pass GEMM; the slice count heuristic', async () => {
    const gpu = await testGpu();
    const rows = 72, cols = 416, M = 9; // 13 chunks: 4 slices of 4, 4, 4 and 1 chunk(s)
    const q = await rtnQuantize(gpu, gpu.upload(randomF32(rows * cols, 3, 0.3), 'W'), rows, cols, { bits: 4, groupSize: 32, sym: false });
    const b = gpu.batch();
    const packed = packWeights(gpu, b, q, { descAct: false, bias: gpu.upload(randomF32(rows, 4), 'bias') });
    await b.submit();
    const x = gpu.upload(randomF32(M * cols, 5), 'x');
    const y0 = randomF32(M * rows, 6);
    const out: Float32Array[] = [];
    for (const splitK of [1, 4]) {
      const y = gpu.upload(y0, 'y');
      const b2 = gpu.batch();
      qmatmul(b2, packed, x, y, M, { empty: gpu.empty, accumulate: true, splitK, serial: false });
      await b2.submit();
      out.push(await gpu.readF32(y, M * rows));
    }
    expect(maxRelErr(out[1], out[0])).toBeLessThan(1e-6);
    expect(Array.from(out[0].subarray(0, 4))).not.toEqual(Array.from(y0.subarray(0, 4)));
    expect(splitKFor(300, 128)).toBe(1); // enough tiles already
    expect(splitKFor(16, 96)).toBe(8); // Qwen3-0.6B down at 256 tokens: 16 tiles, 96 chunks
    expect(splitKFor(128, 448)).toBe(4); // 8B down at 128 tokens
    expect(splitKFor(16, 12)).toBe(1); // too few chunks to slice
  });

  // an MLP's gate, up and SwiGLU in one GEMV dispatch (the decode step of a quantized model); 2 x 32: 32 K
  // slices, whose partial sums are added in two steps (gemv4_fold)
  const fusedShapes = [
    { rows: 36, cols: 96, G: 32, actOrder: true, format: 'gptq_v2' as const }, // outputs past one 8 x 4 workgroup's 32
    { rows: 132, cols: 288, G: 96, actOrder: false, format: 'gptq' as const }, // v1 zeros; 9 chunks
  ];
  for (const bits of BIT_WIDTHS) {
    for (const { rows, cols, G, actOrder, format } of fusedShapes) {
      it(`${bits}-bit ${rows}x${cols} G=${G}${actOrder ? ' act-order' : ''} ${format}: gate+up+SwiGLU GEMV = silu(x . Wg^T) * (x . Wu^T)`, async () => {
        const gpu = await testGpu();
        const order = actOrder ? Int32Array.from({ length: cols }, (_, k) => (k * 7 + 2) % cols) : null;
        const pack = async (seed: number) => {
          const q = await rtnQuantize(gpu, gpu.upload(randomF32(rows * cols, seed, 0.3), 'W'), rows, cols, { bits, groupSize: G, sym: false });
          q.order = order; // GPTQ's act-order permutation comes from the Hessian, which gate and up share
          const b = gpu.batch();
          const p = packWeights(gpu, b, q, { descAct: actOrder, format });
          await b.submit();
          return p;
        };
        const gate = await pack(bits + rows), up = await pack(bits + rows + 1);
        expect(swigluUnfusable(gate, up)).toBeNull();
        const x = randomF32(cols, 79);
        const ref = (w: Float32Array) => matmulRef(x, Float64Array.from(w), 1, rows, cols);
        const want = swigluRef(ref(await readDequantized(gpu, gate)), ref(await readDequantized(gpu, up)));
        const subgroups = gpu.subgroupReduce;
        const kernels = ['f32', 'f16'] as const;
        for (const kernel of kernels) {
          for (const [shape, sub] of [[[8, 4], false], [[2, 8], subgroups], [[2, 32], false]] as const) {
            const y = gpu.buffer(rows * 4, 'y');
            gpu.subgroupReduce = sub;
            await withF16(gpu, async () => {
              const b = gpu.batch();
              qgemvSwiglu(b, gate, up, gpu.upload(x, 'x'), y, { gemvShape: [...shape], gemvKernel: kernel });
              await b.submit();
            });
            gpu.subgroupReduce = subgroups;
            const what = `${kernel === 'f16' ? f16Label(gpu) : kernel} ${shape.join('x')}${sub && gemvSubgroup(gpu, shape[0], shape[1]) ? ', subgroup sums' : ''}`;
            expect(maxRelErr(await gpu.readF32(y, rows), want), what).toBeLessThan(kernel === 'f16' ? 1e-2 : 1e-5);
          }
        }
      });
    }
  }

  // the 4-output GEMVs norming their own input (a decode step's input and post-attention norms): contiguous
  // and act-order inputs, f32 and f16 arithmetic, workgroup and subgroup sums, and the fused gate+up+SwiGLU
  for (const bits of BIT_WIDTHS) {
    it(`${bits}-bit GEMVs with the input norm applied in the kernel = rmsnorm(x) . dequant(W)^T`, async () => {
      const gpu = await testGpu();
      const rows = 132, cols = 288, G = 96;
      const pack = (seed: number, order: Int32Array | null) => packedRandom(gpu, rows, cols, bits, G, seed, order);
      const x = randomF32(cols, 91, 3), g = randomF32(cols, 92).map((v) => 1 + 0.5 * v), eps = 1e-6;
      const norm = { weight: gpu.upload(g, 'norm'), eps }, normed = rmsnormRef(x, g, 1, cols, eps);
      const plain = await pack(bits + 1, null), permuted = await pack(bits + 2, Int32Array.from({ length: cols }, (_, k) => (k * 7 + 2) % cols));
      const subgroups = gpu.subgroupReduce;
      const cases = [[plain, 'f32', [8, 4], false], [plain, 'f32', [2, 8], subgroups], [permuted, 'f32', [8, 4], false], [permuted, 'f32', [2, 8], subgroups], [plain, 'f16', [8, 4], false]] as const;
      for (const [w, kernel, shape, sub] of cases) {
        const y = gpu.buffer(rows * 4, 'y');
        gpu.subgroupReduce = sub;
        await withF16(gpu, async () => {
          const b = gpu.batch();
          qmatmul(b, w.packed, gpu.upload(x, 'x'), y, 1, { empty: gpu.empty, gemv: true, gemvShape: [...shape], gemvKernel: kernel, gatherInput: false, norm });
          await b.submit();
        });
        gpu.subgroupReduce = subgroups;
        const what = `${w === permuted ? 'act-order ' : ''}${kernel === 'f16' ? f16Label(gpu) : kernel} ${shape.join('x')}${sub && gemvSubgroup(gpu, shape[0], shape[1]) ? ', subgroup sums' : ''}`;
        expect(maxRelErr(await gpu.readF32(y, rows), matmulRef(normed, w.W, 1, rows, cols)), what).toBeLessThan(kernel === 'f16' ? 1e-2 : 1e-5);
      }
      const up = await pack(bits + 3, null);
      const y = gpu.buffer(rows * 4, 'y');
      const b = gpu.batch();
      qgemvSwiglu(b, plain.packed, up.packed, gpu.upload(x, 'x'), y, { gemvShape: [8, 4], gemvKernel: 'f32', norm });
      await b.submit();
      expect(maxRelErr(await gpu.readF32(y, rows), swigluRef(matmulRef(normed, plain.W, 1, rows, cols), matmulRef(normed, up.W, 1, rows, cols))), 'gate+up+SwiGLU').toBeLessThan(1e-5);
      // an input gathered into act order first cannot be normed on the way: refused, not silently wrong
      expect(() => qmatmul(gpu.batch(), permuted.packed, gpu.empty, gpu.empty, 1, { empty: gpu.empty, gemv: true, gatherInput: true, norm })).toThrow(/gathered act-order input/);
      expect(() => qmatmul(gpu.batch(), plain.packed, gpu.empty, gpu.empty, 2, { empty: gpu.empty, norm })).toThrow(/only the 4-output one-token GEMV/);
    });
  }

  // an attention block's q, k and v in one GEMV dispatch (the decode step of a quantized model): each matrix's
  // words as stored, their zeros and scales concatenated once; contiguous and act-order inputs, f32 and f16
  // arithmetic, subgroup sums, with and without the input norm
  for (const bits of BIT_WIDTHS) {
    it(`${bits}-bit q/k/v GEMV 64+32+32 x 288 G=96 = x . dequant(W_q, W_k, W_v)^T, each in its own output`, async () => {
      const gpu = await testGpu();
      const cols = 288, G = 96, rows = { q: 64, k: 32, v: 32 };
      const pack = (n: number, seed: number, order: Int32Array | null) => packedRandom(gpu, n, cols, bits, G, seed, order);
      const x = randomF32(cols, 93, 3), g = randomF32(cols, 94).map((v) => 1 + 0.5 * v), eps = 1e-6;
      const norm = { weight: gpu.upload(g, 'norm'), eps }, normed = rmsnormRef(x, g, 1, cols, eps);
      const order = Int32Array.from({ length: cols }, (_, k) => (k * 11 + 5) % cols);
      type Packed = Awaited<ReturnType<typeof packedRandom>>;
      const sets = { plain: {} as Record<'q' | 'k' | 'v', Packed>, permuted: {} as Record<'q' | 'k' | 'v', Packed> };
      for (const [i, n] of (['q', 'k', 'v'] as const).entries()) {
        sets.plain[n] = await pack(rows[n], bits * 10 + i, null);
        sets.permuted[n] = await pack(rows[n], bits * 10 + i + 5, order);
      }
      const subgroups = gpu.subgroupReduce;
      const cases = [['plain', 'f32', [8, 4], false, false], ['plain', 'f32', [2, 8], subgroups, true], ['plain', 'f16', [8, 4], false, true],
        ['permuted', 'f32', [8, 4], false, false], ['permuted', 'f32', [4, 8], subgroups, true]] as const;
      for (const [set, kernel, shape, sub, withNorm] of cases) {
        const w = sets[set];
        const w3 = { q: w.q.packed, k: w.k.packed, v: w.v.packed };
        expect(qkvUnfusable(gpu, w3.q, w3.k, w3.v, withNorm ? norm : undefined)).toBeNull();
        const y = { q: gpu.buffer(rows.q * 4, 'yq'), k: gpu.buffer(rows.k * 4, 'yk'), v: gpu.buffer(rows.v * 4, 'yv') };
        gpu.subgroupReduce = sub;
        await withF16(gpu, async () => {
          const b = gpu.batch();
          qgemvQkv(b, w3, gpu.upload(x, 'x'), y, { gemvShape: [...shape], gemvKernel: kernel, norm: withNorm ? norm : undefined });
          await b.submit();
        });
        gpu.subgroupReduce = subgroups;
        const input = withNorm ? normed : x;
        for (const n of ['q', 'k', 'v'] as const) {
          const what = `${set} ${kernel === 'f16' ? f16Label(gpu) : kernel} ${shape.join('x')}${withNorm ? ', input norm' : ''}: ${n}`;
          expect(maxRelErr(await gpu.readF32(y[n], rows[n]), matmulRef(input, w[n].W, 1, rows[n], cols)), what).toBeLessThan(kernel === 'f16' ? 1e-2 : 1e-5);
        }
      }
    });
  }

  it('q, k and v that one GEMV cannot take together are refused with the reason', async () => {
    const gpu = await testGpu();
    const p = { rows: 64, cols: 128, bits: 4, groupSize: 32, format: 'gptq_v2', order: null, xidx: null } as unknown as PackedWeights;
    const k = { ...p, rows: 32 }, v = { ...p, rows: 32 };
    expect(qkvUnfusable(gpu, p, k, v)).toBeNull();
    expect(qkvUnfusable(gpu, p, { ...k, bits: 8 }, v)).toMatch(/differ in bits/);
    expect(qkvUnfusable(gpu, p, k, { ...v, bias: {} as GPUBuffer })).toMatch(/bias/);
    expect(qkvUnfusable(gpu, { ...p, rows: 36 }, k, v)).toMatch(/q's 36 rows are not whole workgroups/);
    expect(qkvUnfusable(gpu, { ...p, bits: 3 }, { ...k, bits: 3, rows: 40 }, { ...v, bits: 3 })).toMatch(/k's 40 rows/);
    expect(qkvUnfusable(gpu, { ...p, order: Int32Array.of(1, 0) }, k, v)).toMatch(/different orders/);
    // a device with WebGPU's default 8 storage buffers per shader stage runs them apart
    const small = new Proxy(gpu, { get: (t, key) => (key === 'device' ? { limits: { ...gpu.device.limits, maxStorageBuffersPerShaderStage: 8 } } : Reflect.get(t, key)) });
    expect(qkvUnfusable(small, p, k, v)).toMatch(/binds 8 storage buffers per shader, the fused GEMV needs 9/);
    expect(() => qgemvQkv({ gpu } as never, { q: p, k: { ...k, bits: 8 }, v }, gpu.empty, { q: gpu.empty, k: gpu.empty, v: gpu.empty })).toThrow(/differ in bits.*apart/);
  });

  it('gate and up that one GEMV cannot take together are refused with the reason', () => {
    const p = { rows: 64, cols: 128, bits: 4, groupSize: 32, format: 'gptq_v2', order: null } as unknown as PackedWeights;
    expect(swigluUnfusable(p, { ...p })).toBeNull();
    expect(swigluUnfusable(p, { ...p, bits: 8 })).toMatch(/differ in bits \(4 vs 8\)/);
    expect(swigluUnfusable(p, { ...p, format: 'gptq' })).toMatch(/differ in format/);
    expect(swigluUnfusable(p, { ...p, bias: {} as GPUBuffer })).toMatch(/bias/);
    expect(swigluUnfusable({ ...p, rows: 66 }, { ...p, rows: 66 })).toMatch(/not a multiple of 4/);
    expect(swigluUnfusable({ ...p, order: Int32Array.of(1, 0) }, { ...p, order: Int32Array.of(0, 1) })).toMatch(/different orders/);
    expect(swigluUnfusable({ ...p, order: Int32Array.of(1, 0) }, p)).toMatch(/different orders/);
    expect(() => qgemvSwiglu({} as never, p, { ...p, bits: 8 }, {} as never, {} as never)).toThrow(/differ in bits.*apart/);
  });

  it('v1 zeros ("gptq", stored zero - 1) read back as the same weights', async () => {
    const gpu = await testGpu();
    const rows = 32, cols = 64;
    const W = randomF32(rows * cols, 5, 0.3);
    const q = await rtnQuantize(gpu, gpu.upload(W, 'W'), rows, cols, { bits: 4, groupSize: 32, sym: true });
    const x = gpu.upload(randomF32(3 * cols, 6), 'x');
    const out: Float32Array[] = [];
    for (const format of ['gptq', 'gptq_v2'] as const) {
      const b = gpu.batch();
      const p = packWeights(gpu, b, q, { descAct: false, format });
      const y = gpu.buffer(3 * rows * 4, 'y');
      qmatmul(b, p, x, y, 3, { empty: gpu.empty });
      await b.submit();
      out.push(await gpu.readF32(y, 3 * rows));
      if (format === 'gptq') expect((await gpu.readU32(p.qzeros, 1))[0]).toBe(0x77777777); // sym 4-bit: zero 8 stored as 7
    }
    expect(Array.from(out[0])).toEqual(Array.from(out[1]));
  });
});
