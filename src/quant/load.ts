// Loading models that may be GPTQ-quantized: float layers as dense f16 or f32 (src/model/weights.ts), GPTQ layers (qweight, qzeros, scales,
// g_idx) uploaded as they are stored and run through the dequantizing kernel. The front ends load every
// model through loadModel().
import type { Gpu } from '../gpu/gpu';
import { architecture, LINEAR_NAMES } from '../model/architectures';
import type { Checkpoint } from '../model/checkpoint';
import { type GptqConfig, moduleGptq } from '../model/config';
import { CheckpointError } from '../model/errors';
import { f32ToF16 } from '../model/safetensors';
import type { OnProgress } from '../progress';
import { keepsF16, type WeightFormat } from '../model/weights';
import { checkPlan, lessMemory, type MemoryOptions, ModelTooLargeError, type PackedSettings, planMemory } from '../model/memory';
import { GpuOutOfMemoryError } from '../gpu/errors';
import { denseLinearLoader, type LinearLoader, Transformer } from '../model/transformer';
import { checkKernelShape, PackedLinear, type PackedWeights, qweightWords, type ZeroFormat, zeroWords } from './packed';
import { packBits, unpackBits } from './reference';

export interface LoadedModelInfo {
  model: Transformer;
  /** What the loader had to decide, e.g. a zero-point dialect different from the declared one. */
  notes: string[];
}

export async function loadModel(
  gpu: Gpu,
  ckpt: Checkpoint,
  opts: { onProgress?: OnProgress; signal?: AbortSignal; weights?: WeightFormat } = {},
): Promise<LoadedModelInfo> {
  const notes: string[] = [];
  const cfg = ckpt.config.gptq;
  // refused before anything is allocated where a buffer cannot fit the adapter's limits
  const plan = modelMemory(ckpt, opts.weights ?? 'auto');
  checkPlan(ckpt.config, plan, { maxBuffer: Math.min(gpu.adapter.limits.maxStorageBufferBindingSize, gpu.adapter.limits.maxBufferSize) }, ckpt.id);
  const linearLoader = cfg ? gptqLinearLoader(cfg, notes) : denseLinearLoader;
  try {
    const model = await Transformer.load(gpu, ckpt, { ...opts, linearLoader, notes });
    return { model, notes: [...new Set(notes)] };
  } catch (e) {
    if (!(e instanceof GpuOutOfMemoryError)) throw e;
    const less = lessMemory(ckpt.config, plan);
    throw new ModelTooLargeError(
      `Out of GPU memory loading ${ckpt.id}: it needs about ${(planMemory(ckpt.config, plan).total / 2 ** 20).toFixed(0)} MiB.`,
      less.length ? `Settings that need less: ${less.join('; ')}. Or close other GPU work.` : 'Use a smaller model, or close other GPU work.',
      { cause: e },
    );
  }
}

/** The memory plan of loading a checkpoint for generation and evaluation (weights stored as `weights` says). */
export function modelMemory(ckpt: Checkpoint, weights: WeightFormat, context = Math.min(ckpt.config.maxPosition, 4096)): MemoryOptions {
  const g = ckpt.config.gptq, N = architecture(ckpt.config.arch).names;
  const stored = ckpt.info(N.embed).dtype;
  const head = g && !ckpt.config.tied && ckpt.has(`${N.lmHead}.qweight`) ? moduleGptq(g, N.lmHead) : null;
  return {
    weights: keepsF16(weights, stored, ckpt.config.hidden, 4) ? 'f16' : 'f32',
    packed: g ? { bits: g.bits, groupSize: g.groupSize, actOrder: g.descAct } : undefined,
    packedLayers: g ? packedLayers(g, ckpt) : undefined,
    packedHead: head ? { bits: head.bits, groupSize: head.groupSize } : undefined,
    context,
    passRows: 4096,
  };
}

/**
 * Each layer's linears at their own settings, where GPTQModel's `dynamic` gives some modules others (null: a
 * module left float); undefined without `dynamic`, where every layer is packed at the base settings.
 */
function packedLayers(g: GptqConfig, ckpt: Checkpoint): (PackedSettings | null)[][] | undefined {
  if (!g.dynamic.length) return undefined;
  const N = architecture(ckpt.config.arch).names;
  return Array.from({ length: ckpt.config.layers }, (_, l) => LINEAR_NAMES.map((n) => {
    const base = N.layerPrefix(l) + N.linear[n], m = moduleGptq(g, ckpt.storedModule(base));
    return m && ckpt.has(`${base}.qweight`) ? { bits: m.bits, groupSize: m.groupSize, actOrder: m.descAct } : null;
  }));
}

/**
 * The zero-point dialect of stored zeros. "gptq" (v1) stores zero - 1, "gptq_v2" the zero. Some recent
 * checkpoints labelled "gptq" store v2 zeros: for symmetric quantization the true zero is 2^(bits-1), so a
 * stored 2^(bits-1) - 1 means v1 and 2^(bits-1) means v2. Asymmetric zeros vary and are taken as declared.
 */
export function detectZeroFormat(stored: Uint32Array, bits: number, sym: boolean, declared: string): { format: ZeroFormat; note?: string } {
  const decl: ZeroFormat = declared === 'gptq_v2' ? 'gptq_v2' : 'gptq';
  if (!sym || stored.length === 0) return { format: decl };
  const half = 2 ** (bits - 1);
  let v1 = 0, v2 = 0;
  for (const z of stored) (z === half - 1 ? v1++ : z === half ? v2++ : 0);
  const detected: ZeroFormat | null = v1 > 0.9 * stored.length ? 'gptq' : v2 > 0.9 * stored.length ? 'gptq_v2' : null;
  if (detected && detected !== decl) {
    return { format: detected, note: `checkpoint_format says "${declared}" but the stored symmetric zeros are ${detected === 'gptq' ? half - 1 : half} (${detected === 'gptq' ? 'v1' : 'v2'}): read as ${detected}` };
  }
  return { format: detected ?? decl, note: detected ? `zero points: ${detected} (stored ${detected === 'gptq' ? half - 1 : half} for symmetric ${bits}-bit)` : undefined };
}

function u32View(b: Uint8Array): Uint32Array {
  const copy = b.byteOffset % 4 === 0 ? b : b.slice();
  return new Uint32Array(copy.buffer, copy.byteOffset, Math.floor(copy.byteLength / 4));
}

export function gptqLinearLoader(cfg: GptqConfig, notes: string[]): LinearLoader {
  return async (gpu, ckpt, base, out, inn, bias, ctx) => {
    // a module's own settings where GPTQModel's `dynamic` gives them (an 8-bit LM head beside 4-bit layers), by
    // the name it is stored under (a fused module's for its parts)
    const mc = moduleGptq(cfg, ckpt.storedModule(base));
    if (!mc || !ckpt.has(`${base}.qweight`)) return denseLinearLoader(gpu, ckpt, base, out, inn, bias, ctx);
    const bits = mc.bits;
    const G = mc.groupSize === -1 ? inn : mc.groupSize;
    const nGroups = Math.ceil(inn / G);
    const ww = qweightWords(inn, bits), zw = zeroWords(out, bits);
    const file = `${ckpt.id}: ${base}`;
    for (const [name, dtypes] of [['qweight', ['I32', 'U32']], ['qzeros', ['I32', 'U32']]] as const) {
      const t = ckpt.info(`${base}.${name}`);
      if (!(dtypes as readonly string[]).includes(t.dtype)) throw new CheckpointError(file, `${name} is ${t.dtype}, expected int32`);
    }
    ckpt.expectShape(`${base}.qweight`, [ww, out]);
    const zshape = ckpt.info(`${base}.qzeros`).shape;
    if (zshape[0] !== nGroups || zshape[1] * 32 < out * bits) {
      throw new CheckpointError(file, `qzeros has shape [${zshape}], expected [${nGroups}, ${zw}] for ${out} outputs at ${bits} bits, group ${mc.groupSize}`);
    }
    ckpt.expectShape(`${base}.scales`, [nGroups, out]);
    checkKernelShape(inn, mc.groupSize, file);
    let qwHost = u32View(await ckpt.bytes(`${base}.qweight`));
    const qzBytes = u32View(await ckpt.bytes(`${base}.qzeros`));
    const qzeros = gpu.upload(qzBytes, `${base}.qzeros`);
    const st = ckpt.info(`${base}.scales`);
    let scalesF16: Uint16Array;
    if (st.dtype === 'F16') {
      const b = await ckpt.bytes(`${base}.scales`);
      scalesF16 = new Uint16Array(b.slice().buffer);
    } else {
      scalesF16 = Uint16Array.from(await ckpt.f32(`${base}.scales`), (v) => f32ToF16(v));
    }
    const padded = new Uint16Array(Math.ceil(scalesF16.length / 2) * 2);
    padded.set(scalesF16);
    const scales = gpu.upload(padded, `${base}.scales`);
    let gIdxHost: Uint32Array;
    if (ckpt.has(`${base}.g_idx`)) {
      ckpt.expectShape(`${base}.g_idx`, [inn]);
      gIdxHost = Uint32Array.from((await ckpt.raw(`${base}.g_idx`)) as Int32Array);
      if (gIdxHost.some((g) => g >= nGroups)) throw new CheckpointError(file, `g_idx refers to a group >= ${nGroups}`);
    } else {
      gIdxHost = Uint32Array.from({ length: inn }, (_, k) => Math.floor(k / G));
    }
    // Act-order checkpoints keep columns in the original order with scattered groups: the kernel wants the
    // groups contiguous, so the columns are reordered by group (stably) and the input is read through `order`.
    const order = kernelOrder(gIdxHost, G, nGroups, file);
    if (order) qwHost = reorderColumns(qwHost, out, inn, bits, order);
    const qweight = gpu.upload(qwHost, `${base}.qweight`);
    const dialect = detectZeroFormat(unpackBits(qzBytes.subarray(0, zw), bits, out), bits, mc.sym, mc.checkpointFormat);
    if (dialect.note) notes.push(dialect.note);
    let biasBuf: GPUBuffer | undefined;
    if (ckpt.has(`${base}.bias`)) biasBuf = gpu.upload(await ckpt.f32(`${base}.bias`, [out]), `${base}.bias`);
    const packed: PackedWeights = {
      rows: out, cols: inn, bits, groupSize: mc.groupSize, nGroups, sym: mc.sym, descAct: mc.descAct, format: dialect.format,
      qweight, qzeros, scales, order, xidx: order ? gpu.upload(Uint32Array.from(order), `${base}.order`) : null, gIdxHost, bias: biasBuf,
    };
    return new PackedLinear(gpu, packed);
  };
}

/** The kernel order of a g_idx: null when groups are already consecutive columns; else columns sorted by group. */
export function kernelOrder(gIdx: Uint32Array, G: number, nGroups: number, file: string): Int32Array | null {
  if (gIdx.every((g, k) => g === Math.floor(k / G))) return null;
  const order = Int32Array.from(gIdx.keys()).sort((a, b) => gIdx[a] - gIdx[b] || a - b);
  const counts = new Uint32Array(nGroups);
  for (const g of gIdx) counts[g]++;
  for (let g = 0; g < nGroups; g++) {
    const want = Math.min(G, gIdx.length - g * G);
    if (counts[g] !== want) throw new CheckpointError(file, `g_idx puts ${counts[g]} columns in group ${g}, expected ${want}: an unsupported act-order layout`);
  }
  return order;
}

/** qweight [cols*bits/32, rows] with its columns (within each row's stream) taken in `order`. */
export function reorderColumns(qweight: Uint32Array, rows: number, cols: number, bits: number, order: Int32Array): Uint32Array {
  const words = qweightWords(cols, bits);
  const out = new Uint32Array(qweight.length);
  const stream = new Uint32Array(words);
  const codes = new Uint32Array(cols);
  for (let n = 0; n < rows; n++) {
    for (let w = 0; w < words; w++) stream[w] = qweight[w * rows + n];
    const orig = unpackBits(stream, bits, cols);
    for (let k = 0; k < cols; k++) codes[k] = orig[order[k]];
    const packed = packBits(codes, bits);
    for (let w = 0; w < words; w++) out[w * rows + n] = packed[w];
  }
  return out;
}
