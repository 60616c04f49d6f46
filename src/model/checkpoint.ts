// A Hugging Face checkpoint folder: config.json, model.safetensors (or shards + model.safetensors.index.json),
// tokenizer files. Opens and validates every header up front, and every tensor config.json implies against the
// shape it implies, so a broken or mismatched file fails before any GPU work. Tensors an architecture stores fused
// (Phi-3's qkv_proj, gate_up_proj) are presented under the per-linear names as views of the stored tensor, so that
// every reader (the loaders, the GPTQ loader, the ONNX export) sees one layout.

import { architecture, fusedLayout, hasBias, LINEAR_NAMES, linearDims } from './architectures';
import { type ModelConfig, moduleGptq, nonEmbeddingParams, parseConfig, parseGptqConfig } from './config';
import { CheckpointError } from './errors';
import { qweightWords, zeroWords } from './formats';
import { decodeTensor, DTYPE_BYTES, SafetensorsFile, type TensorInfo } from './safetensors';
import { type ModelFiles, readText } from './source';

/** A tensor presented under a per-linear name: a part of a fused stored tensor. */
interface TensorView {
  info: TensorInfo;
  /** The stored tensor it is cut from. */
  stored: string;
  read(): Promise<Uint8Array>;
  /** A byte range without reading the rest (row slices). */
  range?(offset: number, length: number): Promise<Uint8Array>;
}

/** The suffixes of a linear layer's tensors, float or GPTQ. */
const LINEAR_TENSORS = ['weight', 'bias', 'qweight', 'qzeros', 'scales', 'g_idx'];

export class Checkpoint {
  private constructor(
    readonly files: ModelFiles,
    readonly config: ModelConfig,
    readonly rawConfig: Record<string, unknown>,
    private readonly shards: Map<string, SafetensorsFile>,
    private readonly where: Map<string, string>,
  ) {}

  private readonly views = new Map<string, TensorView>();
  /** Per-linear names of fused architectures -> the stored tensor they are part of (for messages). */
  private readonly storedAs = new Map<string, string>();

  static async open(files: ModelFiles): Promise<Checkpoint> {
    if (!files.has('config.json')) {
      throw new CheckpointError(files.id, 'has no config.json', 'Pick the folder that holds config.json and model.safetensors (the Hugging Face layout).');
    }
    const rawConfig = parseJson(await readText(files, 'config.json'), `${files.id}/config.json`) as Record<string, unknown>;
    const config = parseConfig(rawConfig, `${files.id}/config.json`);
    // GPTQModel / AutoGPTQ may keep the quantisation settings in quantize_config.json instead.
    if (!config.gptq && files.has('quantize_config.json')) {
      const q = parseJson(await readText(files, 'quantize_config.json'), `${files.id}/quantize_config.json`) as Record<string, unknown>;
      config.gptq = parseGptqConfig(q, `${files.id}/quantize_config.json`);
    }
    let shardNames: string[];
    let weightMap: Record<string, string> | null = null;
    if (files.has('model.safetensors.index.json')) {
      const idx = parseJson(await readText(files, 'model.safetensors.index.json'), `${files.id}/model.safetensors.index.json`) as { weight_map?: unknown };
      if (typeof idx.weight_map !== 'object' || idx.weight_map === null) {
        throw new CheckpointError(`${files.id}/model.safetensors.index.json`, 'has no weight_map object');
      }
      weightMap = idx.weight_map as Record<string, string>;
      shardNames = [...new Set(Object.values(weightMap))].sort();
    } else if (files.has('model.safetensors')) {
      shardNames = ['model.safetensors'];
    } else {
      const bins = files.list().filter((f) => f.endsWith('.bin') || f.endsWith('.pth') || f.endsWith('.gguf'));
      throw new CheckpointError(
        files.id,
        bins.length ? `holds ${bins.join(', ')} but no safetensors weights` : 'has no model.safetensors',
        bins.some((b) => b.endsWith('.bin'))
          ? 'Convert it to safetensors first (llama2.c checkpoints: `python3 tools/convert/llama2c_to_hf.py`; PyTorch .bin: save_pretrained(safe_serialization=True)).'
          : 'Provide the weights as model.safetensors (or shards with model.safetensors.index.json).',
      );
    }
    const shards = new Map<string, SafetensorsFile>();
    const where = new Map<string, string>();
    for (const name of shardNames) {
      if (!files.has(name)) {
        const listed = Object.entries(weightMap ?? {}).filter(([, f]) => f === name).map(([t]) => t);
        throw new CheckpointError(
          files.id,
          `is missing ${name}, which model.safetensors.index.json names for ${listed.length} tensor(s) (${listed[0]}${listed.length > 1 ? ', ...' : ''})`,
          `Download ${name} from the model's repository into this folder (or fix the index); nothing was loaded.`,
        );
      }
      const st = await SafetensorsFile.open(await files.open(name));
      shards.set(name, st);
      for (const t of st.names) {
        if (where.has(t)) throw new CheckpointError(`${files.id}/${name}`, `tensor "${t}" is also in ${where.get(t)}`);
        where.set(t, name);
      }
    }
    if (weightMap) {
      for (const [t, f] of Object.entries(weightMap)) {
        if (where.get(t) !== f) throw new CheckpointError(`${files.id}/${f}`, `has no tensor "${t}" although the index puts it there`);
      }
    }
    const ckpt = new Checkpoint(files, config, rawConfig, shards, where);
    ckpt.splitFused();
    ckpt.checkTensors();
    return ckpt;
  }

  /**
   * Every tensor config.json implies is present with the shape it implies (GPTQ layers: their packed tensors);
   * the first that is not is named. Tensors the forward pass does not read are not checked.
   */
  private checkTensors(): void {
    const c = this.config, N = architecture(c.arch).names;
    const missing = (name: string) =>
      new CheckpointError(
        this.files.id,
        `has no tensor "${this.storedAs.get(name) ?? name}", which config.json (${c.architecture}, ${c.layers} layers) requires`,
        'The weights and config.json do not belong together, or a shard is missing: re-download the checkpoint; nothing was loaded.',
      );
    const expect = (name: string, shape: number[], optional = false) => {
      if (this.has(name)) this.expectShape(name, shape);
      else if (!optional) throw missing(name);
    };
    /** A linear layer: its packed tensors where it is stored GPTQ-packed (at its own `dynamic` settings), else its weight. */
    const expectLinear = (base: string, out: number, inn: number, bias: boolean, optional = false) => {
      const q = c.gptq && moduleGptq(c.gptq, this.storedModule(base));
      if (q && this.has(`${base}.qweight`)) {
        const G = q.groupSize === -1 ? inn : q.groupSize, nGroups = Math.ceil(inn / G);
        expect(`${base}.qweight`, [qweightWords(inn, q.bits), out]);
        expect(`${base}.scales`, [nGroups, out]);
        if (!this.has(`${base}.qzeros`)) throw missing(`${base}.qzeros`);
        const z = this.info(`${base}.qzeros`).shape;
        // GPTQ writers pad qzeros' columns differently: at least the packed zeros of every output
        if (z.length !== 2 || z[0] !== nGroups || z[1] * 32 < out * q.bits) this.expectShape(`${base}.qzeros`, [nGroups, zeroWords(out, q.bits)]);
        expect(`${base}.g_idx`, [inn], true);
        expect(`${base}.bias`, [out], true);
      } else {
        expect(`${base}.weight`, [out, inn], optional);
        expect(`${base}.bias`, [out], !bias);
      }
    };
    const d = c.hidden;
    const dims = linearDims(c);
    const biases = { qkv: c.qkvBias, o: c.oBias, mlp: c.mlpBias };
    expect(N.embed, [c.vocab, d]);
    expect(N.finalNorm, [d]);
    // absent: the embedding serves (as transformers ties it)
    if (!c.tied) expectLinear(N.lmHead, c.vocab, d, false, true);
    for (let l = 0; l < c.layers; l++) {
      const p = N.layerPrefix(l);
      expect(p + N.inputNorm, [d]);
      expect(p + N.postNorm, [d]);
      if (c.qkNorm) (expect(p + N.qNorm, [c.headDim]), expect(p + N.kNorm, [c.headDim]));
      for (const n of LINEAR_NAMES) expectLinear(p + N.linear[n], ...dims[n], hasBias(biases, n));
    }
  }

  /**
   * Views of each fused stored tensor under its parts' names: the rows of a float weight (or a bias), the
   * output columns of GPTQ's qweight and scales, the output bits of qzeros; g_idx is the parts' shared one.
   */
  private splitFused(): void {
    const c = this.config, a = architecture(c.arch);
    if (!a.fused.length) return;
    const dims = linearDims(c);
    for (let l = 0; l < c.layers; l++) {
      const p = a.names.layerPrefix(l);
      for (const f of a.fused) {
        const F = p + f.name, layout = fusedLayout(f, dims), total = layout.reduce((s, x) => s + x.rows, 0);
        const inn = dims[f.parts[0]][1];
        for (const { part } of layout) for (const sfx of LINEAR_TENSORS) this.storedAs.set(`${p}${a.names.linear[part]}.${sfx}`, `${F}.${sfx}`);
        const stored = (sfx: string) => (this.where.has(`${F}.${sfx}`) ? this.info(`${F}.${sfx}`) : null);
        const w = stored('weight'), b = stored('bias'), qw = stored('qweight'), sc = stored('scales'), qz = stored('qzeros'), gi = stored('g_idx');
        if (w) this.expectShape(w.name, [total, inn]);
        if (b) this.expectShape(b.name, [total]);
        for (const t of [qw, sc]) if (t && (t.shape.length !== 2 || t.shape[1] !== total)) this.expectShape(t.name, [t.shape[0], total]);
        // the fused module's own bits where GPTQModel's `dynamic` gives it some (null: left float)
        const bits = c.gptq ? moduleGptq(c.gptq, F)?.bits : undefined;
        if (qz && (!bits || qz.shape.length !== 2 || qz.shape[1] * 32 < total * bits)) {
          this.expectShape(qz.name, [qz.shape[0], zeroWords(total, bits ?? 32)]);
        }
        for (const { part, start, rows } of layout) {
          const P = p + a.names.linear[part];
          const view = (sfx: string, t: TensorInfo, shape: number[], read: () => Promise<Uint8Array>, range?: TensorView['range']) => {
            const size = shape.reduce((x, y) => x * y, 1) * DTYPE_BYTES[t.dtype];
            this.views.set(`${P}.${sfx}`, { info: { name: `${P}.${sfx}`, dtype: t.dtype, shape, begin: 0, end: size }, stored: t.name, read, range });
          };
          for (const t of [w, b]) {
            if (!t) continue;
            const rowBytes = (t.shape[1] ?? 1) * DTYPE_BYTES[t.dtype];
            const range = (offset: number, length: number) => this.bytesRange(t.name, start * rowBytes + offset, length);
            view(t === w ? 'weight' : 'bias', t, t === w ? [rows, inn] : [rows], () => range(0, rows * rowBytes), range);
          }
          for (const t of [qw, sc]) {
            if (!t) continue;
            const e = DTYPE_BYTES[t.dtype];
            view(t === qw ? 'qweight' : 'scales', t, [t.shape[0], rows], async () => sliceColumns(await this.bytes(t.name), t.shape[0], total * e, start * e, rows * e));
          }
          if (qz && bits) {
            const words = zeroWords(rows, bits);
            view('qzeros', qz, [qz.shape[0], words], async () => sliceBits(await this.bytes(qz.name), qz.shape[0], qz.shape[1], start * bits, rows * bits, words));
          }
          if (gi) view('g_idx', gi, gi.shape, () => this.bytes(gi.name));
        }
      }
    }
  }

  get id(): string {
    return this.files.id;
  }

  tensorNames(): string[] {
    return [...this.where.keys()].sort();
  }

  /**
   * The module a linear layer is stored as: its own name, or the fused module that holds it (Phi-3's
   * self_attn.qkv_proj for q_proj): what GPTQModel's per-module settings (`dynamic`) name.
   */
  storedModule(base: string): string {
    // a part presented from a fused tensor (a Phi-3 stored unfused keeps its own names)
    const view = this.views.get(`${base}.qweight`) ?? this.views.get(`${base}.weight`);
    return view ? view.stored.slice(0, view.stored.lastIndexOf('.')) : base;
  }

  /** Whether the tensor is stored, or is a part of a stored fused tensor. */
  has(name: string): boolean {
    return this.where.has(name) || this.views.has(name);
  }

  private shard(name: string): SafetensorsFile {
    const f = this.where.get(name);
    if (!f) throw new CheckpointError(this.files.id, `has no tensor "${name}", which config.json (${this.config.architecture}, ${this.config.layers} layers) requires`);
    return this.shards.get(f)!;
  }

  info(name: string): TensorInfo {
    return this.views.get(name)?.info ?? this.shard(name).info(name);
  }

  /** A float tensor as f32, with its shape checked against what the config implies. */
  async f32(name: string, shape?: number[]): Promise<Float32Array> {
    if (shape) this.expectShape(name, shape);
    const v = this.views.get(name);
    if (!v) return this.shard(name).f32(name);
    if (!['F32', 'F16', 'BF16', 'F64'].includes(v.info.dtype)) throw new CheckpointError(this.files.id, `tensor "${v.stored}" is ${v.info.dtype}, expected a float dtype`);
    return decodeTensor(v.info.dtype, await v.read()) as Float32Array;
  }

  /** The tensor decoded to its natural typed array (floats become f32). */
  async raw(name: string) {
    const v = this.views.get(name);
    return v ? decodeTensor(v.info.dtype, await v.read()) : this.shard(name).decoded(name);
  }

  /** The tensor's stored bytes, untouched (a part of a fused tensor: its part, in the stored encoding). */
  async bytes(name: string): Promise<Uint8Array> {
    const v = this.views.get(name);
    return v ? v.read() : this.shard(name).bytes(name);
  }

  /** A byte range of the tensor's stored data. */
  async bytesRange(name: string, offset: number, length: number): Promise<Uint8Array> {
    const v = this.views.get(name);
    if (!v) return this.shard(name).bytesRange(name, offset, length);
    if (offset < 0 || offset + length > v.info.end) throw new RangeError(`${this.files.id}: bytes ${offset}..${offset + length} are outside tensor "${name}"`);
    return v.range ? v.range(offset, length) : (await v.read()).slice(offset, offset + length);
  }

  expectShape(name: string, shape: number[]): void {
    const got = this.info(name).shape;
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(
        `${this.files.id}/${this.where.get(this.views.get(name)?.stored ?? name)}`,
        `tensor "${name}" has shape [${got}] but config.json implies [${shape}]`,
        'The weights do not belong to this config.json: re-download the checkpoint.',
      );
    }
  }

  /** N counted from the stored float tensors: all but the embedding and the LM head (float checkpoints). */
  nonEmbeddingFromTensors(): number {
    let n = 0;
    for (const t of this.where.keys()) {
      if (t.includes('embed_tokens') || t.startsWith('lm_head')) continue;
      n += this.info(t).shape.reduce((a, b) => a * b, 1);
    }
    return n;
  }

  get nonEmbeddingParams(): number {
    return nonEmbeddingParams(this.config);
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(file, `is not valid JSON (${(e as Error).message})`);
  }
}

/** Columns [start, start + width) (in bytes) of each of `rows` rows of `rowBytes` bytes. */
function sliceColumns(bytes: Uint8Array, rows: number, rowBytes: number, start: number, width: number): Uint8Array {
  const out = new Uint8Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(bytes.subarray(r * rowBytes + start, r * rowBytes + start + width), r * width);
  return out;
}

/**
 * Bits [start, start + count) of each of `rows` rows of `rowWords` little-endian 32-bit words (GPTQ's packed
 * zeros: output j's bits at j * bits of its group's row), packed from bit 0 into rows of `outWords` words.
 */
function sliceBits(bytes: Uint8Array, rows: number, rowWords: number, start: number, count: number, outWords: number): Uint8Array {
  const src = new Uint32Array(bytes.slice().buffer), out = new Uint32Array(rows * outWords);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < count; i++) {
      const b = start + i, bit = (src[r * rowWords + (b >>> 5)] >>> (b & 31)) & 1;
      out[r * outWords + (i >>> 5)] |= bit << (i & 31);
    }
  }
  return new Uint8Array(out.buffer);
}
