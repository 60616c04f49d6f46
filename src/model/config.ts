// A Hugging Face config.json, checked and reduced to what the forward pass needs. Configuration is data: what
// differs between architectures (names, biases, q/k norms, fused tensors, rope variants, context) is read from
// their entries in src/model/architectures.ts.

import { type Arch, architecture, findArchitecture } from './architectures';
import { CheckpointError, UnsupportedModelError } from './errors';
import { parseRope, type RopeConfig } from './rope';

export type { Arch } from './architectures';
export type { RopeConfig } from './rope';

export interface GptqConfig {
  bits: number;
  groupSize: number; // -1: per output channel
  descAct: boolean;
  sym: boolean;
  checkpointFormat: string; // "gptq" (v1 zeros stored minus one) or "gptq_v2"
  staticGroups: boolean;
  dampPercent?: number;
  /** The LM head is quantized too (GPTQModel's lm_head): lm_head.qweight etc., its settings from `dynamic` where given. */
  lmHead: boolean;
  /** GPTQModel's per-module overrides (quantization_config.dynamic), in their order: the first match applies. */
  dynamic: GptqOverride[];
}

/**
 * One entry of GPTQModel's `dynamic`: modules whose name matches `pattern` (anchored at the start, as Python's
 * re.match) are left float ("-:" keys) or quantized with these settings in place of the model's.
 */
export interface GptqOverride {
  /** The key as written ("-:..." / "+:..." / bare). */
  key: string;
  pattern: RegExp;
  skip: boolean;
  settings: Partial<Pick<GptqConfig, 'bits' | 'groupSize' | 'sym' | 'descAct'>>;
}

export interface ModelConfig {
  arch: Arch;
  architecture: string;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  /** The longest sequence the lab runs: max_position_embeddings, or less where the architecture bounds it. */
  maxPosition: number;
  rmsEps: number;
  rope: RopeConfig;
  tied: boolean;
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
  qkNorm: boolean;
  bosTokenId: number | null;
  eosTokenIds: number[];
  gptq: GptqConfig | null;
}

export function parseConfig(raw: unknown, file = 'config.json'): ModelConfig {
  if (typeof raw !== 'object' || raw === null) throw new CheckpointError(file, 'is not a JSON object');
  const c = raw as Record<string, unknown>;
  const archName = Array.isArray(c.architectures) ? String(c.architectures[0]) : '';
  const arch = findArchitecture(c);
  if (!arch) {
    throw new UnsupportedModelError(
      `${file} describes ${archName || `model_type "${String(c.model_type)}"`}, an architecture quantlab does not run.`,
    );
  }
  const entry = architecture(arch);
  const int = (k: string, dflt?: number): number => {
    const v = c[k] ?? dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new CheckpointError(file, `"${k}" must be a positive integer (got ${JSON.stringify(v)})`);
    return v;
  };
  const num = (k: string, dflt: number): number => {
    const v = c[k] ?? dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new CheckpointError(file, `"${k}" must be a positive number (got ${JSON.stringify(v)})`);
    return v;
  };
  const hidden = int('hidden_size');
  const heads = int('num_attention_heads');
  const kvHeads = int('num_key_value_heads', heads);
  const headDim = int('head_dim', hidden / heads);
  if (heads % kvHeads !== 0) throw new CheckpointError(file, `num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  if (c.hidden_act !== undefined && c.hidden_act !== 'silu') throw new UnsupportedModelError(`${file}: hidden_act "${String(c.hidden_act)}" is not supported (only silu).`);
  if (c.partial_rotary_factor !== undefined && c.partial_rotary_factor !== 1) throw new UnsupportedModelError(`${file}: partial rotary embeddings are not supported.`);

  const positions = int('max_position_embeddings', 2048);
  const context = entry.context(c, positions);
  if (typeof context === 'string') throw new UnsupportedModelError(`${file}: ${context}.`);
  const rope = parseRope(c, headDim, positions, entry.ropeTypes, file, (problem) => new UnsupportedModelError(problem));

  const eos = c.eos_token_id;
  const eosTokenIds = Array.isArray(eos) ? eos.map(Number) : typeof eos === 'number' ? [eos] : [];
  const bos = typeof c.bos_token_id === 'number' ? c.bos_token_id : null;
  const biases = entry.biases(c);
  const q = c.quantization_config as Record<string, unknown> | undefined;
  let gptq: GptqConfig | null = null;
  if (q) {
    if (String(q.quant_method ?? 'gptq') !== 'gptq') throw new UnsupportedModelError(`${file}: quant_method "${String(q.quant_method)}" is not supported (only gptq).`);
    gptq = parseGptqConfig(q, file);
  }
  return {
    arch,
    architecture: archName || arch,
    hidden,
    intermediate: int('intermediate_size'),
    layers: int('num_hidden_layers'),
    heads,
    kvHeads,
    headDim,
    vocab: int('vocab_size'),
    maxPosition: context,
    rmsEps: num('rms_norm_eps', 1e-6),
    rope,
    tied: c.tie_word_embeddings === true,
    qkvBias: biases.qkv,
    oBias: biases.o,
    mlpBias: biases.mlp,
    qkNorm: entry.qkNorm,
    bosTokenId: bos,
    eosTokenIds,
    gptq,
  };
}

// The bit widths the lab quantizes to, packs and runs: one per packed format (the registry in formats.ts).
import { BIT_WIDTHS } from './formats';
export { BIT_WIDTHS };

export function parseGptqConfig(q: Record<string, unknown>, file = 'quantize_config.json'): GptqConfig {
  return {
    bits: parseBits(q.bits, file),
    groupSize: parseGroupSize(q.group_size ?? -1, file),
    descAct: q.desc_act === true,
    sym: q.sym !== false,
    checkpointFormat: String(q.checkpoint_format ?? 'gptq'),
    staticGroups: q.static_groups === true,
    dampPercent: typeof q.damp_percent === 'number' ? q.damp_percent : undefined,
    lmHead: q.lm_head === true,
    dynamic: parseDynamic(q.dynamic, file),
  };
}

function parseBits(v: unknown, file: string): number {
  const bits = Number(v);
  if (!BIT_WIDTHS.includes(bits)) throw new UnsupportedModelError(`${file}: GPTQ bits ${String(v)} not supported (${BIT_WIDTHS.join(', ')} are).`);
  return bits;
}

function parseGroupSize(v: unknown, file: string): number {
  const g = Number(v);
  if (!(g === -1 || (Number.isInteger(g) && g > 0))) throw new CheckpointError(file, `group_size ${String(v)} is invalid`);
  return g;
}

function parseDynamic(d: unknown, file: string): GptqOverride[] {
  if (d === undefined || d === null) return [];
  if (typeof d !== 'object' || Array.isArray(d)) throw new CheckpointError(file, '"dynamic" must map module-name patterns to settings');
  return Object.entries(d as Record<string, unknown>).map(([key, v]) => {
    const skip = key.startsWith('-:');
    const raw = key.startsWith('-:') || key.startsWith('+:') ? key.slice(2) : key;
    let pattern: RegExp;
    try {
      pattern = new RegExp(`^(?:${raw})`);
    } catch {
      throw new CheckpointError(file, `"dynamic" key ${JSON.stringify(key)} is not a regular expression this lab can read`);
    }
    const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
    const settings: GptqOverride['settings'] = {};
    if (o.bits !== undefined) settings.bits = parseBits(o.bits, `${file} (dynamic ${key})`);
    if (o.group_size !== undefined) settings.groupSize = parseGroupSize(o.group_size, `${file} (dynamic ${key})`);
    if (o.sym !== undefined) settings.sym = o.sym !== false;
    if (o.desc_act !== undefined) settings.descAct = o.desc_act === true;
    return { key, pattern, skip, settings };
  });
}

/** The GPTQ settings of one module (e.g. "lm_head", "model.layers.3.mlp.down_proj"): null where `dynamic` leaves it float. */
export function moduleGptq(cfg: GptqConfig, module: string): GptqConfig | null {
  const rule = cfg.dynamic.find((r) => r.pattern.test(module));
  if (!rule) return cfg;
  return rule.skip ? null : { ...cfg, ...rule.settings };
}

/** Parameters of one decoder layer, as the study counts them (weights, biases, norms). */
function layerParams(c: ModelConfig): number {
  const d = c.hidden, q = c.heads * c.headDim, kv = c.kvHeads * c.headDim;
  let n = d * q + 2 * d * kv + q * d; // q, k, v, o
  if (c.qkvBias) n += q + 2 * kv;
  if (c.oBias) n += d;
  if (c.qkNorm) n += 2 * c.headDim;
  n += 3 * d * c.intermediate;
  if (c.mlpBias) n += 2 * c.intermediate + d;
  return n + 2 * d; // input and post-attention RMSNorm
}

/** N of the scaling law: every parameter but the token embedding and the LM head. From the config alone. */
export function nonEmbeddingParams(c: ModelConfig): number {
  return c.layers * layerParams(c) + c.hidden;
}

export function totalParams(c: ModelConfig): number {
  return nonEmbeddingParams(c) + c.vocab * c.hidden * (c.tied ? 1 : 2);
}
