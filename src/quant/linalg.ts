// The inverse-Hessian factor GPTQ walks: U upper with U^T U = (P_act (H + damp I) P_act^T)^-1, computed on
// the GPU as U = R (chol(R A R))^-1 R with R the reversal (shaders/cholesky.wgsl explains why that is the
// same factor as the reference's chol -> cholesky_inverse -> chol(upper)).
import { type CommandBatch, type Gpu, Params } from '../gpu/gpu';

const NB = 32;

function params(n: number, k0: number, damp = 0): Params {
  return new Params().u32(n, k0).f32(damp).u32(0);
}

/** dst[i, j] = src[idx[i], idx[j]] (+ damp on the diagonal; zero diagonals of the source become 1). */
export function gatherSym(b: CommandBatch, src: GPUBuffer, idx: GPUBuffer, dst: GPUBuffer, n: number, damp: number): void {
  b.dispatch({ shader: 'cholesky', entry: 'gather' }, { 1: src, 2: idx, 3: dst }, [Math.ceil(n / 16), Math.ceil(n / 16)], params(n, 0, damp));
}

/** In-place lower Cholesky of A [n, n]; status[0] > 0 afterwards if a pivot was not positive. */
export function cholesky(b: CommandBatch, A: GPUBuffer, status: GPUBuffer, n: number): void {
  for (let k0 = 0; k0 < n; k0 += NB) {
    const nb = Math.min(NB, n - k0);
    b.dispatch({ shader: 'cholesky', entry: 'potrf' }, { 1: A, 2: status }, 1, params(n, k0));
    const below = n - k0 - nb;
    if (below <= 0) break;
    b.dispatch({ shader: 'cholesky', entry: 'trsm' }, { 1: A }, Math.ceil(below / 64), params(n, k0));
    const t = Math.ceil(below / 4);
    b.dispatch({ shader: 'cholesky', entry: 'syrk' }, { 1: A }, [Math.ceil(t / 8), Math.ceil(t / 8)], params(n, k0));
  }
}

/** X = L^-1 for lower-triangular L (X must start zeroed). */
export function lowerInverse(b: CommandBatch, L: GPUBuffer, X: GPUBuffer, n: number): void {
  for (let k0 = 0; k0 < n; k0 += NB) {
    const nb = Math.min(NB, n - k0);
    if (k0 > 0) b.dispatch({ shader: 'cholesky', entry: 'trtri_gemm' }, { 1: L, 2: X }, [Math.ceil(k0 / 64), nb], params(n, k0));
    b.dispatch({ shader: 'cholesky', entry: 'trtri_solve' }, { 1: L, 2: X }, Math.ceil((k0 + nb) / 64), params(n, k0));
  }
}

export interface HinvResult {
  /** U [n, n] upper, U^T U = (A + damp I)^-1 where A is H permuted by `perm`. */
  U: GPUBuffer;
  ok: boolean;
}

/**
 * U for H permuted by perm (act-order), with `damp` added on the diagonal. Returns ok = false (and destroys
 * nothing the caller owns) when the Cholesky factorisation failed, so the caller can raise the damping.
 */
export async function hinvUpper(gpu: Gpu, H: GPUBuffer, perm: Int32Array, n: number, damp: number): Promise<HinvResult> {
  const rev = Uint32Array.from({ length: n }, (_, i) => perm[n - 1 - i]);
  const revIdx = gpu.upload(rev, 'gptq.revperm');
  const identRev = gpu.upload(Uint32Array.from({ length: n }, (_, i) => n - 1 - i), 'gptq.rev');
  const A = gpu.buffer(n * n * 4, 'gptq.chol');
  const X = gpu.buffer(n * n * 4, 'gptq.tri_inv');
  const status = gpu.buffer(16, 'gptq.status');
  const b = gpu.batch('gptq.hinv');
  gatherSym(b, H, revIdx, A, n, damp);
  cholesky(b, A, status, n);
  await b.submit();
  const bad = (await gpu.readU32(status, 1))[0] > 0;
  if (bad) {
    for (const x of [revIdx, identRev, A, X, status]) x.destroy();
    return { U: gpu.empty, ok: false };
  }
  const b2 = gpu.batch('gptq.hinv2');
  lowerInverse(b2, A, X, n);
  gatherSym(b2, X, identRev, A, n, 0); // U = R X R
  await b2.submit();
  for (const x of [revIdx, identRev, X, status]) x.destroy();
  return { U: A, ok: true };
}
