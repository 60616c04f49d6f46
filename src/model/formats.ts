// The packed formats: one entry per bit width the lab quantizes to, packs, runs and exports. Everything that
// differs from one width to another is read from here (the checkpoint loader's and the sweep's checks, the
// packing's word counts, which kernels take the weights and in which workgroup shapes); the kernels themselves
// (shaders/qpacked.wgsl, qgemm.wgsl, qgemv.wgsl) are written for any entry whose decode layouts they know.
// How to add a width: docs/architecture.md.

/** A GEMV workgroup shape: invocations along the outputs x slices of K (XW x KSLICES). */
export type GemvShape = readonly [number, number];

export interface PackedFormat {
  readonly bits: number;
  /**
   * How the f32 kernels (codes8 in shaders/qpacked.wgsl, chunk4 in qgemv.wgsl) read 8 codes of a row's
   * little-endian bitstream (32 / bits codes a word): 'word' when they lie in one word (2 and 4 bits),
   * 'straddle' when they may lie across two because codes straddle words (3 bits: codes 10 and 21 of every 32),
   * 'bytes' when they fill two words (8 bits).
   */
  readonly f32Decode: 'word' | 'straddle' | 'bytes';
  /**
   * How the f16 GEMV pairs two codes under one 32-bit op (qgemv.wgsl gemv_inputs / gemv_chunk): 'halves' where
   * codes j and j + 16/bits sit at the same position of a word's two 16-bit halves; 'shifted' for 3 bits (codes
   * j and j + 5 lie 15 bits apart, lined up by shifting one half a bit, the two straddling codes in a fourth
   * word); null where the f16 GEMV does not take the width (the f32 one runs).
   */
  readonly f16Pairs: 'halves' | 'shifted' | null;
  /** Whether ONNX export writes it as MatMulNBits (onnxruntime-web 1.30's WebGPU kernel: "Only 4b/8b/2b"). */
  readonly onnx: boolean;
  /**
   * Workgroup shapes measured per width (docs/performance.md, "Shapes per weight"). f16DeepBelowQuads: a long-K
   * f16 GEMV with few outputs (< 2048 column quads, out features / 4) takes 4 x 128 below this many quads, 4 x 64
   * from there. swiglu: the fused gate+up+SwiGLU GEMV's shape per kernel on MLPs of >= 12288 outputs, where it
   * beat the single-matrix one (absent: that one).
   */
  readonly shapes: { readonly f16DeepBelowQuads: number; readonly swiglu: { readonly f32?: GemvShape; readonly f16?: GemvShape } };
}

export const FORMATS: readonly PackedFormat[] = [
  { bits: 2, f32Decode: 'word', f16Pairs: 'halves', onnx: true, shapes: { f16DeepBelowQuads: 1024, swiglu: {} } },
  { bits: 3, f32Decode: 'straddle', f16Pairs: 'shifted', onnx: false, shapes: { f16DeepBelowQuads: 2048, swiglu: {} } },
  { bits: 4, f32Decode: 'word', f16Pairs: 'halves', onnx: true, shapes: { f16DeepBelowQuads: 2048, swiglu: { f32: [32, 16] } } },
  { bits: 8, f32Decode: 'bytes', f16Pairs: 'halves', onnx: true, shapes: { f16DeepBelowQuads: 2048, swiglu: { f32: [32, 16], f16: [16, 16] } } },
];

/** The bit widths the lab quantizes to, packs and runs (GPTQModel's). */
export const BIT_WIDTHS: readonly number[] = FORMATS.map((f) => f.bits);

/** The widths ONNX export writes (MatMulNBits). */
export const ONNX_BITS: readonly number[] = FORMATS.filter((f) => f.onnx).map((f) => f.bits);

export function formatOf(bits: number): PackedFormat {
  const f = FORMATS.find((e) => e.bits === bits);
  if (!f) throw new RangeError(`no packed format for ${bits}-bit weights (the lab packs ${BIT_WIDTHS.join(', ')} bits)`);
  return f;
}

/** 32-bit words of a row's packed stream of `cols` codes (the checkpoint's qweight has this many rows). */
export const qweightWords = (cols: number, bits: number) => Math.ceil((cols * bits) / 32);
/** 32-bit words of one group's packed zeros for `rows` outputs (a row of the checkpoint's qzeros). */
export const zeroWords = (rows: number, bits: number) => Math.ceil((rows * bits) / 32);

/** Columns per chunk of the packed kernels: in features and group sizes must be multiples of it. */
export const KERNEL_CHUNK = 32;

/** Whether the f16 GEMV takes `bits`-bit weights of `rows` out features (it computes 4 adjacent outputs). */
export const f16GemvTakesShape = (bits: number, rows: number) => formatOf(bits).f16Pairs !== null && rows % 4 === 0;

/** The widths the f16 GEMV takes, for messages. */
export const F16_GEMV_BITS: readonly number[] = FORMATS.filter((f) => f.f16Pairs !== null).map((f) => f.bits);
