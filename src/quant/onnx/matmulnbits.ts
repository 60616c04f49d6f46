// GPTQ-packed weights as the inputs of onnxruntime's MatMulNBits (com.microsoft): the same codes, scales and
// zero points, rearranged, never re-quantized.
//   MatMulNBits: Y = A * W^T, W[n, k] = (q[n, k] - zp[n, k / block]) * scale[n, k / block]
//   B           uint8 [N, n_blocks, block * bits / 8]: each row's codes as one bit stream, low bits first
//   scales      float [N * n_blocks]
//   zero_points uint8 [N * ceil(n_blocks * bits / 8)]: per row, bits-wide, low bits first (2^(bits-1) when absent)
// GPTQ's qweight [K * bits / 32, N] holds each output row's codes as the same low-bits-first stream of int32
// words along K, so a row of B is the row's words as little-endian bytes. Act-order checkpoints scatter their
// groups over K (g_idx); onnxruntime-web's WebGPU MatMulNBits takes no g_idx, so the columns are put in kernel
// order (groups contiguous, as the lab's kernel reads them) and the graph gathers its input in that order.
import { reorderColumns, kernelOrder } from '../load';
import type { ZeroFormat } from '../packed';
import { qweightWords, zeroWords } from '../packed';
import { unpackBits } from '../reference';
import { f16ToF32 } from '../../model/safetensors';

// The bit widths MatMulNBits takes: the packed formats marked `onnx` (src/model/formats.ts).
import { ONNX_BITS } from '../../model/formats';
export { ONNX_BITS };

export interface NBitsWeights {
  K: number;
  N: number;
  bits: number;
  blockSize: number;
  B: Uint8Array;
  scales: Float32Array;
  /** null: every zero point is 2^(bits-1), MatMulNBits' default. */
  zeroPoints: Uint8Array | null;
  /** The input order (x[:, order]) the weights are laid out for; null: the original order. */
  order: Int32Array | null;
}

export interface GptqTensors {
  rows: number; // N, out features
  cols: number; // K, in features
  bits: number;
  groupSize: number; // -1: per channel
  format: ZeroFormat;
  qweight: Uint32Array; // [words, rows], checkpoint (original) column order
  qzeros: Uint32Array; // [nGroups, zwords]
  scales: Uint16Array; // f16 [nGroups, rows]
  gIdx: Uint32Array | null; // [cols]; null: k / G
}

/**
 * The MatMulNBits inputs for GPTQ tensors. The block is the group, or (for groups that are not a power of two,
 * e.g. per channel) the largest power of two dividing it, each group's scale and zero repeated per block.
 */
export function toMatMulNBits(t: GptqTensors, what = 'weights'): NBitsWeights {
  const { rows: N, cols: K, bits } = t;
  if (!ONNX_BITS.includes(bits)) throw new RangeError(`${what}: MatMulNBits on onnxruntime-web's WebGPU EP takes ${ONNX_BITS.join(', ')} bits, not ${bits}`);
  const G = t.groupSize === -1 ? K : t.groupSize;
  const nGroups = Math.ceil(K / G);
  const blockSize = G & -G;
  if (blockSize < 16) throw new RangeError(`${what}: group size ${G} has no power-of-two block of at least 16 columns (MatMulNBits' smallest)`);
  const gIdx = t.gIdx ?? Uint32Array.from({ length: K }, (_, k) => Math.floor(k / G));
  const order = kernelOrder(gIdx, G, nGroups, what);
  const qweight = order ? reorderColumns(t.qweight, N, K, bits, order) : t.qweight;
  const words = qweightWords(K, bits), zw = zeroWords(N, bits);
  const nBlocks = Math.ceil(K / blockSize), blob = (blockSize * bits) / 8;
  const rowBytes = nBlocks * blob;
  // B: row n = its words, little-endian (a partial last block stays zero-padded)
  const B = new Uint8Array(N * rowBytes);
  const view = new DataView(B.buffer);
  for (let n = 0; n < N; n++) for (let w = 0; w < words; w++) view.setUint32(n * rowBytes + 4 * w, qweight[w * N + n], true);
  const scaleF32 = f16ToF32(t.scales);
  const scales = new Float32Array(N * nBlocks);
  const groupOf = (j: number) => Math.floor((j * blockSize) / G);
  for (let n = 0; n < N; n++) for (let j = 0; j < nBlocks; j++) scales[n * nBlocks + j] = scaleF32[groupOf(j) * N + n];
  // zero points: the true zero (v1 stores zero - 1)
  const off = t.format === 'gptq' ? 1 : 0, max = 2 ** bits - 1, half = 2 ** (bits - 1);
  const zeros = Array.from({ length: nGroups }, (_, g) => unpackBits(t.qzeros.subarray(g * zw, (g + 1) * zw), bits, N).map((z) => z + off));
  let allHalf = true;
  for (const zg of zeros) {
    for (const z of zg) {
      if (z > max) throw new RangeError(`${what}: a zero point of ${z} does not fit ${bits} bits (a "gptq" v1 checkpoint storing ${max}); MatMulNBits cannot hold it`);
      if (z !== half) allHalf = false;
    }
  }
  let zeroPoints: Uint8Array | null = null;
  if (!allHalf) {
    const zpBytes = Math.ceil((nBlocks * bits) / 8);
    zeroPoints = new Uint8Array(N * zpBytes);
    for (let n = 0; n < N; n++) {
      for (let j = 0; j < nBlocks; j++) {
        const bit = j * bits;
        zeroPoints[n * zpBytes + (bit >> 3)] |= zeros[groupOf(j)][n] << (bit & 7);
      }
    }
  }
  return { K, N, bits, blockSize, B, scales, zeroPoints, order };
}

/** W [N, K] as MatMulNBits defines it from its inputs (original column order), in float64: the tests' reference. */
export function dequantNBits(w: NBitsWeights): Float64Array {
  const { K, N, bits, blockSize } = w;
  const nBlocks = Math.ceil(K / blockSize), rowBytes = nBlocks * ((blockSize * bits) / 8), zpBytes = Math.ceil((nBlocks * bits) / 8);
  const mask = 2 ** bits - 1;
  const out = new Float64Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const bit = k * bits, j = Math.floor(k / blockSize);
      const q = (w.B[n * rowBytes + (bit >> 3)] >> (bit & 7)) & mask;
      const zp = w.zeroPoints ? (w.zeroPoints[n * zpBytes + ((j * bits) >> 3)] >> ((j * bits) & 7)) & mask : 2 ** (bits - 1);
      out[n * K + (w.order ? w.order[k] : k)] = (q - zp) * w.scales[n * nBlocks + j];
    }
  }
  return out;
}
