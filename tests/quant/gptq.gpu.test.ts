// The WGSL GPTQ, step by step against the float64 references, then whole against the PyTorch reference.
import { describe, expect, it } from 'vitest';
import { matmul } from '../../src/model/ops';
import { GpuHessian } from '../../src/quant/hessian';
import { cholesky, hinvUpper, lowerInverse } from '../../src/quant/linalg';
import { gptqQuantize, reconstructionError, rtnQuantize } from '../../src/quant/gptq';
import { choleskyRef, dequantRef, HessianRef, hinvUpperRef, lowerInverseRef, rtnRef } from '../../src/quant/reference';
import { maxRelErr, randomF32, testGpu } from '../helpers/gpu';
import { agreement, gptqFixture, maxRel } from '../helpers/gptq';

function spd(n: number, seed: number): Float64Array {
  const X = randomF32(n * (n + 5), seed);
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let t = 0; t < n + 5; t++) s += X[t * n + i] * X[t * n + j];
    A[i * n + j] = s / n + (i === j ? 0.1 : 0);
  }
  return A;
}

describe('GPTQ kernels', () => {
  // the per-block kernel (CPU adapters) and the tiled one (GPUs: upper tiles of H, mirrored), on widths that
  // are not multiples of the 64-wide tile and token counts that are not multiples of its 32-token chunk
  for (const [cols, tiled] of [[37, false], [132, true], [68, true]] as const) {
    it(`Hessian${tiled ? ' (tiled)' : ''}, ${cols} columns: running average over batches of sequences, as add_batch`, async () => {
      const gpu = await testGpu();
      const ref = new HessianRef(cols);
      const h = new GpuHessian(gpu, cols);
      for (const [tokens, seqs, seed] of [[24, 2, 1], [9, 1, 2], [70, 3, 3]]) {
        const x = randomF32(tokens * cols, seed);
        ref.addBatch(x, tokens, seqs);
        const b = gpu.batch();
        h.add(b, gpu.upload(x, 'x'), tokens, seqs, tiled);
        await b.submit();
      }
      expect(h.nsamples).toBe(6);
      expect(maxRelErr(await gpu.readF32(h.H, cols * cols), ref.H)).toBeLessThan(1e-5);
    });
  }

  for (const n of [5, 32, 70, 97]) {
    it(`blocked Cholesky and triangular inverse, n = ${n}`, async () => {
      const gpu = await testGpu();
      const A = spd(n, n);
      const L = choleskyRef(A, n)!;
      const bA = gpu.upload(Float32Array.from(A), 'A'), X = gpu.buffer(n * n * 4, 'X'), status = gpu.buffer(16, 'st');
      const b = gpu.batch();
      cholesky(b, bA, status, n);
      lowerInverse(b, bA, X, n);
      await b.submit();
      expect((await gpu.readU32(status, 1))[0]).toBe(0);
      expect(maxRelErr(await gpu.readF32(bA, n * n), L)).toBeLessThan(1e-4);
      expect(maxRelErr(await gpu.readF32(X, n * n), lowerInverseRef(L, n))).toBeLessThan(1e-3);
    });
  }

  it('flags a matrix that is not positive definite', async () => {
    const gpu = await testGpu();
    const n = 40;
    const A = spd(n, 9);
    A[33 * n + 33] = -5;
    const bA = gpu.upload(Float32Array.from(A), 'A'), status = gpu.buffer(16, 'st');
    const b = gpu.batch();
    cholesky(b, bA, status, n);
    await b.submit();
    expect((await gpu.readU32(status, 1))[0]).toBeGreaterThan(0);
  });

  it('upper factor of the inverse Hessian, with an act-order permutation and damping', async () => {
    const gpu = await testGpu();
    const n = 45;
    const H = spd(n, 11);
    const perm = Int32Array.from([...Array(n).keys()].reverse().map((i) => (i * 7) % n));
    const damp = 0.05;
    const Hp = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Hp[i * n + j] = H[perm[i] * n + perm[j]] + (i === j ? damp : 0);
    const res = await hinvUpper(gpu, gpu.upload(Float32Array.from(H), 'H'), perm, n, damp);
    expect(res.ok).toBe(true);
    expect(maxRelErr(await gpu.readF32(res.U, n * n), hinvUpperRef(Hp, n)!)).toBeLessThan(1e-3);
  });

  // Codes are discrete: where w / scale lands within f32 rounding of a .5 boundary, f32 and f64 may round
  // differently, so the codes must agree almost everywhere and the scales to f32 precision.
  it('RTN agrees with the reference rounding', async () => {
    const gpu = await testGpu();
    const rows = 13, cols = 70;
    const W = randomF32(rows * cols, 21, 0.2);
    for (const [bits, G, sym] of [[4, 32, true], [3, 64, false], [2, -1, false], [8, 16, true]] as const) {
      const q = await rtnQuantize(gpu, gpu.upload(W, 'W'), rows, cols, { bits, groupSize: G, sym });
      const want = rtnRef(W, rows, cols, bits, G, sym);
      const codes = await gpu.readU32(q.codes, rows * cols);
      expect(agreement(codes, want.codes)).toBeGreaterThan(0.99);
      expect(maxRelErr(await gpu.readF32(q.scales, want.scales.length), want.scales)).toBeLessThan(1e-6);
    }
  });
});

describe('WGSL GPTQ vs the PyTorch reference (tests/fixtures/gptq, real layers of llama-dict-788k)', () => {
  for (const name of ['down_proj', 'q_proj_dead']) {
    it(name, async () => {
      const gpu = await testGpu();
      const f = await gptqFixture(name);
      const W = gpu.upload(f.W, 'W'), H = gpu.upload(f.H, 'H');
      for (const c of f.cases) {
        const tag = JSON.stringify(c.settings);
        const { q, report } = await gptqQuantize(gpu, W, H, f.rows, f.cols, c.settings);
        expect(report.method).toBe('gptq');
        expect(report.dampPercent).toBe(0.01);
        const kcodes = await gpu.readU32(q.codes, f.rows * f.cols);
        // codes come in kernel order (dynamic act-order keeps the solve's permutation): back to the original
        const codes = new Uint32Array(kcodes.length);
        for (let r = 0; r < f.rows; r++) for (let k = 0; k < f.cols; k++) codes[r * f.cols + (q.order ? q.order[k] : k)] = kcodes[r * f.cols + k];
        const scales = await gpu.readF32(q.scales, c.scales.length), zeros = await gpu.readF32(q.zeros, c.zeros.length);
        expect(Array.from(q.gIdxHost), tag).toEqual(Array.from(c.gIdx));
        const agree = agreement(codes, c.codes);
        if (process.env.SHOW) console.log(name, tag, agree, maxRel(scales, c.scales), report.loss, c.loss);
        expect(agree, tag).toBeGreaterThanOrEqual(0.99);
        expect(maxRel(scales, c.scales), tag).toBeLessThan(1e-5);
        expect(maxRel(zeros, c.zeros), tag).toBeLessThan(1e-5);
        expect(Math.abs(report.loss - c.loss) / c.loss, tag).toBeLessThan(0.01);
        // reconstruction error: what the codes give, against a float64 computation from H
        const rec = await reconstructionError(gpu, W, H, q, (b, x, w, y, M, N, K) => matmul(b, x, w, y, M, N, K, { empty: gpu.empty }));
        const What = dequantRef(codes, scales, zeros, q.gIdxHost, f.rows, f.cols);
        let num = 0, den = 0;
        for (let r = 0; r < f.rows; r++) for (let i = 0; i < f.cols; i++) for (let j = 0; j < f.cols; j++) {
          const h = f.H[i * f.cols + j];
          const wi = f.W[r * f.cols + i], wj = f.W[r * f.cols + j];
          num += (wi - What[r * f.cols + i]) * h * (wj - What[r * f.cols + j]);
          den += wi * h * wj;
        }
        expect(Math.abs(rec - num / den) / (num / den), tag).toBeLessThan(1e-3);
      }
    });
  }
});
