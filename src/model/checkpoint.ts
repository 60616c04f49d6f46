// A Hugging Face checkpoint folder: config.json, model.safetensors (or shards + model.safetensors.index.json),
// tokenizer files. Opens and validates every header up front, and every tensor config.json implies against the
// shape it implies, so a broken or mismatched file fails before any GPU work.

import { type ModelConfig, nonEmbeddingParams, parseConfig, parseGptqConfig } from './config';
import { CheckpointError } from './errors';
import { SafetensorsFile, type TensorInfo } from './safetensors';
import { type ModelFiles, readText } from './source';
import { HF_LINEAR, LINEAR_NAMES, type LinearName } from './transformer';

export class Checkpoint {
  private constructor(
    readonly files: ModelFiles,
    readonly config: ModelConfig,
    readonly rawConfig: Record<string, unknown>,
    private readonly shards: Map<string, SafetensorsFile>,
    private readonly where: Map<string, string>,
  ) {}

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
    ckpt.checkTensors();
    return ckpt;
  }

  /**
   * Every tensor config.json implies is present with the shape it implies (GPTQ layers: their packed tensors);
   * the first that is not is named. Tensors the forward pass does not read are not checked.
   */
  private checkTensors(): void {
    const c = this.config;
    const missing = (name: string) =>
      new CheckpointError(
        this.files.id,
        `has no tensor "${name}", which config.json (${c.architecture}, ${c.layers} layers) requires`,
        'The weights and config.json do not belong together, or a shard is missing: re-download the checkpoint; nothing was loaded.',
      );
    const expect = (name: string, shape: number[], optional = false) => {
      if (this.has(name)) this.expectShape(name, shape);
      else if (!optional) throw missing(name);
    };
    const d = c.hidden, qd = c.heads * c.headDim, kvd = c.kvHeads * c.headDim, I = c.intermediate;
    const dims: Record<LinearName, [number, number]> = { q: [qd, d], k: [kvd, d], v: [kvd, d], o: [d, qd], gate: [I, d], up: [I, d], down: [d, I] };
    const bias: Record<LinearName, boolean> = { q: c.qkvBias, k: c.qkvBias, v: c.qkvBias, o: c.oBias, gate: c.mlpBias, up: c.mlpBias, down: c.mlpBias };
    expect('model.embed_tokens.weight', [c.vocab, d]);
    expect('model.norm.weight', [d]);
    if (!c.tied) expect('lm_head.weight', [c.vocab, d], true); // absent: the embedding serves (as transformers ties it)
    for (let l = 0; l < c.layers; l++) {
      const p = `model.layers.${l}.`;
      expect(`${p}input_layernorm.weight`, [d]);
      expect(`${p}post_attention_layernorm.weight`, [d]);
      if (c.qkNorm) (expect(`${p}self_attn.q_norm.weight`, [c.headDim]), expect(`${p}self_attn.k_norm.weight`, [c.headDim]));
      for (const n of LINEAR_NAMES) {
        const base = p + HF_LINEAR[n], [out, inn] = dims[n];
        if (c.gptq && this.has(`${base}.qweight`)) {
          const G = c.gptq.groupSize === -1 ? inn : c.gptq.groupSize, nGroups = Math.ceil(inn / G);
          expect(`${base}.qweight`, [Math.ceil((inn * c.gptq.bits) / 32), out]);
          expect(`${base}.scales`, [nGroups, out]);
          if (!this.has(`${base}.qzeros`)) throw missing(`${base}.qzeros`);
          const z = this.info(`${base}.qzeros`).shape;
          // GPTQ writers pad qzeros' columns differently: at least the packed zeros of every output
          if (z.length !== 2 || z[0] !== nGroups || z[1] * 32 < out * c.gptq.bits) this.expectShape(`${base}.qzeros`, [nGroups, Math.ceil((out * c.gptq.bits) / 32)]);
          expect(`${base}.g_idx`, [inn], true);
          expect(`${base}.bias`, [out], true);
        } else {
          expect(`${base}.weight`, [out, inn]);
          expect(`${base}.bias`, [out], !bias[n]);
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

  has(name: string): boolean {
    return this.where.has(name);
  }

  private shard(name: string): SafetensorsFile {
    const f = this.where.get(name);
    if (!f) throw new CheckpointError(this.files.id, `has no tensor "${name}", which config.json (${this.config.architecture}, ${this.config.layers} layers) requires`);
    return this.shards.get(f)!;
  }

  info(name: string): TensorInfo {
    return this.shard(name).info(name);
  }

  /** A float tensor as f32, with its shape checked against what the config implies. */
  async f32(name: string, shape?: number[]): Promise<Float32Array> {
    if (shape) this.expectShape(name, shape);
    return this.shard(name).f32(name);
  }

  /** The tensor decoded to its natural typed array (floats become f32). */
  async raw(name: string) {
    return this.shard(name).decoded(name);
  }

  /** The tensor's stored bytes, untouched. */
  async bytes(name: string): Promise<Uint8Array> {
    return this.shard(name).bytes(name);
  }

  /** A byte range of the tensor's stored data. */
  async bytesRange(name: string, offset: number, length: number): Promise<Uint8Array> {
    return this.shard(name).bytesRange(name, offset, length);
  }

  expectShape(name: string, shape: number[]): void {
    const got = this.info(name).shape;
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(
        `${this.files.id}/${this.where.get(name)}`,
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
