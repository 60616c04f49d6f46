// GPTQ of one linear layer on the GPU: the reference algorithm's steps (src/quant/reference.ts), each a WGSL
// dispatch (shaders/gptq.wgsl, shaders/cholesky.wgsl). Inputs stay on the GPU: the layer's weight [rows, cols]
// and its Hessian [cols, cols]. The result is integer codes + per-group scales and zeros, on the GPU.
import { type CommandBatch, type Gpu, grid, Params } from '../gpu/gpu';
import { hinvUpper } from './linalg';
import { actOrderPerm, type QuantSettings } from './reference';
import { DAMP_INCREMENT, QUANTIZE_DEFAULTS } from './settings';

/** The reference's settings (the GPU's lazy-batch block is fixed at BLOCK = 128), and the GPU's own. */
export interface GptqSettings extends Omit<QuantSettings, 'blockSize'> {
  /** Step by which the dampening is raised when the Cholesky factorisation fails (GPTQModel: 0.01). */
  dampIncrement?: number;
}

/**
 * A quantized layer in GPU buffers, in "kernel order": column k of the codes is input column order[k]
 * (order = null: the identity), and group g is columns [g*G, (g+1)*G) of that order. Dynamic act-order keeps
 * the solve's permuted order so that its groups stay contiguous; everything else is in the original order.
 */
export interface QuantizedWeights {
  rows: number;
  cols: number;
  bits: number;
  groupSize: number; // as given (-1 = per channel)
  nGroups: number;
  sym: boolean;
  codes: GPUBuffer; // [rows, cols] u32, kernel order
  scales: GPUBuffer; // [nGroups, rows] f32
  zeros: GPUBuffer; // [nGroups, rows] f32
  order: Int32Array | null;
  /** The group of each original column (the checkpoint's g_idx). */
  gIdxHost: Uint32Array;
}

export interface LayerReport {
  method: 'gptq' | 'rtn';
  /** GPTQ's summed loss sum((w - q)^2 / d^2) / 2. */
  loss: number;
  /** The dampening fraction actually used (raised from the setting when the factorisation failed). */
  dampPercent: number | null;
  /** What had to be done when the factorisation kept failing: null, 'diagonal', or 'rtn'. */
  fallback: null | 'diagonal' | 'rtn';
  /** ||W X - What X||^2 / ||W X||^2 over the calibration inputs (from H). */
  reconError: number;
  seconds: number;
}

const BLOCK = 128;


function gptqParams(rows: number, cols: number, s: { bits: number; sym: boolean }, G: number, i1 = 0, i2 = 0, mode = 0): Params {
  return new Params().u32(rows, cols, i1, i2, G, mode).f32(2 ** s.bits - 1).u32(s.sym ? 1 : 0);
}

function allocResult(gpu: Gpu, rows: number, cols: number, s: { bits: number; groupSize: number; sym: boolean }): QuantizedWeights {
  const G = s.groupSize === -1 ? cols : s.groupSize;
  const nGroups = Math.ceil(cols / G);
  return {
    rows, cols, bits: s.bits, groupSize: s.groupSize, nGroups, sym: s.sym,
    codes: gpu.buffer(rows * cols * 4, 'q.codes'),
    scales: gpu.buffer(nGroups * rows * 4, 'q.scales'),
    zeros: gpu.buffer(nGroups * rows * 4, 'q.zeros'),
    order: null,
    gIdxHost: Uint32Array.from({ length: cols }, (_, c) => Math.floor(c / G)),
  };
}

export function destroyQuantized(q: QuantizedWeights): void {
  for (const b of [q.codes, q.scales, q.zeros]) b.destroy();
}

async function readDiag(gpu: Gpu, H: GPUBuffer, cols: number): Promise<Float32Array> {
  const out = gpu.buffer(cols * 4, 'gptq.diag');
  const b = gpu.batch('gptq.diag');
  b.dispatch({ shader: 'gptq', entry: 'take_diag' }, { 1: H, 3: out }, grid(cols, 64), gptqParams(0, cols, { bits: 1, sym: false }, 1));
  await b.submit();
  const d = await gpu.readF32(out, cols);
  out.destroy();
  return d;
}

/** Round-to-nearest with GPTQ's grouping: the baseline. */
export async function rtnQuantize(gpu: Gpu, W: GPUBuffer, rows: number, cols: number, s: { bits: number; groupSize: number; sym: boolean }): Promise<QuantizedWeights> {
  const q = allocResult(gpu, rows, cols, s);
  const G = s.groupSize === -1 ? cols : s.groupSize;
  const b = gpu.batch('rtn');
  const noDead = gpu.buffer(cols * 4, 'rtn.nodead'); // zeros: every column counts
  b.dispatch({ shader: 'gptq', entry: 'rtn' }, { 2: q.scales, 3: q.zeros, 4: q.codes, 9: noDead, 10: W }, grid(rows, 64), gptqParams(rows, cols, s, G));
  await b.submit();
  noDead.destroy();
  return q;
}

/**
 * GPTQ of W [rows, cols] with Hessian H. The dampening starts at percdamp and is raised by dampIncrement
 * until the Cholesky factorisation succeeds (below 1, as GPTQModel); then a diagonal Hessian is tried, and
 * only then plain rounding. H and W are not modified.
 */
export async function gptqQuantize(
  gpu: Gpu,
  W: GPUBuffer,
  H: GPUBuffer,
  rows: number,
  cols: number,
  s: GptqSettings,
): Promise<{ q: QuantizedWeights; report: Omit<LayerReport, 'reconError' | 'seconds'> }> {
  const G = s.groupSize === -1 ? cols : s.groupSize;
  const diag = await readDiag(gpu, H, cols);
  if (diag.some((d) => !Number.isFinite(d))) {
    const q = await rtnQuantize(gpu, W, rows, cols, s);
    return { q, report: { method: 'rtn', loss: NaN, dampPercent: null, fallback: 'rtn' } };
  }
  const dead = Uint32Array.from(diag, (d) => (d === 0 ? 1 : 0));
  const fixed = Float32Array.from(diag, (d) => (d === 0 ? 1 : d));
  const perm = s.actOrder ? actOrderPerm(fixed) : Int32Array.from({ length: cols }, (_, i) => i);
  const mean = fixed.reduce((a, b) => a + b, 0) / cols;

  // The inverse-Hessian factor, raising the dampening until the factorisation succeeds.
  let pct = s.percdamp ?? QUANTIZE_DEFAULTS.percdamp;
  const step = s.dampIncrement ?? DAMP_INCREMENT;
  let hinv = await hinvUpper(gpu, H, perm, cols, Math.fround(pct * mean));
  while (!hinv.ok && pct + step < 1) {
    pct = Math.round((pct + step) * 1e6) / 1e6;
    hinv = await hinvUpper(gpu, H, perm, cols, Math.fround(pct * mean));
  }
  let fallback: LayerReport['fallback'] = null;
  let Hsrc = H;
  if (!hinv.ok) {
    // Diagonal floor: keep only diag(H) (always positive definite), i.e. no cross-column error feedback.
    const Hd = new Float32Array(cols * cols);
    for (let i = 0; i < cols; i++) Hd[i * cols + i] = fixed[i];
    Hsrc = gpu.upload(Hd, 'gptq.hdiag');
    hinv = await hinvUpper(gpu, Hsrc, perm, cols, Math.fround(pct * mean));
    fallback = 'diagonal';
    if (!hinv.ok) {
      Hsrc.destroy();
      const q = await rtnQuantize(gpu, W, rows, cols, s);
      return { q, report: { method: 'rtn', loss: NaN, dampPercent: pct, fallback: 'rtn' } };
    }
  }

  const q = allocResult(gpu, rows, cols, s);
  const permBuf = gpu.upload(Uint32Array.from(perm), 'gptq.perm');
  const deadBuf = gpu.upload(dead, 'gptq.dead');
  const noDead = gpu.buffer(cols * 4, 'gptq.nodead');
  const Wp = gpu.buffer(rows * cols * 4, 'gptq.W');
  const codesPerm = gpu.buffer(rows * cols * 4, 'gptq.codes_perm');
  const err = gpu.buffer(rows * BLOCK * 4, 'gptq.err');
  const loss = gpu.buffer(rows * 4, 'gptq.loss');
  const U = hinv.U;
  const b = gpu.batch('gptq');
  const mode = s.groupSize === -1 ? 2 : s.staticGroups ? 1 : 0;
  if (mode === 2) {
    // per-channel parameters from the weights before dead columns are zeroed (the reference's order)
    b.dispatch({ shader: 'gptq', entry: 'group_params' }, { 2: q.scales, 3: q.zeros, 9: noDead, 10: W }, grid(rows, 64), gptqParams(rows, cols, s, cols));
  } else if (mode === 1) {
    b.dispatch({ shader: 'gptq', entry: 'group_params' }, { 2: q.scales, 3: q.zeros, 9: deadBuf, 10: W }, grid(rows, 64), gptqParams(rows, cols, s, G));
  }
  b.dispatch({ shader: 'gptq', entry: 'permute_cols' }, { 1: Wp, 8: permBuf, 9: deadBuf, 10: W }, grid(rows * cols, 64), gptqParams(rows, cols, s, G));
  for (let i1 = 0; i1 < cols; i1 += BLOCK) {
    const i2 = Math.min(i1 + BLOCK, cols);
    encodeBlock(b, { Wp, scales: q.scales, zeros: q.zeros, codesPerm, U, err, loss, perm: permBuf }, rows, cols, s, G, i1, i2, mode);
  }
  // Dynamic act-order groups are contiguous in the solve's order: keep it as the kernel order. Otherwise
  // (no act-order, static groups, per channel) the groups are contiguous in the original order.
  const keepPermuted = mode === 0 && s.actOrder;
  if (keepPermuted) {
    b.copy(codesPerm, 0, q.codes, 0, rows * cols * 4);
    q.order = perm;
    q.gIdxHost = new Uint32Array(cols);
    for (let j = 0; j < cols; j++) q.gIdxHost[perm[j]] = Math.floor(j / G);
  } else {
    b.dispatch({ shader: 'gptq', entry: 'unpermute' }, { 4: q.codes, 8: permBuf, 11: codesPerm }, grid(rows * cols, 64), gptqParams(rows, cols, s, G));
  }
  await b.submit();
  const lossRows = await gpu.readF32(loss, rows);
  for (const x of [permBuf, deadBuf, noDead, Wp, codesPerm, err, loss, U]) x.destroy();
  if (Hsrc !== H) Hsrc.destroy();
  return { q, report: { method: 'gptq', loss: lossRows.reduce((a, v) => a + v, 0), dampPercent: pct, fallback } };
}

function encodeBlock(
  b: CommandBatch,
  buf: { Wp: GPUBuffer; scales: GPUBuffer; zeros: GPUBuffer; codesPerm: GPUBuffer; U: GPUBuffer; err: GPUBuffer; loss: GPUBuffer; perm: GPUBuffer },
  rows: number, cols: number, s: GptqSettings, G: number, i1: number, i2: number, mode: number,
): void {
  const p = gptqParams(rows, cols, s, G, i1, i2, mode);
  b.dispatch(
    { shader: 'gptq', entry: 'quantize_block' },
    { 1: buf.Wp, 2: buf.scales, 3: buf.zeros, 4: buf.codesPerm, 5: buf.U, 6: buf.err, 7: buf.loss, 8: buf.perm },
    grid(rows, 64),
    p,
  );
  if (i2 < cols) {
    const nx = Math.ceil((cols - i2) / 4), ny = Math.ceil(rows / 4);
    b.dispatch({ shader: 'gptq', entry: 'trailing' }, { 1: buf.Wp, 5: buf.U, 6: buf.err }, [Math.ceil(nx / 8), Math.ceil(ny / 8)], p);
  }
}

type MatmulFn = (b: CommandBatch, x: GPUBuffer, w: GPUBuffer, y: GPUBuffer, M: number, N: number, K: number) => void;

/** ||(W - What) X||^2 / ||W X||^2 from H (the n/2 of H = 2/n X^T X cancels). */
export async function reconstructionError(gpu: Gpu, W: GPUBuffer, H: GPUBuffer, q: QuantizedWeights, matmul: MatmulFn): Promise<number> {
  return errorRatio(await reconstructionSums(gpu, W, H, q, matmul));
}

/** The ratio of reconstructionSums' parts (0 where W X is 0). */
export const errorRatio = (s: { num: number; den: number }): number => (s.den > 0 ? s.num / s.den : 0);

/** ||(W - What) X||^2 and ||W X||^2 apart (sums over rows: a matrix quantized in slices of rows adds them up). */
export async function reconstructionSums(gpu: Gpu, W: GPUBuffer, H: GPUBuffer, q: QuantizedWeights, matmul: MatmulFn): Promise<{ num: number; den: number }> {
  const { rows, cols } = q;
  const D = gpu.buffer(rows * cols * 4, 'recon.D');
  const DH = gpu.buffer(rows * cols * 4, 'recon.DH');
  const num = gpu.buffer(rows * 4, 'recon.num');
  const den = gpu.buffer(rows * 4, 'recon.den');
  const G = q.groupSize === -1 ? cols : q.groupSize;
  const p = gptqParams(rows, cols, q, G);
  const order = gpu.upload(q.order ? Uint32Array.from(q.order) : Uint32Array.from({ length: cols }, (_, i) => i), 'recon.order');
  const b = gpu.batch('recon');
  b.dispatch({ shader: 'gptq', entry: 'dequant_diff' }, { 1: q.codes, 2: q.scales, 3: q.zeros, 4: order, 5: D, 6: W }, grid(rows * cols, 64), p);
  matmul(b, D, H, DH, rows, cols, cols); // H symmetric: D H^T = D H
  b.dispatch({ shader: 'gptq', entry: 'rowdot' }, { 1: DH, 2: D, 3: num }, grid(rows, 64), p);
  matmul(b, W, H, DH, rows, cols, cols);
  b.dispatch({ shader: 'gptq', entry: 'rowdot' }, { 1: DH, 2: W, 3: den }, grid(rows, 64), p);
  await b.submit();
  const n = await gpu.readF32(num, rows), d = await gpu.readF32(den, rows);
  for (const x of [D, DH, num, den, order]) x.destroy();
  let sn = 0, sd = 0;
  for (let i = 0; i < rows; i++) (sn += n[i]), (sd += d[i]);
  return { num: sn, den: sd };
}
