// Exports a checkpoint (float, or GPTQ: a lab export or any GPTQModel folder) as the ONNX folder transformers.js
// loads like a Hub model: config.json (with transformers.js_config naming the dtype), generation_config.json,
// the tokenizer files, and onnx/model<suffix>.onnx (+ external data past 2 GiB): a decoder with a KV cache
// (past_key_values.N.key/value in, present.N.key/value out) in the operators onnxruntime-web's WebGPU EP runs:
//   embed (Gather) -> per layer [SimplifiedLayerNorm / SkipSimplifiedLayerNorm -> q, k, v (MatMulNBits or
//   MatMul, + bias) -> (q/k RMSNorm) -> GroupQueryAttention (rope from the lab's own cos/sin tables) -> o
//   -> SkipSimplifiedLayerNorm -> gate, up -> SiLU * up -> down] -> final norm -> LM head (Gemm)
// The weights are the checkpoint's numbers: float layers as f32, GPTQ layers as MatMulNBits holding the same
// codes, scales (f16 widened to f32) and zeros. Nothing is read from a GPU. Tensor names come from the
// architecture's entry (src/model/architectures.ts); fused tensors are read through the checkpoint's per-linear views.
import type { Gpu } from '../../gpu/gpu';
import { Checkpoint } from '../../model/checkpoint';
import { type ModelConfig, moduleGptq } from '../../model/config';
import { QuantlabError } from '../../errors';
import { ropeTables } from '../../model/rope';
import { f32ToF16 } from '../../model/safetensors';
import { blobFiles } from '../../model/source';
import { architecture } from '../../model/architectures';
import type { Transformer } from '../../model/transformer';
import { LAB_VERSION } from '../../version';
import { type ExportedFile, exportQuantized } from '../export';
import type { QuantizeOptions } from '../quantize-model';
import { packedWidths } from '../settings';
import { detectZeroFormat } from '../load';
import { checkKernelShape, qweightWords, zeroWords } from '../packed';
import { unpackBits } from '../reference';
import { type Dim, Graph } from './graph';
import { ONNX_BITS, toMatMulNBits } from './matmulnbits';

/** transformers.js's dtype names and the file suffix it looks for (its DEFAULT_DTYPE_SUFFIX_MAPPING). */
const DTYPE_OF_BITS: Record<number, { dtype: string; suffix: string }> = { 2: { dtype: 'q2', suffix: '_q2' }, 4: { dtype: 'q4', suffix: '_q4' }, 8: { dtype: 'q8', suffix: '_quantized' } };
const FLOAT_DTYPE = { dtype: 'fp32', suffix: '' };

/**
 * Initializers together larger than this go to external data files. Not only for protobuf's 2 GiB: onnxruntime-web's
 * WebGPU EP uploads an external initializer to the GPU straight from the file's buffer, while an inline one passes
 * through its wasm heap (4 GiB) with the whole model file. The Llama-3.2-1B shape at 4 bits (1.5 GB inline) failed
 * to load in transformers.js with std::bad_alloc; the bundled models (a few MB) stay one file.
 */
export const EXTERNAL_DATA_ABOVE = 2 ** 28;

/** Files copied as they are, when the checkpoint has them (what transformers.js's tokenizer and generation read). */
const COPY = ['generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja'];

export interface OnnxExportOptions {
  /** Initializers go to external data files when together larger than this (default EXTERNAL_DATA_ABOVE). */
  externalAbove?: number;
  /** Largest external data file (default 2 GiB - 1 MiB). */
  chunkBytes?: number;
  /**
   * MatMulNBits' accuracy_level: 0 (default) multiplies in the activations' f32, as the lab does; 4 lets the
   * WebGPU EP round the activations to int8 (its fast DP4A path, as many Hub exports ask for).
   */
  accuracyLevel?: 0 | 4;
}

export interface OnnxExport {
  files: ExportedFile[];
  /** transformers.js's dtype for the model file (q4, q8, q2 or fp32), and the file's path in the folder. */
  dtype: string;
  modelFile: string;
  notes: string[];
}

/** A model the ONNX export does not cover: says what is missing. Nothing is written. */
export class OnnxExportError extends QuantlabError {
  constructor(model: string, problem: string) {
    super(`${model}: cannot export to ONNX: ${problem}.`, 'Nothing was written.');
  }
}

/** The bit widths of a checkpoint's packed modules. */
const packedBits = (c: ModelConfig): number[] => (c.gptq ? [c.gptq.bits, ...c.gptq.dynamic.flatMap((r) => (r.skip || r.settings.bits === undefined ? [] : [r.settings.bits]))] : []);

/** The dtype and file transformers.js would load for this checkpoint. */
export function onnxModelFile(config: ModelConfig): { dtype: string; file: string } {
  const d = config.gptq ? DTYPE_OF_BITS[config.gptq.bits] : FLOAT_DTYPE;
  if (!d) throw new OnnxExportError(config.architecture, onnxExportProblem(config)!);
  return { dtype: d.dtype, file: `onnx/model${d.suffix}.onnx` };
}

/**
 * Why this model (with packed weights of the widths `bits`, by default its checkpoint's: the layers' and any
 * `dynamic` module's) cannot be exported to ONNX, naming what is missing; null when it can. Checked before
 * anything is written.
 */
export function onnxExportProblem(config: ModelConfig, bits = packedBits(config)): string | null {
  const bad = bits.find((b) => !ONNX_BITS.includes(b));
  if (bad !== undefined) {
    return `${bad}-bit weights: onnxruntime-web's WebGPU MatMulNBits takes ${ONNX_BITS.join(', ')} bits only (quantize to one of those to export for transformers.js)`;
  }
  if (config.headDim % 16 !== 0) return `head_dim ${config.headDim}: onnxruntime-web's WebGPU GroupQueryAttention takes head sizes that are multiples of 16`;
  if (config.rope.type === 'longrope' && config.maxPosition > config.rope.originalMaxPosition) {
    return `longrope switches its rotary tables past ${config.rope.originalMaxPosition} tokens, which the exported graph (one cos/sin table) does not do yet`;
  }
  return null;
}

/**
 * A model quantized in this session (its packed weights on the GPU) as the ONNX folder: through the GPTQModel
 * files the lab exports, read back as a checkpoint, so that both exports read the same numbers.
 */
export async function exportQuantizedOnnx(gpu: Gpu, source: Checkpoint, model: Transformer, opts: QuantizeOptions, onnxOpts: OnnxExportOptions = {}): Promise<OnnxExport> {
  const problem = onnxExportProblem(source.config, packedWidths(opts));
  if (problem) throw new OnnxExportError(source.id, problem);
  const files = await exportQuantized(gpu, source, model, opts);
  const gptq = await Checkpoint.open(blobFiles(`${source.id} (${opts.bits}-bit)`, new Map(files.map((f) => [f.name, new Blob([f.data as Uint8Array<ArrayBuffer>])]))));
  return exportOnnx(gptq, onnxOpts);
}

export async function exportOnnx(ckpt: Checkpoint, opts: OnnxExportOptions = {}): Promise<OnnxExport> {
  const c = ckpt.config, N = architecture(c.arch).names;
  const problem = onnxExportProblem(c);
  if (problem) throw new OnnxExportError(ckpt.id, problem);
  const { dtype, file } = onnxModelFile(c);
  const notes: string[] = [];
  const declared = Number(ckpt.rawConfig.max_position_embeddings);
  if (declared > c.maxPosition) notes.push(`rotary tables for ${c.maxPosition} positions (the context the lab runs ${c.architecture} at; max_position_embeddings says ${declared}): longer sequences are refused by the graph`);
  const g = new Graph();
  const d = c.hidden, hd = c.headDim, qd = c.heads * hd, kvd = c.kvHeads * hd;
  const eps = { f: c.rmsEps };

  // ---- inputs: tokens, the attention mask over past + new tokens, the cache, how many logits to return
  const B: Dim = 'batch_size', S: Dim = 'sequence_length', P: Dim = 'past_sequence_length', TOT: Dim = 'total_sequence_length';
  const inputIds = g.input('input_ids', 'int64', [B, S]);
  const mask = g.input('attention_mask', 'int64', [B, TOT]);
  const past = Array.from({ length: c.layers }, (_, l) => ({
    k: g.input(`past_key_values.${l}.key`, 'float32', [B, c.kvHeads, P, hd]),
    v: g.input(`past_key_values.${l}.value`, 'float32', [B, c.kvHeads, P, hd]),
  }));
  const keep = g.input('num_logits_to_keep', 'int64', []);

  // GroupQueryAttention's lengths: seqlens_k = tokens seen - 1 per sequence, total = the mask's length
  const seqlensK = g.op('Cast', [g.op('Sub', [g.op('ReduceSum', [mask, g.i64([1])], { keepdims: 0 }), g.i64([1], true)])], { to: 6 });
  const total = g.op('Cast', [g.op('Gather', [g.op('Shape', [mask]), g.i64([1], true)])], { to: 6 });
  const { cos, sin } = ropeTables(c.rope, hd, c.maxPosition);
  const cosCache = g.init('cos_cache', 'float32', [c.maxPosition, hd / 2], cos);
  const sinCache = g.init('sin_cache', 'float32', [c.maxPosition, hd / 2], sin);

  const embed = g.init(N.embed, 'float32', [c.vocab, d], await ckpt.f32(N.embed, [c.vocab, d]));
  const norm = async (name: string, n: number) => g.init(name, 'float32', [n], await ckpt.f32(name, [n]));
  const linear = linearEmitter(g, ckpt, notes, opts.accuracyLevel ?? 0);

  // ---- the layers: the residual stream is `residual`; each block's output is added in the next norm
  let x = g.op('Gather', [embed, inputIds]);
  let residual = x, pending: string | null = null;
  for (let l = 0; l < c.layers; l++) {
    const p = N.layerPrefix(l);
    const inNorm = await norm(p + N.inputNorm, d);
    let h: string;
    if (pending === null) h = g.op('SimplifiedLayerNormalization', [residual, inNorm], { axis: -1, epsilon: eps, stash_type: 1 });
    else [h, , , residual] = g.node('SkipSimplifiedLayerNormalization', [pending, residual, inNorm], 4, { epsilon: eps }, 'com.microsoft');
    let q = await linear(h, p + N.linear.q, qd, d, c.qkvBias);
    let k = await linear(h, p + N.linear.k, kvd, d, c.qkvBias);
    const v = await linear(h, p + N.linear.v, kvd, d, c.qkvBias);
    if (c.qkNorm) {
      // Qwen3: RMSNorm over each head's vector, before the rotary embedding
      const headNorm = async (t: string, heads: number, w: string) => {
        const r = g.op('Reshape', [t, g.i64([0, 0, heads, hd])]);
        const n = g.op('SimplifiedLayerNormalization', [r, await norm(w, hd)], { axis: -1, epsilon: eps, stash_type: 1 });
        return g.op('Reshape', [n, g.i64([0, 0, heads * hd])]);
      };
      q = await headNorm(q, c.heads, p + N.qNorm);
      k = await headNorm(k, c.kvHeads, p + N.kNorm);
    }
    const [attn] = g.node('GroupQueryAttention', [q, k, v, past[l].k, past[l].v, seqlensK, total, cosCache, sinCache],
      [`/layers.${l}/attn/out`, `present.${l}.key`, `present.${l}.value`],
      { num_heads: c.heads, kv_num_heads: c.kvHeads, do_rotary: 1, rotary_interleaved: 0, scale: { f: 1 / Math.sqrt(hd) } }, 'com.microsoft');
    g.output(`present.${l}.key`, 'float32', [B, c.kvHeads, TOT, hd]);
    g.output(`present.${l}.value`, 'float32', [B, c.kvHeads, TOT, hd]);
    const o = await linear(attn, p + N.linear.o, d, qd, c.oBias);
    const postNorm = await norm(p + N.postNorm, d);
    let h2: string;
    [h2, , , residual] = g.node('SkipSimplifiedLayerNormalization', [o, residual, postNorm], 4, { epsilon: eps }, 'com.microsoft');
    const gate = await linear(h2, p + N.linear.gate, c.intermediate, d, c.mlpBias);
    const up = await linear(h2, p + N.linear.up, c.intermediate, d, c.mlpBias);
    const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    pending = await linear(act, p + N.linear.down, d, c.intermediate, c.mlpBias);
  }
  const [final] = g.node('SkipSimplifiedLayerNormalization', [pending!, residual, await norm(N.finalNorm, d)], 1, { epsilon: eps }, 'com.microsoft');
  x = final;

  // ---- the last num_logits_to_keep positions (0: all), then the LM head (Gemm on the [vocab, hidden] matrix)
  const seq = g.op('Gather', [g.op('Shape', [x]), g.i64([1], true)]);
  const kept = g.op('Where', [g.op('Equal', [keep, g.i64([0], true)]), seq, keep]);
  const start = g.op('Unsqueeze', [g.op('Sub', [seq, kept]), g.i64([0])]);
  const last = g.op('Slice', [x, start, g.i64([2 ** 53]), g.i64([1])]);
  const rows = g.op('Reshape', [last, g.i64([-1, d])]);
  let flat: string;
  if (!c.tied && ckpt.has(`${N.lmHead}.qweight`)) {
    flat = await linear(rows, N.lmHead, c.vocab, d, false); // GPTQModel's quantized head: MatMulNBits as the layers
  } else {
    const head = !c.tied && ckpt.has(`${N.lmHead}.weight`) ? g.init(`${N.lmHead}.weight`, 'float32', [c.vocab, d], await ckpt.f32(`${N.lmHead}.weight`, [c.vocab, d])) : embed;
    flat = g.op('Gemm', [rows, head], { transB: 1 });
  }
  const outShape = g.op('Concat', [g.op('Shape', [inputIds], { start: 0, end: 1 }), g.i64([-1, c.vocab])], { axis: 0 });
  g.node('Reshape', [flat, outShape], ['logits']);
  g.output('logits', 'float32', [B, 'logits_length', c.vocab]);

  // ---- files
  const onnxName = file.slice('onnx/'.length);
  const q = c.gptq;
  const metadata: Record<string, string> = { quantizer: `quantlab ${LAB_VERSION}`, source: ckpt.id, architecture: c.architecture };
  if (q) Object.assign(metadata, { bits: String(q.bits), group_size: String(q.groupSize), desc_act: String(q.descAct), sym: String(q.sym) });
  const enc = g.encode({
    fileName: onnxName,
    externalAbove: opts.externalAbove ?? EXTERNAL_DATA_ABOVE,
    chunkBytes: opts.chunkBytes ?? 2 ** 31 - 2 ** 20,
    metadata,
    opsets: { '': 17, 'com.microsoft': 1 },
  });
  const tjs: Record<string, unknown> = { dtype };
  if (enc.data.length) tjs.use_external_data_format = { [onnxName]: enc.data.length };
  const { quantization_config: _drop, ...raw } = ckpt.rawConfig;
  const config = { ...raw, 'transformers.js_config': tjs };
  const json = (o: unknown) => new TextEncoder().encode(JSON.stringify(o, null, 2) + '\n');
  const files: ExportedFile[] = [
    { name: 'config.json', data: json(config) },
    { name: file, data: enc.model },
    ...enc.data.map((e) => ({ name: `onnx/${e.name}`, data: e.data })),
  ];
  for (const f of COPY) {
    if (!ckpt.files.has(f)) continue;
    const src = await ckpt.files.open(f);
    files.push({ name: f, data: await src.read(0, src.size) });
  }
  if (!ckpt.files.has('generation_config.json')) {
    files.push({ name: 'generation_config.json', data: json({ bos_token_id: c.bosTokenId ?? undefined, eos_token_id: c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : c.eosTokenIds }) });
  }
  if (!ckpt.files.has('tokenizer.json')) notes.push(`${ckpt.id} has no tokenizer.json: transformers.js needs one to tokenize text (the model itself runs on token ids)`);
  return { files, dtype, modelFile: file, notes: [...new Set(notes)] };
}

/**
 * Emits linear layers y = x W^T (+ b): MatMulNBits for GPTQ-packed weights (after a Gather of the input into
 * kernel order for act-order), MatMul on W^T for float ones. Returns the output's name.
 */
function linearEmitter(g: Graph, ckpt: Checkpoint, notes: string[], accuracyLevel: number) {
  const gptq = ckpt.config.gptq;
  return async (x: string, base: string, out: number, inn: number, bias: boolean): Promise<string> => {
    let y: string;
    const q = gptq && moduleGptq(gptq, ckpt.storedModule(base)); // the module's own settings where `dynamic` gives them (a fused module's for its parts)
    if (q && ckpt.has(`${base}.qweight`)) {
      const file = `${ckpt.id}: ${base}`;
      const G = q.groupSize === -1 ? inn : q.groupSize, nGroups = Math.ceil(inn / G);
      checkKernelShape(inn, q.groupSize, file);
      ckpt.expectShape(`${base}.qweight`, [qweightWords(inn, q.bits), out]);
      ckpt.expectShape(`${base}.qzeros`, [nGroups, zeroWords(out, q.bits)]);
      ckpt.expectShape(`${base}.scales`, [nGroups, out]);
      const u32 = async (name: string) => {
        const a = (await ckpt.raw(name)) as Int32Array | Uint32Array;
        return new Uint32Array(a.buffer, a.byteOffset, a.length);
      };
      const qzeros = await u32(`${base}.qzeros`);
      const st = ckpt.info(`${base}.scales`);
      const scales = st.dtype === 'F16' ? new Uint16Array((await ckpt.bytes(`${base}.scales`)).slice().buffer) : Uint16Array.from(await ckpt.f32(`${base}.scales`), (v) => f32ToF16(v));
      const dialect = detectZeroFormat(unpackBits(qzeros.subarray(0, zeroWords(out, q.bits)), q.bits, out), q.bits, q.sym, q.checkpointFormat);
      if (dialect.note) notes.push(dialect.note);
      let gIdx: Uint32Array | null = null;
      if (ckpt.has(`${base}.g_idx`)) {
        ckpt.expectShape(`${base}.g_idx`, [inn]);
        gIdx = Uint32Array.from((await ckpt.raw(`${base}.g_idx`)) as Int32Array);
      }
      const w = toMatMulNBits({ rows: out, cols: inn, bits: q.bits, groupSize: q.groupSize, format: dialect.format, qweight: await u32(`${base}.qweight`), qzeros, scales, gIdx }, file);
      const nBlocks = Math.ceil(inn / w.blockSize);
      const inputs = [
        w.order ? g.op('Gather', [x, g.init(`${base}.input_order`, 'int64', [inn], BigInt64Array.from(w.order, BigInt))], { axis: -1 }) : x,
        g.init(`${base}.qweight_nbits`, 'uint8', [out, nBlocks, (w.blockSize * w.bits) / 8], w.B),
        g.init(`${base}.scales_nbits`, 'float32', [out * nBlocks], w.scales),
      ];
      if (w.zeroPoints) inputs.push(g.init(`${base}.zero_points_nbits`, 'uint8', [w.zeroPoints.length], w.zeroPoints));
      y = g.op('MatMulNBits', inputs, { K: inn, N: out, bits: w.bits, block_size: w.blockSize, accuracy_level: accuracyLevel }, 'com.microsoft');
    } else {
      const wt = await ckpt.f32(`${base}.weight`, [out, inn]);
      const t = new Float32Array(inn * out);
      for (let n = 0; n < out; n++) for (let k = 0; k < inn; k++) t[k * out + n] = wt[n * inn + k];
      y = g.op('MatMul', [x, g.init(`${base}.weight_t`, 'float32', [inn, out], t)]);
    }
    if (bias) y = g.op('Add', [y, g.init(`${base}.bias`, 'float32', [out], await ckpt.f32(`${base}.bias`, [out]))]);
    return y;
  };
}
