// Float64 CPU references of the GPTQ steps, straight from the published algorithm (Frantar et al. 2022) with
// the IST-DASLab gptq.py / GPTQModel conventions (see tools/golden/gptq_reference.py for the list). The WGSL
// kernels are tested against these; small shapes only.

import { QUANTIZE_DEFAULTS } from './settings';

export interface QuantSettings {
  bits: number;
  /** Columns per group; -1 = one group per output row (per channel). */
  groupSize: number;
  sym: boolean;
  actOrder: boolean;
  staticGroups?: boolean;
  /** Dampening as a fraction of mean(diag H) (default QUANTIZE_DEFAULTS'; the reference gptq.py uses 0.01). */
  percdamp?: number;
  /** Columns per lazy-batch block (gptq.py's blocksize, 128). */
  blockSize?: number;
}

/** Round half to even, as torch.round and WGSL round(). */
export function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The quantizer's scale and zero of one row segment (gptq.py Quantizer.find_params, weight=True). */
export function findParams(x: ArrayLike<number>, bits: number, sym: boolean): { scale: number; zero: number } {
  const maxq = 2 ** bits - 1;
  let xmin = 0, xmax = 0;
  for (let i = 0; i < x.length; i++) (xmin = Math.min(xmin, x[i])), (xmax = Math.max(xmax, x[i]));
  if (sym) {
    xmax = Math.max(Math.abs(xmin), xmax);
    if (xmin < 0) xmin = -xmax;
  }
  if (xmin === 0 && xmax === 0) (xmin = -1), (xmax = 1);
  const scale = (xmax - xmin) / maxq;
  const zero = sym ? (maxq + 1) / 2 : roundEven(-xmin / scale);
  return { scale, zero };
}

export function quantCode(w: number, scale: number, zero: number, maxq: number): number {
  return Math.min(maxq, Math.max(0, roundEven(w / scale) + zero));
}

/** H = 2/n sum over sequences of X^T X, as add_batch computes it batch by batch (n counts sequences). */
export class HessianRef {
  readonly H: Float64Array;
  nsamples = 0;
  constructor(readonly cols: number) {
    this.H = new Float64Array(cols * cols);
  }
  /** x: [tokens, cols] rows of `sequences` sequences. */
  addBatch(x: ArrayLike<number>, tokens: number, sequences: number): void {
    const c = this.cols;
    const a = this.nsamples / (this.nsamples + sequences);
    this.nsamples += sequences;
    const b = 2 / this.nsamples;
    for (let i = 0; i < c; i++) {
      for (let j = 0; j < c; j++) {
        let s = 0;
        for (let t = 0; t < tokens; t++) s += x[t * c + i] * x[t * c + j];
        this.H[i * c + j] = this.H[i * c + j] * a + b * s;
      }
    }
  }
}

/** Lower Cholesky factor of a symmetric positive-definite n x n matrix; null if a pivot is not positive. */
export function choleskyRef(A: ArrayLike<number>, n: number): Float64Array | null {
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j];
    for (let k = 0; k < j; k++) d -= L[j * n + k] ** 2;
    if (!(d > 0)) return null;
    const ljj = Math.sqrt(d);
    L[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = s / ljj;
    }
  }
  return L;
}

/** Inverse of a lower-triangular matrix (lower-triangular). */
export function lowerInverseRef(L: ArrayLike<number>, n: number): Float64Array {
  const X = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    for (let i = c; i < n; i++) {
      let s = i === c ? 1 : 0;
      for (let k = c; k < i; k++) s -= L[i * n + k] * X[k * n + c];
      X[i * n + c] = s / L[i * n + i];
    }
  }
  return X;
}

/** The upper Cholesky factor U of H^-1 (H^-1 = U^T U), via chol(H) -> inverse -> chol(upper), as gptq.py. */
export function hinvUpperRef(H: ArrayLike<number>, n: number): Float64Array | null {
  const L = choleskyRef(H, n);
  if (!L) return null;
  const Li = lowerInverseRef(L, n);
  const Hi = new Float64Array(n * n); // Li^T Li
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = Math.max(i, j); k < n; k++) s += Li[k * n + i] * Li[k * n + j];
      Hi[i * n + j] = s;
    }
  }
  // Upper Cholesky of Hi: Hi = U^T U, U = chol(P Hi P)^T reversed... computed directly:
  const U = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    let d = Hi[i * n + i];
    for (let k = 0; k < i; k++) d -= U[k * n + i] ** 2;
    if (!(d > 0)) return null;
    const uii = Math.sqrt(d);
    U[i * n + i] = uii;
    for (let j = i + 1; j < n; j++) {
      let s = Hi[i * n + j];
      for (let k = 0; k < i; k++) s -= U[k * n + i] * U[k * n + j];
      U[i * n + j] = s / uii;
    }
  }
  return U;
}

export interface GptqResult {
  /** Integer codes [rows, cols] in the original column order. */
  codes: Uint8Array;
  /** [groups, rows] */
  scales: Float64Array;
  zeros: Float64Array;
  gIdx: Int32Array;
  perm: Int32Array;
  loss: number;
  damp: number;
}

/** Descending argsort, ties in index order (torch.argsort(descending=True, stable=True)). */
export function actOrderPerm(diag: ArrayLike<number>): Int32Array {
  return Int32Array.from([...Array(diag.length).keys()].sort((a, b) => diag[b] - diag[a] || a - b));
}

/** The whole GPTQ of one layer: W [rows, cols], H [cols, cols]. */
export function gptqRef(Win: ArrayLike<number>, Hin: ArrayLike<number>, rows: number, cols: number, s: QuantSettings): GptqResult | null {
  const maxq = 2 ** s.bits - 1;
  const G = s.groupSize === -1 ? cols : s.groupSize;
  const B = s.blockSize ?? 128;
  const W = Float64Array.from(Win);
  const H = Float64Array.from(Hin);
  // Per-channel parameters come from the weights before dead columns are zeroed (gptq.py order).
  const channel = s.groupSize === -1 ? [...Array(rows).keys()].map((r) => findParams(W.subarray(r * cols, (r + 1) * cols), s.bits, s.sym)) : null;
  for (let i = 0; i < cols; i++) {
    if (H[i * cols + i] === 0) {
      H[i * cols + i] = 1;
      for (let r = 0; r < rows; r++) W[r * cols + i] = 0;
    }
  }
  const nGroups = Math.ceil(cols / G);
  let staticParams: { scale: number; zero: number }[][] | null = null;
  if (s.staticGroups && s.groupSize !== -1) {
    staticParams = [];
    for (let g = 0; g < nGroups; g++) {
      staticParams.push([...Array(rows).keys()].map((r) => findParams(W.subarray(r * cols + g * G, r * cols + Math.min(cols, (g + 1) * G)), s.bits, s.sym)));
    }
  }
  const perm = s.actOrder ? actOrderPerm([...Array(cols).keys()].map((i) => H[i * cols + i])) : Int32Array.from(Array(cols).keys());
  const Wp = new Float64Array(rows * cols), Hp = new Float64Array(cols * cols);
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) Wp[r * cols + j] = W[r * cols + perm[j]];
  for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) Hp[i * cols + j] = H[perm[i] * cols + perm[j]];
  let mean = 0;
  for (let i = 0; i < cols; i++) mean += Hp[i * cols + i];
  const damp = (s.percdamp ?? QUANTIZE_DEFAULTS.percdamp) * (mean / cols);
  for (let i = 0; i < cols; i++) Hp[i * cols + i] += damp;
  const U = hinvUpperRef(Hp, cols);
  if (!U) return null;

  const Q = new Uint8Array(rows * cols); // permuted order
  const scales: number[][] = [], zeros: number[][] = [];
  let loss = 0;
  let cur = channel ?? [];
  if (channel) (scales.push(channel.map((p) => p.scale)), zeros.push(channel.map((p) => p.zero)));
  for (let i1 = 0; i1 < cols; i1 += B) {
    const i2 = Math.min(i1 + B, cols);
    const W1 = new Float64Array(rows * (i2 - i1));
    for (let r = 0; r < rows; r++) for (let j = i1; j < i2; j++) W1[r * (i2 - i1) + j - i1] = Wp[r * cols + j];
    const Err = new Float64Array(rows * (i2 - i1));
    for (let i = i1; i < i2; i++) {
      if (s.groupSize !== -1) {
        if (staticParams) {
          cur = staticParams[Math.floor(perm[i] / G)];
        } else if (i % G === 0) {
          // Group parameters from W: the block's state before its in-block updates (the reference's order).
          cur = [...Array(rows).keys()].map((r) => findParams(Wp.subarray(r * cols + i, r * cols + Math.min(cols, i + G)), s.bits, s.sym));
          scales.push(cur.map((p) => p.scale));
          zeros.push(cur.map((p) => p.zero));
        }
      }
      const d = U[i * cols + i];
      for (let r = 0; r < rows; r++) {
        const w = W1[r * (i2 - i1) + i - i1];
        const { scale, zero } = cur[r];
        const q = quantCode(w, scale, zero, maxq);
        const deq = scale * (q - zero);
        Q[r * cols + i] = q;
        loss += (w - deq) ** 2 / d ** 2 / 2;
        const err = (w - deq) / d;
        Err[r * (i2 - i1) + i - i1] = err;
        for (let j = i; j < i2; j++) W1[r * (i2 - i1) + j - i1] -= err * U[i * cols + j];
      }
    }
    for (let r = 0; r < rows; r++) {
      for (let j = i2; j < cols; j++) {
        let acc = 0;
        for (let k = i1; k < i2; k++) acc += Err[r * (i2 - i1) + k - i1] * U[k * cols + j];
        Wp[r * cols + j] -= acc;
      }
    }
  }
  const codes = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) codes[r * cols + perm[j]] = Q[r * cols + j];
  let gIdx: Int32Array;
  if (s.groupSize === -1) gIdx = new Int32Array(cols);
  else if (staticParams) {
    gIdx = Int32Array.from({ length: cols }, (_, c) => Math.floor(c / G));
    for (const p of staticParams) (scales.push(p.map((x) => x.scale)), zeros.push(p.map((x) => x.zero)));
  } else {
    gIdx = new Int32Array(cols);
    for (let j = 0; j < cols; j++) gIdx[perm[j]] = Math.floor(j / G);
  }
  return { codes, scales: Float64Array.from(scales.flat()), zeros: Float64Array.from(zeros.flat()), gIdx, perm, loss, damp };
}

/** Round-to-nearest with the same grouping (no error feedback): the baseline. */
export function rtnRef(W: ArrayLike<number>, rows: number, cols: number, bits: number, groupSize: number, sym: boolean) {
  const G = groupSize === -1 ? cols : groupSize;
  const maxq = 2 ** bits - 1;
  const nG = Math.ceil(cols / G);
  const codes = new Uint8Array(rows * cols), scales = new Float64Array(nG * rows), zeros = new Float64Array(nG * rows);
  for (let g = 0; g < nG; g++) {
    for (let r = 0; r < rows; r++) {
      const p = findParams(Array.from({ length: Math.min(cols, (g + 1) * G) - g * G }, (_, k) => W[r * cols + g * G + k]), bits, sym);
      scales[g * rows + r] = p.scale;
      zeros[g * rows + r] = p.zero;
      for (let c = g * G; c < Math.min(cols, (g + 1) * G); c++) codes[r * cols + c] = quantCode(W[r * cols + c], p.scale, p.zero, maxq);
    }
  }
  return { codes, scales, zeros, gIdx: Int32Array.from({ length: cols }, (_, c) => Math.floor(c / G)) };
}

/** Ŵ[r, c] = scale[g_idx[c], r] * (code[r, c] - zero[g_idx[c], r]). */
export function dequantRef(codes: ArrayLike<number>, scales: ArrayLike<number>, zeros: ArrayLike<number>, gIdx: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const g = gIdx[c];
      out[r * cols + c] = scales[g * rows + r] * (codes[r * cols + c] - zeros[g * rows + r]);
    }
  }
  return out;
}

/** Values as one little-endian bitstream of `bits`-bit fields in 32-bit words (the GPTQ packing). */
export function packBits(values: ArrayLike<number>, bits: number): Uint32Array {
  const out = new Uint32Array(Math.ceil((values.length * bits) / 32));
  for (let k = 0; k < values.length; k++) {
    const bit = k * bits, w = bit >>> 5, s = bit & 31;
    const v = values[k] & ((1 << bits) - 1);
    out[w] = (out[w] | (v << s)) >>> 0;
    if (s + bits > 32) out[w + 1] = (out[w + 1] | (v >>> (32 - s))) >>> 0;
  }
  return out;
}

export function unpackBits(words: ArrayLike<number>, bits: number, n: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    const bit = k * bits, w = bit >>> 5, s = bit & 31;
    let v = words[w] >>> s;
    if (s + bits > 32) v |= words[w + 1] << (32 - s);
    out[k] = v & ((1 << bits) - 1);
  }
  return out;
}

/** qweight [cols*bits/32, rows] from codes [rows, cols]: row n's codes packed along the input dim. */
export function packQweightRef(codes: ArrayLike<number>, rows: number, cols: number, bits: number): Uint32Array {
  const words = Math.ceil((cols * bits) / 32);
  const out = new Uint32Array(words * rows);
  for (let n = 0; n < rows; n++) {
    const s = packBits(Array.from({ length: cols }, (_, k) => codes[n * cols + k]), bits);
    for (let w = 0; w < words; w++) out[w * rows + n] = s[w];
  }
  return out;
}
