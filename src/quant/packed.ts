// GPTQ-packed weights on the GPU (the GPTQModel / AutoGPTQ checkpoint layout, shaders/pack.wgsl), and the
// Linear that multiplies by them through the dequantizing kernels (shaders/qgemm.wgsl, qgemv.wgsl; their layout
// and decoders: qpacked.wgsl), chosen per bit width from the format registry (src/model/formats.ts). A layer
// quantized here and a layer imported from a GPTQ checkpoint are the same object.
import { type Binding, type CommandBatch, type Gpu, grid, Params } from '../gpu/gpu';
import type { ShaderFeature } from '../gpu/shaders';
import { F16_GEMV_BITS, f16GemvTakesShape, formatOf, type GemvShape, KERNEL_CHUNK, qweightWords, zeroWords } from '../model/formats';
import { fusedNormFits, type Linear } from '../model/linear';
import { type InputNorm, MMA_FEATURES, normBinding, splitKFor } from '../model/ops';
import type { QuantizedWeights } from './gptq';
import { f16ToF32 } from '../model/safetensors';
import { unpackBits } from './reference';

export const ZERO_FORMATS = ['gptq', 'gptq_v2'] as const;
export type ZeroFormat = (typeof ZERO_FORMATS)[number];

/**
 * Packed weights as the kernel reads them: the checkpoint layout, but in "kernel order" (column k of each
 * row's stream is input column order[k]; groups are groupSize consecutive columns of that order). Without
 * act-order the kernel order is the checkpoint's own; with it, exports and imports convert (src/quant/export.ts, load.ts).
 */
export interface PackedWeights {
  rows: number; // out features
  cols: number; // in features
  bits: number;
  groupSize: number; // -1 = per channel
  nGroups: number;
  sym: boolean;
  descAct: boolean;
  /** "gptq" (v1) stores zero - 1; "gptq_v2" the zero itself. */
  format: ZeroFormat;
  qweight: GPUBuffer; // [cols*bits/32, rows] u32, kernel order
  qzeros: GPUBuffer; // [nGroups, zwords] u32
  scales: GPUBuffer; // [nGroups, rows] f16 pairs
  order: Int32Array | null;
  xidx: GPUBuffer | null; // order on the GPU
  gIdxHost: Uint32Array; // the checkpoint's g_idx (original column order)
  bias?: GPUBuffer; // f32 [rows]
}

export { type GemvShape, qweightWords, zeroWords };

function packParams(q: { rows: number; cols: number; bits: number; nGroups: number }, zeroOffset: number, words: number): Params {
  return new Params().u32(q.rows, q.cols, q.bits, q.nGroups, zeroOffset, words, 0, 0);
}


/** The buffers of packed weights shaped as `q` (unwritten). */
export function allocPacked(gpu: Gpu, q: Omit<QuantizedWeights, 'codes' | 'scales' | 'zeros'>, opts: { descAct: boolean; format: ZeroFormat; bias?: GPUBuffer }): PackedWeights {
  return {
    rows: q.rows, cols: q.cols, bits: q.bits, groupSize: q.groupSize, nGroups: q.nGroups, sym: q.sym, descAct: opts.descAct, format: opts.format,
    qweight: gpu.buffer(qweightWords(q.cols, q.bits) * q.rows * 4, 'qweight'),
    qzeros: gpu.buffer(q.nGroups * zeroWords(q.rows, q.bits) * 4, 'qzeros'),
    scales: gpu.buffer(Math.ceil((q.nGroups * q.rows) / 2) * 4, 'scales'),
    order: q.order,
    xidx: q.order ? gpu.upload(Uint32Array.from(q.order), 'xidx') : null,
    gIdxHost: q.gIdxHost,
    bias: opts.bias,
  };
}

/** Packs codes / scales / zeros (from gptqQuantize or rtnQuantize) into the checkpoint layout, on the GPU. */
export function packWeights(
  gpu: Gpu,
  b: CommandBatch,
  q: QuantizedWeights,
  opts: { descAct: boolean; format?: ZeroFormat; bias?: GPUBuffer },
): PackedWeights {
  const format = opts.format ?? 'gptq_v2';
  formatOf(q.bits); // a width the registry knows, or a clear error
  checkKernelShape(q.cols, q.groupSize, 'packWeights');
  const ww = qweightWords(q.cols, q.bits), zw = zeroWords(q.rows, q.bits);
  const out = allocPacked(gpu, q, { ...opts, format });
  const off = format === 'gptq' ? 1 : 0;
  b.dispatch({ shader: 'pack', entry: 'pack_weight' }, { 1: q.codes, 2: out.qweight }, grid(ww * q.rows, 64), packParams(q, off, ww));
  b.dispatch({ shader: 'pack', entry: 'pack_zeros' }, { 1: q.zeros, 2: out.qzeros }, grid(zw * q.nGroups, 64), packParams(q, off, zw));
  b.dispatch({ shader: 'pack', entry: 'pack_scales' }, { 1: q.scales, 2: out.scales }, grid(Math.ceil((q.nGroups * q.rows) / 2), 64), packParams(q, off, 0));
  return out;
}

/**
 * Copies `src` (rows [r0, r0 + src.rows) of a matrix quantized a slice of rows at a time, with the same columns,
 * settings and order) into `dst`. Each word row of qweight, each group's scales and zeros is a run of the
 * slice's outputs: r0 and src.rows in 32s keep them on whole words (the last slice may end the matrix at any even
 * row: the f16 scales are copied in whole words).
 */
export function copyPackedRows(b: CommandBatch, src: PackedWeights, dst: PackedWeights, r0: number): void {
  const n = src.rows, ww = qweightWords(src.cols, src.bits);
  if (r0 % 32 !== 0 || (r0 + n !== dst.rows && n % 32 !== 0) || n % 2 !== 0 || dst.rows % 2 !== 0) throw new RangeError(`copyPackedRows: rows ${r0}..${r0 + n} of ${dst.rows} are not in 32s (the last slice: an even count)`);
  for (let w = 0; w < ww; w++) b.copy(src.qweight, w * n * 4, dst.qweight, (w * dst.rows + r0) * 4, n * 4);
  const zSrc = zeroWords(n, src.bits), zDst = zeroWords(dst.rows, src.bits);
  for (let g = 0; g < src.nGroups; g++) {
    b.copy(src.qzeros, g * zSrc * 4, dst.qzeros, (g * zDst + (r0 * src.bits) / 32) * 4, zSrc * 4);
    // f16 scales two to a word: even row counts keep the runs whole (copyBufferToBuffer moves 4-byte multiples)
    b.copy(src.scales, g * n * 2, dst.scales, (g * dst.rows + r0) * 2, Math.ceil(n / 2) * 4);
  }
}

export function destroyPacked(p: PackedWeights): void {
  for (const b of [p.qweight, p.qzeros, p.scales, p.xidx, p.bias]) b?.destroy();
}

/** Bytes the dequantizing matmul reads per pass: packed weights, zeros, scales (and the input order). */
export function packedBytes(p: PackedWeights): number {
  return (qweightWords(p.cols, p.bits) * p.rows + p.nGroups * zeroWords(p.rows, p.bits) + Math.ceil((p.nGroups * p.rows) / 2) + (p.order ? p.cols : 0)) * 4;
}

/** The kernel's constraint: 32-column chunks inside one group. */
export function checkKernelShape(cols: number, groupSize: number, what: string): void {
  const G = groupSize === -1 ? cols : groupSize;
  if (cols % KERNEL_CHUNK !== 0 || G % KERNEL_CHUNK !== 0) {
    throw new RangeError(`${what}: the packed matmul needs in_features (${cols}) and the group size (${groupSize}) to be multiples of ${KERNEL_CHUNK}`);
  }
}

/**
 * The default GEMV shape for a `bits`-bit weight of `rows` x `cols`, as measured with `quantlab bench --gemv`
 * (docs/performance.md, "Shapes per weight"): 8 x 32 where there are many outputs; more K slices where there
 * are few outputs and a long K (down and attention projections), so that enough invocations stream the weights:
 * 4 x 64 for the f32 kernel, 4 x 128 for the f16 one below the format's f16DeepBelowQuads (4 x 64 beyond);
 * 16 x 32 for the f16 kernel on >= 12288 outputs. Capped at the device's invocations per workgroup (256 by
 * default in WebGPU).
 */
export function gemvShapeFor(kernel: GemvKernel, bits: number, rows: number, cols: number, maxInvocations = 256): GemvShape {
  const quads = rows / 4, chunks = cols / KERNEL_CHUNK;
  let shape: [number, number] = [8, 32];
  if (kernel === 'f16' && rows >= 12288) shape = [16, 32];
  else if (quads < 2048 && chunks >= 64) shape = kernel === 'f16' && quads < formatOf(bits).shapes.f16DeepBelowQuads ? [4, 128] : [4, 64];
  while (shape[0] * shape[1] > maxInvocations && shape[1] > 32) shape[1] /= 2;
  while (shape[0] * shape[1] > maxInvocations && shape[0] > 1) shape[0] /= 2;
  return shape;
}

/**
 * The workgroup shape of the gate+up+SwiGLU GEMV (qgemvSwiglu): gemvShapeFor's, except on MLPs of >= 12288
 * outputs where the format names a better one for the kernel (measured at the 8B MLP only: docs/performance.md).
 */
export function swigluShapeFor(kernel: GemvKernel, bits: number, rows: number, cols: number, maxInvocations = 256): GemvShape {
  const base = gemvShapeFor(kernel, bits, rows, cols, maxInvocations);
  const shape = (rows >= 12288 && formatOf(bits).shapes.swiglu[kernel]) || base;
  return shape[0] * shape[1] <= maxInvocations ? shape : base;
}

/**
 * The GEMV's arithmetic: 'f32' everywhere; 'f16' (shader-f16, out features % 4 == 0) decodes two
 * codes per op and sums each 32-column chunk in f16 — the default where the device has shader-f16.
 */
export type GemvKernel = 'f32' | 'f16';

/** Whether the f16 GEMV takes these weights (a format with an f16 pair layout, out features % 4 == 0); the device must have shader-f16. */
export const f16GemvTakes = (p: PackedWeights) => f16GemvTakesShape(p.bits, p.rows);
const f16GemvBits = () => `bits ${F16_GEMV_BITS.slice(0, -1).join(', ')} or ${F16_GEMV_BITS[F16_GEMV_BITS.length - 1]}`;

/**
 * The GEMV kernel qmatmul picks for these weights when the caller names none: f16 where it can run, except for
 * act-order weights below GATHER_GEMV_WEIGHTS, where the f32 kernel reading its input through the permutation
 * beats the f16 one behind a gather dispatch (docs/performance.md, "Act-order").
 */
export function defaultGemvKernel(gpu: Gpu, p: PackedWeights): GemvKernel {
  if (p.xidx && p.rows * p.cols < GATHER_GEMV_WEIGHTS) return 'f32';
  return gpu.f16Kernels && f16GemvTakes(p) ? 'f16' : 'f32';
}

/** The uniforms of the packed kernels' entry points (Params in qpacked.wgsl; the benchmark's int8-input ones too). */
export const qmatmulParams = (p: Pick<PackedWeights, 'rows' | 'cols' | 'groupSize' | 'bits' | 'format'>, M: number, flags: number, splits = 0, norm?: InputNorm, nq = 0, nk = 0) =>
  new Params().u32(M, p.rows, p.cols, p.groupSize === -1 ? p.cols : p.groupSize, zeroWords(p.rows, p.bits), p.format === 'gptq' ? 1 : 0, flags, splits)
    .f32(norm?.eps ?? 0).u32(nq, nk);

/** Whether qmatmul's one-token GEMV on these weights gathers an act-order input first (large weights, GATHER_GEMV_WEIGHTS). */
const gemvGathers = (p: PackedWeights) => Boolean(p.xidx) && p.rows * p.cols >= GATHER_GEMV_WEIGHTS;

/** An act-order input [M, cols] in kernel order (x[:, order]), in a scratch buffer. */
function gatherInput(b: CommandBatch, p: PackedWeights, x: Binding, M: number): GPUBuffer {
  const xk = b.gpu.scratch(M * p.cols * 4, 'input');
  b.dispatch({ shader: 'qpacked', entry: 'gather_input' }, { 1: x, 5: p.xidx!, 7: xk }, grid(M * p.cols, 256), qmatmulParams(p, M, 0));
  return xk;
}

/** y = x * dequant(W)^T: the GEMV (qgemv.wgsl) for one row where the device runs it, else the GEMM (qgemm.wgsl). */
export function qmatmul(
  b: CommandBatch,
  p: PackedWeights,
  x: Binding,
  y: Binding,
  M: number,
  opts: {
    accumulate?: boolean; empty: GPUBuffer; gemv?: boolean; gemvShape?: GemvShape; gemvKernel?: GemvKernel; splitK?: number; gatherInput?: boolean; serial?: boolean;
    /** Applied by the 4-output GEMV to its input (PackedLinear.takesInputNorm says where). */
    norm?: InputNorm;
  },
): void {
  const gemv = (opts.gemv ?? (M === 1 && !b.gpu.serialKernels)) && M === 1;
  const params = (flags: number, splits = 0) => qmatmulParams(p, M, flags, splits, opts.norm);
  const base = (p.bias ? 1 : 0) | (opts.accumulate ? 2 : 0);
  const kernel = gemv ? (opts.gemvKernel ?? defaultGemvKernel(b.gpu, p)) : 'f32';
  if (kernel === 'f16' && !f16GemvTakes(p)) {
    throw new RangeError(`qmatmul: the f16 GEMV takes ${f16GemvBits()} and out features divisible by 4 (have ${p.bits} bits, ${p.rows} outputs); use gemvKernel 'f32'`);
  }
  // An act-order input is gathered into kernel order once (one pass over M x K) where that beats gathering it
  // inside the kernel: always for the GEMM (which only reads contiguous inputs), and for the GEMV of large
  // matrices (GATHER_GEMV_WEIGHTS); `gatherInput` overrides the f32 GEMV's choice (the f16 one always gathers).
  let xidx = p.xidx;
  if (xidx && (!gemv || kernel === 'f16' || (opts.gatherInput ?? p.rows * p.cols >= GATHER_GEMV_WEIGHTS))) {
    if (opts.norm) throw new RangeError('qmatmul: an input norm cannot be applied to a gathered act-order input');
    x = gatherInput(b, p, x, M);
    xidx = null;
  }
  if (opts.norm && (!gemv || p.rows % 4 !== 0)) throw new RangeError('qmatmul: only the 4-output one-token GEMV applies an input norm');
  if (gemv) {
    // xidx, when still set, is read by the kernel itself (flag bit 2)
    const [XW, KSLICES] = opts.gemvShape ?? gemvShapeFor(kernel, p.bits, p.rows, p.cols, b.gpu.device.limits.maxComputeInvocationsPerWorkgroup);
    const flags = base | (xidx ? 4 : 0);
    if (p.rows % 4 === 0) {
      // 4 outputs per invocation, vec4 loads of the packed words (the decode-time kernel); the contiguous
      // variant reads no input order, so its layout has no binding 5. The f16 kernel is gemv4 compiled with
      // shader-f16 (its input was gathered above).
      const bindings: Record<number, Binding> = { 1: x, 2: p.qweight, 3: p.qzeros, 4: p.scales, 6: p.bias ?? opts.empty, 7: y, ...normBinding(opts.norm) };
      if (xidx) bindings[5] = xidx;
      b.dispatch(gemv4Spec(b.gpu, xidx ? 'gemv4_perm' : 'gemv4', kernel, p.bits, XW, KSLICES, 'qgemv', opts.norm), bindings, Math.ceil(p.rows / (4 * XW)), params(flags));
    } else {
      // one output per invocation, for out features not a multiple of 4
      b.dispatch({ shader: 'qgemv', entry: 'gemv', constants: { BITS: p.bits, XW, KSLICES } }, [x, p.qweight, p.qzeros, p.scales, xidx ?? opts.empty, p.bias ?? opts.empty, y],
        Math.ceil(p.rows / XW), params(flags));
    }
    return;
  }
  const gemm = { 1: x, 2: p.qweight, 3: p.qzeros, 4: p.scales, 6: p.bias ?? opts.empty, 7: y };
  if (opts.serial ?? b.gpu.serialKernels) {
    // CPU adapters: a 4 x 4 block per invocation, no workgroup memory, no barriers
    // (its input is in kernel order already: the xidx binding is a placeholder)
    b.dispatch({ shader: 'qgemm', entry: 'main_serial', constants: { BITS: p.bits } }, { ...gemm, 5: opts.empty }, [Math.ceil(p.rows / 32), Math.ceil(M / 32)], params(base));
    return;
  }
  const tiles: [number, number] = [Math.ceil(p.rows / 64), Math.ceil(M / 64)];
  const splits = opts.splitK ?? splitKFor(tiles[0] * tiles[1], p.cols / 32);
  // the weights decoded to f16 in workgroup memory and multiplied on the matrix units where the device has them
  const spec = b.gpu.matrixUnits && b.gpu.packedOnMatrixUnits
    ? { shader: 'qgemm', entry: 'main_mma', constants: { BITS: p.bits }, features: MMA_FEATURES }
    : { shader: 'qgemm', entry: 'main', constants: { BITS: p.bits } };
  if (splits <= 1) {
    // `part` is not written without the split flag, but it is a writable binding: not the read-only `empty`
    b.dispatch(spec, { ...gemm, 8: b.gpu.scratch(16, 'splitk') }, tiles, params(base));
    return;
  }
  // too few tiles to fill the GPU: slices of K in parallel, then one pass adds them up
  const part = b.gpu.scratch(splits * M * p.rows * 4, 'splitk');
  b.dispatch(spec, { ...gemm, 8: part }, [...tiles, splits], params(base | 8, splits));
  b.dispatch({ shader: 'qgemm', entry: 'split_reduce' }, { 6: p.bias ?? opts.empty, 7: y, 8: part }, grid(M * p.rows, 256), params(base, splits));
}

/** A 4-output GEMV entry point of qgemv.wgsl (or of a shader that includes it), in its f16 / subgroup variant where asked and possible. */
export function gemv4Spec(gpu: Gpu, entry: string, kernel: GemvKernel, bits: number, XW: number, KSLICES: number, shader = 'qgemv', norm?: InputNorm) {
  const features: ShaderFeature[] = kernel === 'f16' ? ['f16'] : [];
  const subgroup = gemvSubgroup(gpu, XW, KSLICES);
  if (subgroup) features.push('subgroups');
  const constants = { BITS: bits, XW, KSLICES, ...(subgroup ? { SUBGROUP: subgroup } : {}) };
  return { shader, entry, constants, features, ...(norm ? { defines: ['input_norm'] } : {}) };
}

/** swigluUnfusable's verdicts by (gate, up): packed weights do not change once made, and decode steps ask every layer. */
const unfusable = new WeakMap<PackedWeights, WeakMap<PackedWeights, string | null>>();

/** sameOrder's answers by pair: comparing two orders costs a pass over K, and decode steps ask every layer. */
const sameOrders = new WeakMap<PackedWeights, WeakMap<PackedWeights, boolean>>();

/** Whether two packed matrices read their input in the same order (both contiguous, or one act-order permutation). */
function sameOrder(a: PackedWeights, b: PackedWeights): boolean {
  let byB = sameOrders.get(a);
  if (!byB) sameOrders.set(a, (byB = new WeakMap()));
  let same = byB.get(b);
  if (same === undefined) {
    const x = a.order, y = b.order;
    byB.set(b, (same = x === null ? y === null : y !== null && x.length === y.length && x.every((v, i) => v === y[i])));
  }
  return same;
}

/**
 * Why an MLP's gate and up projections cannot run as one gemv4_swiglu dispatch, or null when they can: the
 * same shape, bits, groups, zero format and input order (GPTQ's act-order permutation depends on the Hessian
 * alone, which gate and up share), no biases, 4-output rows. Worked out once per pair (comparing the orders
 * costs a pass over K).
 */
export function swigluUnfusable(gate: PackedWeights, up: PackedWeights): string | null {
  let byUp = unfusable.get(gate);
  if (!byUp) unfusable.set(gate, (byUp = new WeakMap()));
  let why = byUp.get(up);
  if (why === undefined) byUp.set(up, (why = whyUnfusable(gate, up)));
  return why;
}

function whyUnfusable(gate: PackedWeights, up: PackedWeights): string | null {
  const same = (['rows', 'cols', 'bits', 'groupSize', 'format'] as const).find((k) => gate[k] !== up[k]);
  if (same) return `gate and up differ in ${same} (${gate[same]} vs ${up[same]})`;
  if (gate.bias || up.bias) return 'a projection has a bias';
  if (gate.rows % 4 !== 0) return `out features (${gate.rows}) are not a multiple of 4`;
  if (!sameOrder(gate, up)) return 'gate and up read their input in different orders';
  return null;
}

/**
 * y = silu(x W_gate^T) * (x W_up^T) for one token (M = 1), reading both packed matrices in one dispatch
 * (qgemv.wgsl gemv4_swiglu); an act-order input is gathered first. Throws where swigluUnfusable says why.
 */
export function qgemvSwiglu(
  b: CommandBatch,
  gate: PackedWeights,
  up: PackedWeights,
  x: Binding,
  y: Binding,
  opts: { gemvShape?: GemvShape; gemvKernel?: GemvKernel; norm?: InputNorm } = {},
): void {
  const why = swigluUnfusable(gate, up);
  if (why) throw new RangeError(`qgemvSwiglu: ${why}; run gate, up and swiglu apart`);
  if (opts.norm && gate.xidx) throw new RangeError('qgemvSwiglu: an input norm cannot be applied to a gathered act-order input');
  // the kernel gate and up would each take apart (f32 for small act-order weights): the same arithmetic fused or not
  const kernel = opts.gemvKernel ?? defaultGemvKernel(b.gpu, gate);
  if (kernel === 'f16' && !f16GemvTakes(gate)) throw new RangeError(`qgemvSwiglu: the f16 GEMV takes ${f16GemvBits()} (have ${gate.bits}); use gemvKernel 'f32'`);
  const [XW, KSLICES] = swigluShape(b.gpu, 'qgemvSwiglu', kernel, gate, opts.gemvShape);
  const input = gate.xidx ? gatherInput(b, gate, x, 1) : x;
  const bindings = { 1: input, 2: gate.qweight, 3: gate.qzeros, 4: gate.scales, 7: y, 9: up.qweight, 10: up.qzeros, 11: up.scales, ...normBinding(opts.norm) };
  b.dispatch(gemv4Spec(b.gpu, 'gemv4_swiglu', kernel, gate.bits, XW, KSLICES, 'qgemv', opts.norm), bindings, Math.ceil(gate.rows / (4 * XW)), qmatmulParams(gate, 1, 0, 0, opts.norm));
}

/** q, k, v whose zeros and scales were concatenated for qgemvQkv, by q: made once (packed weights do not change). */
const qkvTables = new WeakMap<PackedWeights, { k: PackedWeights; v: PackedWeights; qzeros: GPUBuffer; scales: GPUBuffer }>();

/** Storage buffers gemv4_qkv binds: input, three weights, zeros, scales, three outputs; + the order, + an input norm. */
const qkvBindings = (q: PackedWeights, norm?: InputNorm) => 9 + (q.xidx ? 1 : 0) + (norm ? 1 : 0);

/** How gemv4_qkv runs q, k and v (kernel and workgroup shape), or why it cannot. */
type QkvPlan = { why: string } | { why: null; kernel: GemvKernel; shape: GemvShape };

/**
 * The fused q/k/v GEMV's kernel and shape (`opts`, else the defaults), or why it cannot run on this GPU: one
 * input size, bits, groups, zero format and input order (act-order: the Hessian they share), no biases, an
 * input read as stored (not gathered first: GATHER_GEMV_WEIGHTS), q and k rows in whole workgroups of the
 * shape and every matrix's rows in whole words of zeros, and storage bindings for all of it.
 */
function qkvPlan(gpu: Gpu, q: PackedWeights, k: PackedWeights, v: PackedWeights, opts: { gemvShape?: GemvShape; gemvKernel?: GemvKernel; norm?: InputNorm }): QkvPlan {
  const why = (text: string) => ({ why: text });
  for (const o of [k, v]) {
    const differs = (['cols', 'bits', 'groupSize', 'format'] as const).find((f) => q[f] !== o[f]);
    if (differs) return why(`q, k and v differ in ${differs}`);
    if (!sameOrder(q, o)) return why('q, k and v read their input in different orders');
  }
  if (q.bias || k.bias || v.bias) return why('a projection has a bias');
  if (gemvGathers(q)) return why('the input is gathered into act order first');
  const N = q.rows + k.rows + v.rows;
  // act-order inputs are read through the order by the f32 kernel only (as gemv4_perm)
  const kernel = q.xidx ? 'f32' : (opts.gemvKernel ?? defaultGemvKernel(gpu, q));
  if (kernel === 'f16' && !f16GemvTakesShape(q.bits, N)) return why(`the f16 GEMV takes ${f16GemvBits()} (have ${q.bits}); use gemvKernel 'f32'`);
  const shape = opts.gemvShape ?? gemvShapeFor(kernel, q.bits, N, q.cols, gpu.device.limits.maxComputeInvocationsPerWorkgroup);
  const XW = shape[0];
  for (const [name, rows] of [['q', q.rows], ['k', k.rows], ['v', v.rows]] as const) {
    if ((name !== 'v' && rows % (4 * XW) !== 0) || rows % 4 !== 0) return why(`${name}'s ${rows} rows are not whole workgroups of ${4 * XW} outputs`);
    if ((rows * q.bits) % 32 !== 0) return why(`${name}'s ${rows} rows are not whole words of ${q.bits}-bit zeros`);
  }
  const need = qkvBindings(q, opts.norm), have = gpu.device.limits.maxStorageBuffersPerShaderStage;
  if (have < need) return why(`the GPU binds ${have} storage buffers per shader, the fused GEMV needs ${need}`);
  if (opts.norm && !fusedNormFits(gpu)) return why('the GPU lacks the workgroup memory of the input norm');
  return { why: null, kernel, shape };
}

/** Why an attention block's q, k and v cannot run as one gemv4_qkv dispatch on this GPU (qkvPlan's defaults), or null when they can. */
export function qkvUnfusable(gpu: Gpu, q: PackedWeights, k: PackedWeights, v: PackedWeights, norm?: InputNorm): string | null {
  return qkvPlan(gpu, q, k, v, { norm }).why;
}

/** q, k and v's zeros and scales concatenated along the rows (per group), for gemv4_qkv; made on first use. */
function qkvTablesOf(b: CommandBatch, q: PackedWeights, k: PackedWeights, v: PackedWeights): { qzeros: GPUBuffer; scales: GPUBuffer } {
  const have = qkvTables.get(q);
  if (have && have.k === k && have.v === v) return have;
  const gpu = b.gpu, parts = [q, k, v], N = q.rows + k.rows + v.rows, zw = zeroWords(N, q.bits);
  const qzeros = gpu.buffer(q.nGroups * zw * 4, 'qkv.qzeros'), scales = gpu.buffer(q.nGroups * N * 2, 'qkv.scales');
  const enc = gpu.batch('qkv.tables');
  for (let g = 0; g < q.nGroups; g++) {
    let row = 0;
    for (const m of parts) {
      const mzw = zeroWords(m.rows, m.bits);
      enc.copy(m.qzeros, g * mzw * 4, qzeros, (g * zw + (row * m.bits) / 32) * 4, mzw * 4);
      enc.copy(m.scales, g * m.rows * 2, scales, (g * N + row) * 2, m.rows * 2);
      row += m.rows;
    }
  }
  void enc.submit(); // queued before any batch that reads them
  if (have) (have.qzeros.destroy(), have.scales.destroy());
  const made = { k, v, qzeros, scales };
  qkvTables.set(q, made);
  return made;
}

/**
 * y_q, y_k, y_v = x q^T, x k^T, x v^T for one token (M = 1) in one dispatch (qgemv.wgsl gemv4_qkv, or
 * gemv4_qkv_perm for act-order weights), with the input norm applied on the way where given. Throws where
 * qkvUnfusable says why.
 */
export function qgemvQkv(
  b: CommandBatch,
  w: { q: PackedWeights; k: PackedWeights; v: PackedWeights },
  x: Binding,
  y: { q: Binding; k: Binding; v: Binding },
  opts: { gemvShape?: GemvShape; gemvKernel?: GemvKernel; norm?: InputNorm } = {},
): void {
  const plan = qkvPlan(b.gpu, w.q, w.k, w.v, opts);
  if (plan.why !== null) throw new RangeError(`qgemvQkv: ${plan.why}; run q, k and v apart`);
  recordQkv(b, w, x, y, plan, opts.norm);
}

function recordQkv(
  b: CommandBatch,
  { q, k, v }: { q: PackedWeights; k: PackedWeights; v: PackedWeights },
  x: Binding,
  y: { q: Binding; k: Binding; v: Binding },
  { kernel, shape: [XW, KSLICES] }: { kernel: GemvKernel; shape: GemvShape },
  norm?: InputNorm,
): void {
  const N = q.rows + k.rows + v.rows;
  const t = qkvTablesOf(b, q, k, v);
  const bindings: Record<number, Binding> = { 1: x, 2: q.qweight, 3: t.qzeros, 4: t.scales, 7: y.q, 9: k.qweight, 10: v.qweight, 11: y.k, 13: y.v, ...normBinding(norm) };
  if (q.xidx) bindings[5] = q.xidx;
  b.dispatch(gemv4Spec(b.gpu, q.xidx ? 'gemv4_qkv_perm' : 'gemv4_qkv', kernel, q.bits, XW, KSLICES, 'qgemv', norm), bindings, Math.ceil(N / (4 * XW)),
    qmatmulParams({ ...q, rows: N }, 1, 0, 0, norm, q.rows, k.rows));
}

/** The fused GEMVs' workgroup shape: `shape`, or swigluShapeFor's; at most 512 invocations (their partial sums,
 *  two per K slice and column quad, fill the 1024 entries of partial4). */
export function swigluShape(gpu: Gpu, who: string, kernel: GemvKernel, gate: PackedWeights, shape?: GemvShape): GemvShape {
  const [XW, KSLICES] = shape ?? swigluShapeFor(kernel, gate.bits, gate.rows, gate.cols, Math.min(512, gpu.device.limits.maxComputeInvocationsPerWorkgroup));
  if (XW * KSLICES > 512) throw new RangeError(`${who}: a ${XW} x ${KSLICES} workgroup holds more than 512 invocations`);
  return [XW, KSLICES];
}

const pow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;

/**
 * The subgroup size with which gemv4 sums its K slices across subgroups first (gemv4_finish), or 0 for sums in
 * workgroup memory only. Needs subgroups laid out linearly with one fixed size, each holding whole K slices of
 * the same columns (XW a power of two, KSLICES a multiple of the slices a subgroup holds, so the workgroup is
 * whole subgroups). Only for XW <= 4: wider shapes gained nothing from it (docs/performance.md, "Subgroups").
 */
export function gemvSubgroup(gpu: Gpu, XW: number, KSLICES: number): number {
  const { subgroupMinSize: min, subgroupMaxSize: max } = gpu.adapter;
  const ok = gpu.subgroupReduce && min !== undefined && min === max && XW <= 4 && pow2(XW) && KSLICES % (min / XW) === 0;
  return ok ? min : 0;
}

/** Weights (rows x cols) from which an act-order GEMV gathers its input first (8B MLP shapes, not 4096 x 4096). */
const GATHER_GEMV_WEIGHTS = 2 ** 25;

export class PackedLinear implements Linear {
  constructor(private readonly gpu: Gpu, readonly packed: PackedWeights) {}
  get outFeatures(): number {
    return this.packed.rows;
  }
  get inFeatures(): number {
    return this.packed.cols;
  }
  get weightBytes(): number {
    return packedBytes(this.packed);
  }
  encode(b: CommandBatch, x: Binding, y: Binding, rows: number, accumulate = false, norm?: InputNorm): void {
    qmatmul(b, this.packed, x, y, rows, { accumulate, empty: this.gpu.empty, norm });
  }
  /** One token on a GPU through the 4-output GEMV, reading its own input (not one gathered into act order first). */
  takesInputNorm(rows: number): boolean {
    return rows === 1 && !this.gpu.serialKernels && this.packed.rows % 4 === 0 && !gemvGathers(this.packed) && fusedNormFits(this.gpu);
  }
  encodeQkv(b: CommandBatch, k: Linear, v: Linear, x: Binding, y: { q: Binding; k: Binding; v: Binding }, rows: number, norm?: InputNorm): boolean {
    // one token on a GPU (where qmatmul takes the GEMV), and weights the fused kernel takes
    if (rows !== 1 || this.gpu.serialKernels || !(k instanceof PackedLinear) || !(v instanceof PackedLinear)) return false;
    const w = { q: this.packed, k: k.packed, v: v.packed };
    const plan = qkvPlan(this.gpu, w.q, w.k, w.v, { norm });
    if (plan.why !== null) return false;
    recordQkv(b, w, x, y, plan, norm);
    return true;
  }
  encodeGateUp(b: CommandBatch, up: Linear, x: Binding, y: Binding, rows: number, norm?: InputNorm): boolean {
    // one token on a GPU (where qmatmul takes the GEMV), and weights the fused kernel takes
    if (rows !== 1 || this.gpu.serialKernels || !(up instanceof PackedLinear) || swigluUnfusable(this.packed, up.packed)) return false;
    if (norm && (this.packed.xidx || !fusedNormFits(this.gpu))) return false;
    qgemvSwiglu(b, this.packed, up.packed, x, y, { norm });
    return true;
  }
  destroy(): void {
    destroyPacked(this.packed);
    const t = qkvTables.get(this.packed);
    if (t) (t.qzeros.destroy(), t.scales.destroy(), qkvTables.delete(this.packed));
  }
}

/**
 * The dense weight rows that packed weights stand for ([rows.length, cols], original column order), decoded on
 * the CPU from the GPU buffers; `rows` = the first n rows, or a list of rows. For inspection (histograms, the
 * benchmark's checks, tests), not for the forward pass.
 */
export async function readDequantized(gpu: Gpu, w: PackedWeights, rows: number | number[] = w.rows): Promise<Float32Array> {
  const words = qweightWords(w.cols, w.bits), zw = zeroWords(w.rows, w.bits);
  const qw = await gpu.readU32(w.qweight, words * w.rows);
  const qz = await gpu.readU32(w.qzeros, w.nGroups * zw);
  const sc = f16ToF32(new Uint16Array(await gpu.read(w.scales, Math.ceil((w.nGroups * w.rows) / 2) * 4)));
  const zeros = Array.from({ length: w.nGroups }, (_, g) => unpackBits(qz.subarray(g * zw, (g + 1) * zw), w.bits, w.rows));
  const off = w.format === 'gptq' ? 1 : 0;
  const G = w.groupSize === -1 ? w.cols : w.groupSize;
  const list = typeof rows === 'number' ? Array.from({ length: Math.min(rows, w.rows) }, (_, n) => n) : rows;
  const out = new Float32Array(list.length * w.cols);
  const stream = new Uint32Array(words);
  for (const [i, n] of list.entries()) {
    for (let k = 0; k < words; k++) stream[k] = qw[k * w.rows + n];
    const codes = unpackBits(stream, w.bits, w.cols);
    for (let k = 0; k < w.cols; k++) {
      const g = Math.floor(k / G); // kernel order: column k is input column order[k]
      out[i * w.cols + (w.order ? w.order[k] : k)] = sc[g * w.rows + n] * (codes[k] - zeros[g][n] - off);
    }
  }
  return out;
}

/** The quantization grid of (row, group): every value scale * (q - zero) a weight can take. */
export async function groupGrid(gpu: Gpu, w: PackedWeights, row: number, group: number): Promise<number[]> {
  const zw = zeroWords(w.rows, w.bits);
  const qz = await gpu.readU32(w.qzeros, w.nGroups * zw);
  const sc = f16ToF32(new Uint16Array(await gpu.read(w.scales, Math.ceil((w.nGroups * w.rows) / 2) * 4)));
  const z = unpackBits(qz.subarray(group * zw, (group + 1) * zw), w.bits, w.rows)[row] + (w.format === 'gptq' ? 1 : 0);
  const s = sc[group * w.rows + row];
  return Array.from({ length: 2 ** w.bits }, (_, q) => s * (q - z));
}
