// A safetensors reader that treats every file as untrusted: the header length, the JSON, every tensor's
// dtype, shape and offsets, and the data's presence are checked before anything is used. Every failure is a
// CheckpointError naming the file and what is wrong. Format: 8-byte little-endian header length N, N bytes
// of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the data,
// indexed without holes or overlaps.

import { CheckpointError } from './errors';
import type { ByteSource } from './source';

export const DTYPE_BYTES = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
} as const;
export type DType = keyof typeof DTYPE_BYTES;

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  /** Byte offsets in the file (absolute). */
  begin: number;
  end: number;
}

const MAX_HEADER = 100 * 2 ** 20; // the reference implementation's limit

export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  dataStart: number;
}

export async function readHeader(src: ByteSource): Promise<SafetensorsHeader> {
  const fail = (problem: string) => new CheckpointError(src.name, problem);
  if (src.size < 8) throw fail(`the file is ${src.size} bytes, too short for the 8-byte header length of a safetensors file`);
  const lenBytes = await src.read(0, 8);
  const n64 = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) throw fail(`the header claims ${n64} bytes, more than the ${MAX_HEADER}-byte limit of the format (not a safetensors file?)`);
  const n = Number(n64);
  if (n < 2) throw fail(`the header length is ${n} bytes, too short for a JSON object`);
  if (8 + n > src.size) throw fail(`the header claims ${n} bytes but the file has only ${src.size - 8} after the length (truncated?)`);
  const headerBytes = await src.read(8, n);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (e) {
    throw fail(`the header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail('the header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = src.size - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
        throw fail('__metadata__ must map strings to strings');
      }
      metadata = v as Record<string, string>;
      continue;
    }
    const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t !== 'object' || t === null) throw fail(`tensor "${name}" is not an object in the header`);
    if (typeof t.dtype !== 'string' || !(t.dtype in DTYPE_BYTES)) throw fail(`tensor "${name}" has unsupported dtype ${JSON.stringify(t.dtype)}`);
    const dtype = t.dtype as DType;
    if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw fail(`tensor "${name}" has an invalid shape ${JSON.stringify(t.shape)}`);
    }
    const shape = t.shape as number[];
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || off.some((d) => !Number.isSafeInteger(d) || d < 0) || off[0] > off[1]) {
      throw fail(`tensor "${name}" has invalid data_offsets ${JSON.stringify(off)}`);
    }
    const numel = shape.reduce((a, b) => a * b, 1);
    const need = numel * DTYPE_BYTES[dtype];
    if (!Number.isSafeInteger(need) || off[1] - off[0] !== need) {
      throw fail(`tensor "${name}": shape [${shape}] of ${dtype} needs ${need} bytes but its offsets span ${off[1] - off[0]}`);
    }
    tensors.set(name, { name, dtype, shape, begin: dataStart + off[0], end: dataStart + off[1] });
  }
  // The data must be indexed entirely, without holes or overlaps, and be present.
  const sorted = [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = dataStart;
  for (const t of sorted) {
    if (t.begin < pos) throw fail(`tensor "${t.name}" overlaps the tensor before it`);
    if (t.begin > pos) throw fail(`${t.begin - pos} bytes before tensor "${t.name}" belong to no tensor`);
    pos = t.end;
  }
  if (pos - dataStart > dataLen) {
    throw fail(`the file is truncated: its tensors need ${pos - dataStart} bytes of data but only ${dataLen} are present`);
  }
  if (pos - dataStart < dataLen) throw fail(`${dataLen - (pos - dataStart)} bytes after the last tensor belong to no tensor`);
  return { tensors, metadata, dataStart };
}

// ------------------------------------------------------------------ dtype conversion

let f16Table: Float32Array | null = null;
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    t[h] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  f16Table = t;
  return t;
}

export function f16ToF32(src: Uint16Array, out = new Float32Array(src.length)): Float32Array {
  const t = halfTable();
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
  return out;
}

export function bf16ToF32(src: Uint16Array, out = new Float32Array(src.length)): Float32Array {
  const u = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) u[i] = src[i] << 16;
  return out;
}

const scratchF32 = new Float32Array(1), scratchU32 = new Uint32Array(scratchF32.buffer);

/** Round-to-nearest-even f32 -> bf16 bits (what torch's .to(torch.bfloat16) does). */
export function f32ToBf16(x: number): number {
  scratchF32[0] = x;
  const u = scratchU32[0];
  if ((u & 0x7fffffff) > 0x7f800000) return (u >>> 16) | 0x40; // NaN stays NaN
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Round-to-nearest-even f32 -> f16 bits (for exports and tests). */
export function f32ToF16(x: number): number {
  scratchF32[0] = x;
  const u = scratchU32[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** A copy of `bytes` typed as the dtype's view; floats are converted to f32. */
export function decodeTensor(dtype: DType, bytes: Uint8Array): Float32Array | Int32Array | Uint8Array | Int8Array | BigInt64Array {
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  const buf = aligned.buffer, off = aligned.byteOffset, len = aligned.byteLength;
  switch (dtype) {
    case 'F32':
      return new Float32Array(buf.slice(off, off + len));
    case 'F16':
      return f16ToF32(new Uint16Array(buf, off, len / 2));
    case 'BF16':
      return bf16ToF32(new Uint16Array(buf, off, len / 2));
    case 'F64':
      return Float32Array.from(new Float64Array(buf.slice(off, off + len)));
    case 'I32':
    case 'U32':
      return new Int32Array(buf.slice(off, off + len));
    case 'I64':
    case 'U64':
      return new BigInt64Array(buf.slice(off, off + len));
    case 'I8':
      return new Int8Array(buf.slice(off, off + len));
    case 'U8':
    case 'BOOL':
      return new Uint8Array(buf.slice(off, off + len));
    case 'I16':
      return Int32Array.from(new Int16Array(buf.slice(off, off + len)));
    case 'U16':
      return Int32Array.from(new Uint16Array(buf.slice(off, off + len)));
  }
}

/** One safetensors file: its checked header and its tensors, read on demand. */
export class SafetensorsFile {
  private constructor(readonly src: ByteSource, readonly header: SafetensorsHeader) {}

  static async open(src: ByteSource): Promise<SafetensorsFile> {
    return new SafetensorsFile(src, await readHeader(src));
  }

  get names(): string[] {
    return [...this.header.tensors.keys()];
  }

  info(name: string): TensorInfo {
    const t = this.header.tensors.get(name);
    if (!t) throw new CheckpointError(this.src.name, `has no tensor "${name}"`);
    return t;
  }

  async bytes(name: string): Promise<Uint8Array> {
    const t = this.info(name);
    const b = await this.src.read(t.begin, t.end - t.begin);
    if (b.byteLength !== t.end - t.begin) throw new CheckpointError(this.src.name, `tensor "${name}" could not be read whole (file changed or truncated?)`);
    return b;
  }

  /** `length` bytes of a tensor's data from byte `offset` of it (streaming a large tensor in pieces). */
  async bytesRange(name: string, offset: number, length: number): Promise<Uint8Array> {
    const t = this.info(name);
    if (offset < 0 || offset + length > t.end - t.begin) throw new RangeError(`${this.src.name}: bytes ${offset}..${offset + length} are outside tensor "${name}"`);
    const b = await this.src.read(t.begin + offset, length);
    if (b.byteLength !== length) throw new CheckpointError(this.src.name, `tensor "${name}" could not be read whole (file changed or truncated?)`);
    return b;
  }

  /** A float tensor as f32 (F32, F16, BF16, F64). */
  async f32(name: string): Promise<Float32Array> {
    const t = this.info(name);
    if (!['F32', 'F16', 'BF16', 'F64'].includes(t.dtype)) throw new CheckpointError(this.src.name, `tensor "${name}" is ${t.dtype}, expected a float dtype`);
    return decodeTensor(t.dtype, await this.bytes(name)) as Float32Array;
  }

  async decoded(name: string) {
    return decodeTensor(this.info(name).dtype, await this.bytes(name));
  }
}

/**
 * The start of a safetensors file (length, JSON header padded to 8 bytes) for tensors whose data follows in
 * this order: writers that stream the data (multi-GB files) put it after this.
 */
export function safetensorsHeader(tensors: { name: string; dtype: DType; shape: number[]; bytes: number }[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.bytes] };
    off += t.bytes;
  }
  const text = JSON.stringify(header);
  const json = new TextEncoder().encode(text + ' '.repeat((8 - (new TextEncoder().encode(text).length % 8)) % 8));
  const out = new Uint8Array(8 + json.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

/** Writes tensors as one safetensors file (exports and fixtures). */
export function encodeSafetensors(
  tensors: { name: string; dtype: DType; shape: number[]; data: ArrayBufferView }[],
  metadata?: Record<string, string>,
): Uint8Array {
  const header = safetensorsHeader(tensors.map((t) => ({ ...t, bytes: t.data.byteLength })), metadata);
  const out = new Uint8Array(header.length + tensors.reduce((a, t) => a + t.data.byteLength, 0));
  out.set(header);
  let p = header.length;
  for (const t of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), p);
    p += t.data.byteLength;
  }
  return out;
}
