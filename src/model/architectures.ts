// The decoder architectures the lab runs, one entry each: how config.json names it and spells its options,
// the names of its tensors, the tensors it stores fused (split into the lab's per-linear names when a checkpoint
// is opened, re-fused when a quantized model is exported), the rope variants its class accepts and what bounds
// its context. Everything else (config.ts, checkpoint.ts, transformer.ts, synthetic.ts, quant/load.ts,
// quant/export.ts, quant/onnx/) reads the entry: adding an architecture is adding an entry (docs/architecture.md).

/** The lab's linear layers of a decoder block. */
export type LinearName = 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down';
export const LINEAR_NAMES: LinearName[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];

/** Tensor names of a Hugging Face decoder checkpoint; layer names follow `model.layers.N.`. */
export interface TensorNames {
  embed: string;
  finalNorm: string;
  /** The LM head's module (its tensor: `${lmHead}.weight`; quantized: `.qweight` etc.), as GPTQModel names it too. */
  lmHead: string;
  layerPrefix(l: number): string;
  inputNorm: string;
  postNorm: string;
  qNorm: string;
  kNorm: string;
  /** Each linear layer's module, as a split checkpoint stores it (a fused one is presented under these names). */
  linear: Record<LinearName, string>;
}

/** The naming of Llama's modeling file, which Qwen2, Qwen3 and Phi-3 share (Phi-3 apart from its fused tensors). */
export const LLAMA_NAMES: TensorNames = {
  embed: 'model.embed_tokens.weight',
  finalNorm: 'model.norm.weight',
  lmHead: 'lm_head',
  layerPrefix: (l) => `model.layers.${l}.`,
  inputNorm: 'input_layernorm.weight',
  postNorm: 'post_attention_layernorm.weight',
  qNorm: 'self_attn.q_norm.weight',
  kNorm: 'self_attn.k_norm.weight',
  linear: {
    q: 'self_attn.q_proj', k: 'self_attn.k_proj', v: 'self_attn.v_proj', o: 'self_attn.o_proj',
    gate: 'mlp.gate_proj', up: 'mlp.up_proj', down: 'mlp.down_proj',
  },
};

/** The module names of the linear layers (for display: the same for every architecture the lab runs). */
export const HF_LINEAR: Record<LinearName, string> = LLAMA_NAMES.linear;

/** One stored tensor holding several linear layers' outputs stacked (rows of the weight, in `parts` order). */
export interface FusedTensor {
  /** Module name in the layer, e.g. "self_attn.qkv_proj". */
  name: string;
  parts: LinearName[];
}

export type Biases = { qkv: boolean; o: boolean; mlp: boolean };

export interface Architecture {
  id: string;
  /** The config's `architectures[0]`. */
  className: string;
  /** The config's `model_type`. */
  modelType: string;
  /** Published checkpoints of this architecture, for messages. */
  examples: string[];
  names: TensorNames;
  /** Which linear layers carry biases, from config.json. */
  biases(raw: Record<string, unknown>): Biases;
  /** RMSNorm of each head's q and k before the rope (Qwen3). */
  qkNorm: boolean;
  fused: FusedTensor[];
  /** Rope types of config.json this class accepts (src/model/rope.ts implements them). */
  ropeTypes: readonly string[];
  /**
   * The longest sequence the lab may run (at most max_position_embeddings), or a problem the lab cannot run
   * (a string, refused with UnsupportedModelError).
   */
  context(raw: Record<string, unknown>, maxPosition: number): number | string;
}

const noContextLimit = (_raw: Record<string, unknown>, maxPosition: number) => maxPosition;
/** Qwen's sliding window applies to some layers only (max_window_layers): not run. */
const noSlidingWindow = (raw: Record<string, unknown>, maxPosition: number) => (raw.use_sliding_window === true ? 'sliding-window attention is not supported' : maxPosition);

export const ARCHITECTURES = {
  llama: {
    id: 'llama',
    className: 'LlamaForCausalLM',
    modelType: 'llama',
    examples: ['Llama 3', 'SmolLM2'],
    names: LLAMA_NAMES,
    biases: (raw) => ({ qkv: raw.attention_bias === true, o: raw.attention_bias === true, mlp: raw.mlp_bias === true }),
    qkNorm: false,
    fused: [],
    // dynamic NTK equals default within max_position_embeddings, which is all the lab ever runs
    ropeTypes: ['default', 'linear', 'llama3', 'dynamic'],
    context: noContextLimit,
  },
  qwen2: {
    id: 'qwen2',
    className: 'Qwen2ForCausalLM',
    modelType: 'qwen2',
    examples: ['Qwen2.5'],
    names: LLAMA_NAMES,
    biases: () => ({ qkv: true, o: false, mlp: false }),
    qkNorm: false,
    fused: [],
    ropeTypes: ['default', 'linear', 'llama3', 'dynamic'],
    context: noSlidingWindow,
  },
  qwen3: {
    id: 'qwen3',
    className: 'Qwen3ForCausalLM',
    modelType: 'qwen3',
    examples: ['Qwen3'],
    names: LLAMA_NAMES,
    biases: (raw) => ({ qkv: raw.attention_bias === true, o: raw.attention_bias === true, mlp: false }),
    qkNorm: true,
    fused: [],
    ropeTypes: ['default', 'linear', 'llama3', 'dynamic'],
    context: noSlidingWindow,
  },
  phi3: {
    id: 'phi3',
    className: 'Phi3ForCausalLM',
    modelType: 'phi3',
    examples: ['Phi-3-mini-4k', 'Phi-3-mini-128k'],
    names: LLAMA_NAMES,
    biases: () => ({ qkv: false, o: false, mlp: false }),
    qkNorm: false,
    fused: [
      { name: 'self_attn.qkv_proj', parts: ['q', 'k', 'v'] },
      { name: 'mlp.gate_up_proj', parts: ['gate', 'up'] },
    ],
    // "su" is the name the first Phi-3-128k configs gave longrope
    ropeTypes: ['default', 'longrope', 'su'],
    // Keys more than sliding_window - 1 positions back are masked: up to sliding_window tokens that masks
    // nothing, so the lab runs exactly that far (the lab's attention has no window).
    context: (raw, maxPosition) => {
      const w = raw.sliding_window;
      if (w === null || w === undefined) return maxPosition;
      if (typeof w !== 'number' || !Number.isInteger(w) || w <= 0) return `sliding_window ${JSON.stringify(w)} is not a positive integer`;
      return Math.min(maxPosition, w);
    },
  },
} satisfies Record<string, Architecture>;

export type Arch = keyof typeof ARCHITECTURES;

export function architecture(arch: Arch): Architecture {
  return ARCHITECTURES[arch];
}

/** The entry config.json names: by architectures[0], else by model_type; null when the lab has none. */
export function findArchitecture(raw: Record<string, unknown>): Arch | null {
  const className = Array.isArray(raw.architectures) ? String(raw.architectures[0]) : '';
  const all = Object.entries(ARCHITECTURES) as [Arch, Architecture][];
  return (all.find(([, a]) => a.className === className) ?? all.find(([, a]) => a.modelType === String(raw.model_type)))?.[0] ?? null;
}

/** "LlamaForCausalLM (Llama 3, SmolLM2), ...": the architectures the lab runs, for messages. */
export function supportedArchitectures(): string {
  return Object.values(ARCHITECTURES as Record<string, Architecture>).map((a) => `${a.className} (${a.examples.join(', ')})`).join(', ');
}

/** Output features of each linear layer and input features, from the config's dimensions. */
export function linearDims(c: { hidden: number; heads: number; kvHeads: number; headDim: number; intermediate: number }): Record<LinearName, [out: number, inn: number]> {
  const d = c.hidden, qd = c.heads * c.headDim, kvd = c.kvHeads * c.headDim, I = c.intermediate;
  return { q: [qd, d], k: [kvd, d], v: [kvd, d], o: [d, qd], gate: [I, d], up: [I, d], down: [d, I] };
}

/** Whether linear layer `n` has a bias under these biases. */
export function hasBias(b: Biases, n: LinearName): boolean {
  return n === 'q' || n === 'k' || n === 'v' ? b.qkv : n === 'o' ? b.o : b.mlp;
}

/** Where each part of a fused tensor sits: its first output row and its number of rows. */
export function fusedLayout(f: FusedTensor, dims: Record<LinearName, [number, number]>): { part: LinearName; start: number; rows: number }[] {
  let start = 0;
  return f.parts.map((part) => {
    const rows = dims[part][0];
    const r = { part, start, rows };
    start += rows;
    return r;
  });
}
