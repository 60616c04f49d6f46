// Reads a GPTQModel-format linear layer (qweight, qzeros, scales, g_idx) back to codes, scales, zeros and the
// dequantized weight, from the stored bytes and the format's definition (v1 "gptq" stores zero - 1, "gptq_v2"
// the zero; fields packed little-endian along the input dimension), independently of src/quant/load.ts.
import type { SafetensorsFile } from '../../src/model/safetensors';
import { unpackBits } from '../../src/quant/reference';
import { decodeFloats } from './forward-ref';

export interface UnpackedLinear {
  rows: number;
  cols: number;
  codes: Uint32Array; // [rows, cols], original column order
  scales: Float32Array; // [nGroups, rows]
  zeros: Uint32Array; // [nGroups, rows], the true zero points
  gIdx: Int32Array; // [cols]
  weight: Float64Array; // [rows, cols] = scale[g_idx[c], r] * (code[r, c] - zero[g_idx[c], r])
}

const int32 = (b: Uint8Array) => new Int32Array(b.slice().buffer);

export async function unpackLinear(st: SafetensorsFile, base: string, bits: number, format: 'gptq' | 'gptq_v2'): Promise<UnpackedLinear> {
  const [words, rows] = st.info(`${base}.qweight`).shape;
  const cols = st.info(`${base}.g_idx`).shape[0];
  const [nGroups, zw] = st.info(`${base}.qzeros`).shape;
  if (words !== Math.ceil((cols * bits) / 32)) throw new Error(`${base}.qweight: ${words} words for ${cols} columns at ${bits} bits`);
  const qweight = int32(await st.bytes(`${base}.qweight`)), qzeros = int32(await st.bytes(`${base}.qzeros`));
  const scales = decodeFloats(st.info(`${base}.scales`).dtype, await st.bytes(`${base}.scales`));
  const gIdx = int32(await st.bytes(`${base}.g_idx`));
  const codes = new Uint32Array(rows * cols);
  const stream = new Uint32Array(words);
  for (let r = 0; r < rows; r++) {
    for (let w = 0; w < words; w++) stream[w] = qweight[w * rows + r];
    codes.set(unpackBits(stream, bits, cols), r * cols);
  }
  const zeros = new Uint32Array(nGroups * rows);
  for (let g = 0; g < nGroups; g++) {
    const z = unpackBits(qzeros.subarray(g * zw, (g + 1) * zw), bits, rows);
    for (let r = 0; r < rows; r++) zeros[g * rows + r] = z[r] + (format === 'gptq' ? 1 : 0);
  }
  const weight = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const g = gIdx[c];
      weight[r * cols + c] = scales[g * rows + r] * (codes[r * cols + c] - zeros[g * rows + r]);
    }
  }
  return { rows, cols, codes, scales, zeros, gIdx, weight };
}

/** How many columns each group holds, in group order. */
export function groupCounts(gIdx: ArrayLike<number>): number[] {
  const counts: number[] = [];
  for (let c = 0; c < gIdx.length; c++) counts[gIdx[c]] = (counts[gIdx[c]] ?? 0) + 1;
  return Array.from(counts, (n) => n ?? 0);
}
