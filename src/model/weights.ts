// Float weights on their way to the GPU: read from the checkpoint a piece at a time (a 600 MB embedding never
// sits in memory whole, nor twice) and stored as f16 or f32. "auto" keeps a 16-bit checkpoint's weights in f16
// (bf16 values are f16 values exactly, apart from magnitudes below 2^-17 or above 65504) and an f32 one's in
// f32, so that the lab computes with exactly the checkpoint's numbers; "f16" halves an f32 checkpoint's memory
// and reads at a rounding of 2^-11 relative. Kernels widen f16 to f32 (unpack2x16float): no shader-f16 needed.
import type { Gpu } from '../gpu/gpu';
import type { Checkpoint } from './checkpoint';
import { bf16ToF32, type DType, f16ToF32, f32ToF16 } from './safetensors';

export const WEIGHT_FORMATS = ['auto', 'f16', 'f32'] as const;
export type WeightFormat = (typeof WEIGHT_FORMATS)[number];

/** Bytes read from the file per piece. */
const PIECE = 16 << 20;

/** Whether a tensor stored as `dtype` is kept in f16 under `format` (a row length the f16 kernels take). */
export function keepsF16(format: WeightFormat, dtype: DType, rowLength: number, rowMultiple: number): boolean {
  if (rowLength % rowMultiple !== 0) return false;
  return format === 'f16' || (format === 'auto' && (dtype === 'F16' || dtype === 'BF16'));
}

let bf16Table: { f16: Uint16Array; overflow: Uint8Array } | null = null;
/** Every bf16 value's f16 bits (and whether it overflows f16): a lookup per weight instead of a rounding. */
function bf16ToF16Table() {
  if (bf16Table) return bf16Table;
  const f16 = new Uint16Array(65536), overflow = new Uint8Array(65536);
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  for (let h = 0; h < 65536; h++) {
    u[0] = h << 16;
    f16[h] = f32ToF16(f[0]);
    overflow[h] = (f16[h] & 0x7c00) === 0x7c00 && Number.isFinite(f[0]) ? 1 : 0;
  }
  return (bf16Table = { f16, overflow });
}

/** `bytes` of a float tensor stored as `dtype`, converted; `overflow` when an f16 value would be infinite. */
function convert(dtype: DType, bytes: Uint8Array, toF16: boolean): { data: Uint16Array | Float32Array; overflow: boolean } {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const n = aligned.byteLength / (dtype === 'F32' ? 4 : dtype === 'F64' ? 8 : 2);
  if (dtype === 'F16' && toF16) return { data: new Uint16Array(aligned.buffer, aligned.byteOffset, n).slice(), overflow: false };
  if (dtype === 'BF16' && toF16) {
    const src = new Uint16Array(aligned.buffer, aligned.byteOffset, n), t = bf16ToF16Table();
    const out = new Uint16Array(n);
    let over = 0;
    for (let i = 0; i < n; i++) {
      out[i] = t.f16[src[i]];
      over |= t.overflow[src[i]];
    }
    return { data: out, overflow: over !== 0 };
  }
  let f32: Float32Array;
  if (dtype === 'F32') f32 = new Float32Array(aligned.buffer, aligned.byteOffset, n);
  else if (dtype === 'F64') f32 = Float32Array.from(new Float64Array(aligned.buffer, aligned.byteOffset, n));
  else if (dtype === 'F16') f32 = f16ToF32(new Uint16Array(aligned.buffer, aligned.byteOffset, n));
  else if (dtype === 'BF16') f32 = bf16ToF32(new Uint16Array(aligned.buffer, aligned.byteOffset, n));
  else throw new RangeError(`convert: ${dtype} is not a float dtype`);
  if (!toF16) return { data: f32, overflow: false };
  const out = new Uint16Array(n);
  let overflow = false;
  for (let i = 0; i < n; i++) {
    out[i] = f32ToF16(f32[i]);
    if ((out[i] & 0x7c00) === 0x7c00 && Number.isFinite(f32[i])) overflow = true;
  }
  return { data: out, overflow };
}

export interface UploadedWeight {
  buffer: GPUBuffer;
  f16: boolean;
  /** Set when f16 was wanted but a value does not fit it (kept in f32 instead). */
  note?: string;
}

/**
 * A float tensor of `shape` (checked against the checkpoint) on the GPU, streamed in pieces; f16 where
 * keepsF16 says so and every value fits, else f32. `rowMultiple`: the row length the f16 kernels need.
 */
export async function uploadWeight(gpu: Gpu, ckpt: Checkpoint, name: string, shape: number[], format: WeightFormat, rowMultiple = 4, pieceBytes = PIECE): Promise<UploadedWeight> {
  ckpt.expectShape(name, shape);
  const info = ckpt.info(name);
  if (!['F32', 'F16', 'BF16', 'F64'].includes(info.dtype)) throw new RangeError(`${name} is ${info.dtype}, not a float tensor`);
  const wantF16 = keepsF16(format, info.dtype, shape[shape.length - 1], rowMultiple);
  const up = await uploadAs(gpu, ckpt, name, info.dtype, info.end - info.begin, wantF16, pieceBytes);
  if (up) return up;
  return {
    ...(await uploadAs(gpu, ckpt, name, info.dtype, info.end - info.begin, false, pieceBytes))!,
    note: `${name} holds values beyond f16's range (65504): kept in f32`,
  };
}

/** The upload in one storage; null when f16 overflowed (the buffer is freed). */
async function uploadAs(gpu: Gpu, ckpt: Checkpoint, name: string, dtype: DType, bytes: number, f16: boolean, pieceBytes: number): Promise<UploadedWeight | null> {
  const srcSize = dtype === 'F32' ? 4 : dtype === 'F64' ? 8 : 2;
  const n = bytes / srcSize;
  const buffer = await gpu.allocate(n * (f16 ? 2 : 4), name);
  const per = Math.max(4, Math.floor(pieceBytes / srcSize / 4) * 4); // elements per piece: whole f16 pairs, 4-byte offsets
  for (let start = 0; start < n; start += per) {
    const m = Math.min(per, n - start);
    const { data, overflow } = convert(dtype, await ckpt.bytesRange(name, start * srcSize, m * srcSize), f16);
    if (overflow) {
      buffer.destroy();
      return null;
    }
    gpu.write(buffer, data, start * (f16 ? 2 : 4));
  }
  return { buffer, f16 };
}
