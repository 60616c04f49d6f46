// Exports a quantized model as a GPTQModel / transformers checkpoint folder: model.safetensors with qweight,
// qzeros, scales (f16) and g_idx per linear layer (original column order), every other tensor copied from the
// source checkpoint, config.json with quantization_config, quantize_config.json, and the tokenizer files. A
// quantized LM head is lm_head.qweight ... with its settings in `dynamic`, the embedding kept float (untied). Layers
// the architecture stores fused (Phi-3's qkv_proj, gate_up_proj) are written fused again, under the stored names.
// The front ends write the files (a folder in Node, a zip or a picked folder in the browser).
import type { Gpu } from '../gpu/gpu';
import { architecture, type FusedTensor, LINEAR_NAMES, type LinearName } from '../model/architectures';
import type { Checkpoint } from '../model/checkpoint';
import { type DType, encodeSafetensors } from '../model/safetensors';
import type { Transformer } from '../model/transformer';
import { LAB_VERSION } from '../version';
import { reorderColumns } from './load';
import { PackedLinear, type PackedWeights, qweightWords, type ZeroFormat, zeroWords } from './packed';
import type { QuantizeOptions } from './quantize-model';
import { packBits, unpackBits } from './reference';
import { DAMP_INCREMENT, QUANTIZE_DEFAULTS } from './settings';

export interface ExportedFile {
  name: string;
  data: Uint8Array;
}

const COPY = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt', 'tokenizer.model'];

/** Format "gptq" (v1) stores zero - 1; an asymmetric zero of 0 cannot be stored that way, so asym uses v2. */
export function exportFormat(sym: boolean, requested?: ZeroFormat): ZeroFormat {
  return requested ?? (sym ? 'gptq' : 'gptq_v2');
}

type Tensor = { name: string; dtype: DType; shape: number[]; data: ArrayBufferView };

async function packedTensors(gpu: Gpu, p: PackedWeights, base: string, format: ZeroFormat): Promise<Tensor[]> {
  const words = qweightWords(p.cols, p.bits), zw = zeroWords(p.rows, p.bits);
  let qweight = await gpu.readU32(p.qweight, words * p.rows);
  if (p.order) {
    const inv = new Int32Array(p.cols);
    p.order.forEach((c, k) => (inv[c] = k));
    qweight = reorderColumns(qweight, p.rows, p.cols, p.bits, inv);
  }
  let qzeros = await gpu.readU32(p.qzeros, p.nGroups * zw);
  if (format !== p.format) {
    // re-encode the zeros: v1 stores zero - 1, v2 the zero
    const shift = (format === 'gptq' ? -1 : 0) - (p.format === 'gptq' ? -1 : 0);
    const mask = 2 ** p.bits - 1;
    const out = new Uint32Array(qzeros.length);
    for (let g = 0; g < p.nGroups; g++) {
      const z = unpackBits(qzeros.subarray(g * zw, (g + 1) * zw), p.bits, p.rows).map((v) => (v + shift) & mask);
      out.set(packBits(z, p.bits), g * zw);
    }
    qzeros = out;
  }
  const scales = new Uint16Array(await gpu.read(p.scales, Math.ceil((p.nGroups * p.rows) / 2) * 4)).slice(0, p.nGroups * p.rows);
  const t: Tensor[] = [
    { name: `${base}.qweight`, dtype: 'I32', shape: [words, p.rows], data: qweight },
    { name: `${base}.qzeros`, dtype: 'I32', shape: [p.nGroups, zw], data: qzeros },
    { name: `${base}.scales`, dtype: 'F16', shape: [p.nGroups, p.rows], data: scales },
    { name: `${base}.g_idx`, dtype: 'I32', shape: [p.cols], data: Int32Array.from(p.gIdxHost) },
  ];
  return t;
}

export async function exportQuantized(
  gpu: Gpu,
  source: Checkpoint,
  model: Transformer,
  opts: QuantizeOptions & { calibSize?: number; seqLen?: number },
): Promise<ExportedFile[]> {
  const first = model.layers[0].linears.q;
  if (!(first instanceof PackedLinear)) throw new Error('exportQuantized: the model is not quantized');
  // v1 cannot store an asymmetric zero of 0: v2 where the layers or the head are asymmetric
  const format = exportFormat(opts.sym && (opts.lmHead?.sym ?? true), opts.format);
  const tensors: Tensor[] = [];
  const replaced = new Set<string>();
  const arch = architecture(source.config.arch), N = arch.names;
  for (let l = 0; l < model.layers.length; l++) {
    const p = N.layerPrefix(l);
    const packed = new Map<LinearName, Tensor[]>();
    for (const n of LINEAR_NAMES) {
      const lin = model.layers[l].linears[n];
      if (lin instanceof PackedLinear) packed.set(n, await packedTensors(gpu, lin.packed, p + N.linear[n], format));
    }
    for (const f of arch.fused) {
      const parts = f.parts.map((n) => packed.get(n));
      if (parts.every((t) => !t)) continue;
      if (!parts.every((t) => t)) throw new Error(`exportQuantized: ${p}${f.name} is stored fused, but only some of ${f.parts.join(', ')} are quantized`);
      tensors.push(...fuse(f, p + f.name, parts as Tensor[][], opts.bits));
      replaced.add(`${p}${f.name}.weight`);
      for (const n of f.parts) packed.delete(n);
    }
    for (const [n, t] of packed) {
      tensors.push(...t);
      replaced.add(`${p}${N.linear[n]}.weight`);
    }
  }
  // GPTQModel's quantized LM head: lm_head.qweight ... beside the float embedding (a tied head is untied)
  const head = model.lmHead instanceof PackedLinear ? model.lmHead.packed : null;
  if (head) {
    tensors.push(...(await packedTensors(gpu, head, N.lmHead, format)));
    replaced.add(`${N.lmHead}.weight`);
  }
  for (const name of source.tensorNames()) {
    if (replaced.has(name)) continue;
    const info = source.info(name);
    tensors.push({ name, dtype: info.dtype, shape: info.shape, data: await source.bytes(name) });
  }
  tensors.sort((a, b) => a.name.localeCompare(b.name));
  const quantizeConfig = {
    quant_method: 'gptq',
    bits: opts.bits,
    group_size: opts.groupSize,
    desc_act: opts.actOrder,
    sym: opts.sym,
    static_groups: opts.staticGroups ?? false,
    true_sequential: (opts.mode ?? QUANTIZE_DEFAULTS.mode) === 'sequential',
    damp_percent: opts.percdamp ?? QUANTIZE_DEFAULTS.percdamp,
    damp_auto_increment: opts.dampIncrement ?? DAMP_INCREMENT,
    lm_head: head !== null,
    // the head's own settings, as GPTQModel records them (a per-module override)
    ...(head ? { dynamic: { [N.lmHead]: { bits: head.bits, group_size: head.groupSize, sym: head.sym, desc_act: false } } } : {}),
    checkpoint_format: format,
    meta: { quantizer: [`quantlab:${LAB_VERSION}`], method: opts.method, calibration_sequences: opts.calibSize ?? null, calibration_seqlen: opts.seqLen ?? null },
  };
  const config = { ...source.rawConfig, ...(head ? { tie_word_embeddings: false } : {}), quantization_config: quantizeConfig };
  const json = (o: unknown) => new TextEncoder().encode(JSON.stringify(o, null, 2) + '\n');
  const files: ExportedFile[] = [
    { name: 'model.safetensors', data: encodeSafetensors(tensors, { format: 'pt', quantizer: `quantlab ${LAB_VERSION}` }) },
    { name: 'config.json', data: json(config) },
    { name: 'quantize_config.json', data: json(quantizeConfig) },
  ];
  for (const f of COPY) {
    if (source.files.has(f)) {
      const src = await source.files.open(f);
      files.push({ name: f, data: await src.read(0, src.size) });
    }
  }
  return files;
}

/**
 * The GPTQ tensors of a fused module from its parts' (each [qweight, qzeros, scales, g_idx] as packedTensors
 * writes them): outputs stacked in the parts' order, as a GPTQ of the fused module stores them. The parts share
 * their input, hence their Hessian and their g_idx.
 */
export function fuse(f: FusedTensor, base: string, parts: Tensor[][], bits: number): Tensor[] {
  const get = (i: number, sfx: string) => parts[i].find((t) => t.name.endsWith(`.${sfx}`))!;
  const outs = parts.map((_, i) => get(i, 'scales').shape[1]), total = outs.reduce((a, b) => a + b, 0);
  const gIdx = get(0, 'g_idx');
  for (let i = 1; i < parts.length; i++) {
    const g = get(i, 'g_idx').data as Int32Array;
    if (g.length !== (gIdx.data as Int32Array).length || g.some((v, k) => v !== (gIdx.data as Int32Array)[k])) {
      throw new Error(`exportQuantized: ${f.parts[0]} and ${f.parts[i]} have different g_idx, so ${base} cannot be stored fused`);
    }
  }
  /** Row-major [rows, cols_i] arrays side by side: [rows, sum cols_i]. */
  const concatColumns = <T extends Int32Array | Uint32Array | Uint16Array>(arrays: T[], rows: number, make: (n: number) => T): T => {
    const widths = arrays.map((a) => a.length / rows), width = widths.reduce((a, b) => a + b, 0);
    const out = make(rows * width);
    for (let r = 0; r < rows; r++) {
      let at = r * width;
      arrays.forEach((a, i) => (out.set(a.subarray(r * widths[i], (r + 1) * widths[i]), at), (at += widths[i])));
    }
    return out;
  };
  const qweights = parts.map((_, i) => get(i, 'qweight').data as Uint32Array);
  const words = get(0, 'qweight').shape[0];
  const scales = parts.map((_, i) => get(i, 'scales').data as Uint16Array);
  const nGroups = get(0, 'scales').shape[0];
  // zeros: each group's row of packed outputs, unpacked per part and packed again across all outputs
  const zw = zeroWords(total, bits);
  const qzeros = new Uint32Array(nGroups * zw);
  for (let g = 0; g < nGroups; g++) {
    const z = new Uint32Array(total);
    let at = 0;
    parts.forEach((_, i) => {
      const t = get(i, 'qzeros'), w = t.shape[1];
      z.set(unpackBits((t.data as Uint32Array).subarray(g * w, (g + 1) * w), bits, outs[i]), at);
      at += outs[i];
    });
    qzeros.set(packBits(z, bits), g * zw);
  }
  return [
    { name: `${base}.qweight`, dtype: 'I32', shape: [words, total], data: concatColumns(qweights, words, (n) => new Uint32Array(n)) },
    { name: `${base}.qzeros`, dtype: 'I32', shape: [nGroups, zw], data: qzeros },
    { name: `${base}.scales`, dtype: 'F16', shape: [nGroups, total], data: concatColumns(scales, nGroups, (n) => new Uint16Array(n)) },
    { name: `${base}.g_idx`, dtype: 'I32', shape: [gIdx.shape[0]], data: gIdx.data },
  ];
}
