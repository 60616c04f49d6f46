// Exports a quantized model as a GPTQModel / transformers checkpoint folder: model.safetensors with qweight,
// qzeros, scales (f16) and g_idx per linear layer (original column order), every other tensor copied from the
// source checkpoint, config.json with quantization_config, quantize_config.json, and the tokenizer files.
// The front ends write the files (a folder in Node, a zip or a picked folder in the browser).
import type { Gpu } from '../gpu/gpu';
import type { Checkpoint } from '../model/checkpoint';
import { type DType, encodeSafetensors } from '../model/safetensors';
import { HF_LINEAR, LINEAR_NAMES, type Transformer } from '../model/transformer';
import { LAB_VERSION } from '../version';
import { reorderColumns } from './load';
import { PackedLinear, type PackedWeights, qweightWords, type ZeroFormat, zeroWords } from './packed';
import type { QuantizeOptions } from './quantize-model';
import { packBits, unpackBits } from './reference';

export interface ExportedFile {
  name: string;
  data: Uint8Array;
}

const COPY = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt', 'tokenizer.model'];

/** Format "gptq" (v1) stores zero - 1; an asymmetric zero of 0 cannot be stored that way, so asym uses v2. */
export function exportFormat(sym: boolean, requested?: ZeroFormat): ZeroFormat {
  return requested ?? (sym ? 'gptq' : 'gptq_v2');
}

async function packedTensors(gpu: Gpu, p: PackedWeights, base: string, format: ZeroFormat) {
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
  const t: { name: string; dtype: DType; shape: number[]; data: ArrayBufferView }[] = [
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
  const format = exportFormat(opts.sym, opts.format);
  const tensors: { name: string; dtype: DType; shape: number[]; data: ArrayBufferView }[] = [];
  const replaced = new Set<string>();
  for (let l = 0; l < model.layers.length; l++) {
    for (const n of LINEAR_NAMES) {
      const lin = model.layers[l].linears[n];
      if (!(lin instanceof PackedLinear)) continue;
      const base = `model.layers.${l}.${HF_LINEAR[n]}`;
      tensors.push(...(await packedTensors(gpu, lin.packed, base, format)));
      replaced.add(`${base}.weight`);
    }
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
    true_sequential: (opts.mode ?? 'sequential') === 'sequential',
    damp_percent: opts.percdamp ?? 0.01,
    damp_auto_increment: opts.dampIncrement ?? 0.01,
    lm_head: false,
    checkpoint_format: format,
    meta: { quantizer: [`quantlab:${LAB_VERSION}`], method: opts.method, calibration_sequences: opts.calibSize ?? null, calibration_seqlen: opts.seqLen ?? null },
  };
  const config = { ...source.rawConfig, quantization_config: quantizeConfig };
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
