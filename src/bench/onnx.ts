// A one-node ONNX model with onnxruntime's MatMulNBits (com.microsoft), written with a minimal protobuf encoder,
// so that the benchmark can build its peer's models in the browser and in Node without Python.
// MatMulNBits: Y[M, N] = A[M, K] * dequant(B)^T, B uint8 [N, K/block, block*bits/8] (low nibble first),
// scales f32 [N * K/block], zero point 2^(bits-1) when none is given.
import { seededRandom } from '../random';

/** Protobuf writer: chunks, so that a 30 MB initializer is copied once, not pushed byte by byte. */
class Pb {
  private chunks: Uint8Array[] = [];
  private length = 0;
  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  varint(v: number | bigint): this {
    let x = BigInt(v);
    if (x < 0n) x += 1n << 64n;
    const out: number[] = [];
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x) b |= 0x80;
      out.push(b);
    } while (x);
    this.push(Uint8Array.from(out));
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  int(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    this.push(b);
    return this;
  }
  str(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  msg(field: number, m: Pb): this {
    return this.bytes(field, m.done());
  }
  done(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) (out.set(c, o), (o += c.length));
    return out;
  }
}

const FLOAT = 1, UINT8 = 2;

function tensorProto(name: string, dims: number[], type: number, raw: Uint8Array): Pb {
  const t = new Pb();
  for (const d of dims) t.int(1, d);
  return t.int(2, type).str(8, name).bytes(9, raw);
}

function valueInfo(name: string, dims: (number | string)[]): Pb {
  const shape = new Pb();
  for (const d of dims) shape.msg(1, typeof d === 'number' ? new Pb().int(1, d) : new Pb().str(2, d));
  return new Pb().str(1, name).msg(2, new Pb().msg(1, new Pb().int(1, FLOAT).msg(2, shape)));
}

function attrInt(name: string, v: number): Pb {
  return new Pb().str(1, name).int(3, v).int(20, 2); // type INT
}

export interface NBitsModel {
  bytes: Uint8Array;
  /** Bytes of B + scales (what a GEMV must read). */
  weightBytes: number;
  B: Uint8Array;
  scales: Float32Array;
  blockSize: number;
}

/** Row n of the dequantized weight, as MatMulNBits defines it (zero point 8, low nibble first). */
export function nbitsRow(m: NBitsModel, n: number, K: number): Float64Array {
  const kBlocks = Math.ceil(K / m.blockSize), blob = m.blockSize / 2;
  const out = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    const blk = Math.floor(k / m.blockSize), j = k % m.blockSize;
    const byte = m.B[(n * kBlocks + blk) * blob + (j >> 1)];
    const q = j & 1 ? byte >> 4 : byte & 15;
    out[k] = (q - 8) * m.scales[n * kBlocks + blk];
  }
  return out;
}

/** A MatMulNBits model with random 4-bit weights: Y = A [M, K] * W^T, W [N, K]. M is left symbolic. */
export function matMulNBitsModel(K: number, N: number, blockSize: number, bits = 4, seed = 1): NBitsModel {
  if (bits !== 4) throw new Error('the peer benchmark builds 4-bit MatMulNBits models');
  const kBlocks = Math.ceil(K / blockSize), blob = (blockSize * bits) / 8;
  const rnd = seededRandom(seed);
  const B = new Uint8Array(N * kBlocks * blob);
  for (let i = 0; i < B.length; i++) B[i] = Math.floor(rnd() * 256);
  const scales = new Float32Array(N * kBlocks);
  for (let i = 0; i < scales.length; i++) scales[i] = 0.001 + 0.01 * rnd();
  const node = new Pb().str(1, 'A').str(1, 'B').str(1, 'scales').str(2, 'Y').str(3, 'mm').str(4, 'MatMulNBits').str(7, 'com.microsoft')
    .msg(5, attrInt('K', K)).msg(5, attrInt('N', N)).msg(5, attrInt('bits', bits)).msg(5, attrInt('block_size', blockSize)).msg(5, attrInt('accuracy_level', 0));
  const graph = new Pb().msg(1, node).str(2, 'matmulnbits')
    .msg(5, tensorProto('B', [N, kBlocks, blob], UINT8, B))
    .msg(5, tensorProto('scales', [N * kBlocks], FLOAT, new Uint8Array(scales.buffer)))
    .msg(11, valueInfo('A', ['M', K]))
    .msg(12, valueInfo('Y', ['M', N]));
  const model = new Pb().int(1, 8).str(2, 'quantlab').msg(8, new Pb().str(1, '').int(2, 17)).msg(8, new Pb().str(1, 'com.microsoft').int(2, 1)).msg(7, graph);
  return { bytes: model.done(), weightBytes: B.length + scales.byteLength, B, scales, blockSize };
}
