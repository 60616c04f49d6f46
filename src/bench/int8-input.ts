// An experiment, run only by the benchmark (`quantlab bench --i8-experiment`; docs/experiments.md, "int8
// inputs"): the 4-bit GEMV on an input rounded to int8 per 32-column chunk (shaders/int8_input.wgsl, which
// builds on the packed GEMV of shaders/qgemv.wgsl). The forward pass does not use it.
import { type Binding, type CommandBatch, grid } from '../gpu/gpu';
import { gemv4Spec, gemvShapeFor, type GemvShape, type PackedWeights, qmatmulParams, swigluShape, swigluUnfusable } from '../quant/packed';

const SHADER = 'int8_input';

/**
 * The 4-bit GEMV on an int8 input: quantize_x8 turns x into int8 per 32-column chunk (absmax scale; 48 bytes
 * per chunk), gemv4_i8 sums code x input with dot4I8Packed. `xq`: an input quantized already, to time the GEMV
 * alone.
 */
export function qgemvI8(b: CommandBatch, p: PackedWeights, x: Binding, y: Binding, opts: { xq?: GPUBuffer; gemvShape?: GemvShape } = {}): void {
  if (p.bits !== 4 || p.rows % 4 !== 0 || p.xidx) throw new RangeError('qgemvI8: 4-bit weights, out features % 4 == 0, no act-order');
  // the f16 GEMV's shapes, also this kernel's best where both were measured (docs/experiments.md)
  const [XW, KSLICES] = opts.gemvShape ?? gemvShapeFor('f16', p.bits, p.rows, p.cols, b.gpu.device.limits.maxComputeInvocationsPerWorkgroup);
  const xq = opts.xq ?? quantizeX8(b, p, x);
  b.dispatch(gemv4Spec(b.gpu, 'gemv4_i8', 'f32', p.bits, XW, KSLICES, SHADER), { 1: xq, 2: p.qweight, 3: p.qzeros, 4: p.scales, 6: b.gpu.empty, 7: y },
    Math.ceil(p.rows / (4 * XW)), qmatmulParams(p, 1, 0));
}

/** qgemvSwiglu on an int8 input: gemv4_swiglu_i8, after quantize_x8 unless `xq` is given. */
export function qgemvSwigluI8(b: CommandBatch, gate: PackedWeights, up: PackedWeights, x: Binding, y: Binding, opts: { xq?: GPUBuffer; gemvShape?: GemvShape } = {}): void {
  const why = swigluUnfusable(gate, up);
  if (why || gate.bits !== 4 || gate.xidx) throw new RangeError(`qgemvSwigluI8: ${why ?? '4-bit weights without act-order only'}`);
  const [XW, KSLICES] = swigluShape(b.gpu, 'qgemvSwigluI8', 'f16', gate, opts.gemvShape);
  const xq = opts.xq ?? quantizeX8(b, gate, x);
  const bindings = { 1: xq, 2: gate.qweight, 3: gate.qzeros, 4: gate.scales, 7: y, 9: up.qweight, 10: up.qzeros, 11: up.scales };
  b.dispatch(gemv4Spec(b.gpu, 'gemv4_swiglu_i8', 'f32', gate.bits, XW, KSLICES, SHADER), bindings, Math.ceil(gate.rows / (4 * XW)), qmatmulParams(gate, 1, 0));
}

/** Bytes of an input of `cols` columns rounded to int8 (quantize_x8: 12 words per 32-column chunk). */
export const int8InputBytes = (cols: number) => (cols / 32) * 48;

/** x [1, cols] as int8 per 32-column chunk for gemv4_i8 (quantize_x8), in `out` or a scratch buffer. */
export function quantizeX8(b: CommandBatch, p: PackedWeights, x: Binding, out?: GPUBuffer): GPUBuffer {
  const xq = out ?? b.gpu.scratch(int8InputBytes(p.cols), 'xq');
  b.dispatch({ shader: SHADER, entry: 'quantize_x8' }, { 1: x, 7: xq }, grid(p.cols / 32, 64), qmatmulParams(p, 1, 0));
  return xq;
}

/**
 * x rounded to int8 per 32-column chunk as quantize_x8 rounds it, in float64: scale = max |x| / 127 over the
 * chunk, q = round-half-to-even(x / scale) (WGSL's round); returns q * scale. The tests' reference.
 */
export function int8ChunksRef(x: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length);
  const roundEven = (v: number) => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));
  for (let c = 0; c < x.length; c += 32) {
    let m = 0;
    for (let i = c; i < c + 32; i++) m = Math.max(m, Math.abs(x[i]));
    const inv = m > 0 ? Math.fround(127 / m) : 0;
    for (let i = c; i < c + 32; i++) out[i] = roundEven(Math.fround(x[i] * inv)) * Math.fround(m / 127);
  }
  return out;
}
