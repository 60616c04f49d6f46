// Random GPTQ checkpoints at the published shapes of small models, for the race against transformers.js
// (src/cli/onnx-race.ts) and the export's tests at real widths. Not a model: random codes, scales near 1/sqrt(K).
import { type DType, encodeSafetensors, f32ToF16 } from '../model/safetensors';
import { HF_LINEAR, LINEAR_NAMES } from '../model/transformer';
import { qweightWords, zeroWords } from '../quant/packed';
import { seededRandom } from '../random';

/** The published configs of the two real shapes (layer counts, widths, vocabularies, rope). */
export const SHAPES: Record<string, Record<string, unknown>> = {
  'qwen3-0.6b': {
    architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', hidden_size: 1024, intermediate_size: 3072, num_hidden_layers: 28, num_attention_heads: 16,
    num_key_value_heads: 8, head_dim: 128, vocab_size: 151936, max_position_embeddings: 40960, rms_norm_eps: 1e-6, rope_theta: 1000000, tie_word_embeddings: true,
    hidden_act: 'silu', bos_token_id: 151643, eos_token_id: 151645,
  },
  'llama-3.2-1b': {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16, num_attention_heads: 32,
    num_key_value_heads: 8, head_dim: 64, vocab_size: 128256, max_position_embeddings: 131072, rms_norm_eps: 1e-5, rope_theta: 500000, tie_word_embeddings: true,
    rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
    hidden_act: 'silu', bos_token_id: 128000, eos_token_id: 128001,
  },
};

/**
 * A GPTQ checkpoint's files (config.json, model.safetensors) of random 4-bit symmetric weights, group 128, the
 * "gptq" (v1) layout, at a real shape, optionally cut to fewer layers and a smaller vocabulary (a slice):
 * speed does not depend on the values, and the lab's forward pass is the reference for anything run on them.
 */
export function randomGptqFiles(shape: string, cut: { layers?: number; vocab?: number } = {}): Map<string, Uint8Array> {
  const base = SHAPES[shape];
  if (!base) throw new Error(`--shape: one of ${Object.keys(SHAPES).join(', ')}`);
  const c: Record<string, unknown> = { ...base, num_hidden_layers: cut.layers ?? base.num_hidden_layers, vocab_size: cut.vocab ?? base.vocab_size };
  const bits = 4, G = 128, rnd = seededRandom(1);
  const d = c.hidden_size as number, I = c.intermediate_size as number, hd = c.head_dim as number, V = c.vocab_size as number;
  const qd = (c.num_attention_heads as number) * hd, kvd = (c.num_key_value_heads as number) * hd;
  const tensors: { name: string; dtype: DType; shape: number[]; data: ArrayBufferView }[] = [];
  const f16 = (name: string, shape: number[], f: () => number) => tensors.push({ name, dtype: 'F16', shape, data: Uint16Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => f32ToF16(f())) });
  const ones = () => 1;
  f16('model.embed_tokens.weight', [V, d], () => 0.05 * (2 * rnd() - 1));
  f16('model.norm.weight', [d], ones);
  const dims = { q: [qd, d], k: [kvd, d], v: [kvd, d], o: [d, qd], gate: [I, d], up: [I, d], down: [d, I] } as const;
  for (let l = 0; l < (c.num_hidden_layers as number); l++) {
    const p = `model.layers.${l}.`;
    f16(`${p}input_layernorm.weight`, [d], ones);
    f16(`${p}post_attention_layernorm.weight`, [d], ones);
    if (c.model_type === 'qwen3') (f16(`${p}self_attn.q_norm.weight`, [hd], ones), f16(`${p}self_attn.k_norm.weight`, [hd], ones));
    for (const n of LINEAR_NAMES) {
      const [N, K] = dims[n], base = p + HF_LINEAR[n], nGroups = K / G;
      const qweight = new Int32Array(qweightWords(K, bits) * N);
      for (let i = 0; i < qweight.length; i++) qweight[i] = (rnd() * 2 ** 32) | 0;
      tensors.push({ name: `${base}.qweight`, dtype: 'I32', shape: [qweightWords(K, bits), N], data: qweight });
      tensors.push({ name: `${base}.qzeros`, dtype: 'I32', shape: [nGroups, zeroWords(N, bits)], data: new Int32Array(nGroups * zeroWords(N, bits)).fill(0x77777777) });
      f16(`${base}.scales`, [nGroups, N], () => (1.5 / Math.sqrt(K)) * (0.5 + rnd()) / 8);
      tensors.push({ name: `${base}.g_idx`, dtype: 'I32', shape: [K], data: Int32Array.from({ length: K }, (_, k) => Math.floor(k / G)) });
    }
  }
  const quantization_config = { quant_method: 'gptq', bits, group_size: G, desc_act: false, sym: true, checkpoint_format: 'gptq' };
  return new Map([
    ['config.json', new TextEncoder().encode(JSON.stringify({ ...c, quantization_config }, null, 2))],
    ['model.safetensors', encodeSafetensors(tensors, { format: 'pt' })],
  ]);
}
