// The published checkpoints people bring to the lab, as their config.json stands on the Hugging Face Hub. No
// weights can be fetched in tests, so these configs are written with random weights (src/model/synthetic.ts) to
// exercise every real shape: widths 576-2048, vocabularies 49K-152K, 16-32 layers, GQA ratios 2-7, tied
// embeddings, Qwen2's q/k/v biases, Qwen3's q/k norms, Llama-3's rope scaling, Phi-3's fused qkv and gate_up.

export interface PublishedShape {
  /** The Hub id of the checkpoint this shape is. */
  hfId: string;
  /** config.json as published (base models). */
  config: Record<string, unknown>;
}

const qwen3 = (hidden: number, intermediate: number) => ({
  architectures: ['Qwen3ForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151645,
  head_dim: 128, hidden_act: 'silu', hidden_size: hidden, initializer_range: 0.02, intermediate_size: intermediate,
  max_position_embeddings: 40960, max_window_layers: 28, model_type: 'qwen3', num_attention_heads: 16, num_hidden_layers: 28,
  num_key_value_heads: 8, rms_norm_eps: 1e-6, rope_scaling: null, rope_theta: 1000000, sliding_window: null, tie_word_embeddings: true,
  torch_dtype: 'bfloat16', transformers_version: '4.51.0', use_cache: true, use_sliding_window: false, vocab_size: 151936,
});

const smollm2 = (hidden: number, intermediate: number, layers: number, heads: number, kvHeads: number, init: number) => ({
  architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 0, eos_token_id: 0, hidden_act: 'silu',
  hidden_size: hidden, initializer_range: init, intermediate_size: intermediate, is_llama_config: true, max_position_embeddings: 8192,
  mlp_bias: false, model_type: 'llama', num_attention_heads: heads, num_hidden_layers: layers, num_key_value_heads: kvHeads,
  pretraining_tp: 1, rms_norm_eps: 1e-5, rope_interleaved: false, rope_scaling: null, rope_theta: 100000, tie_word_embeddings: true,
  torch_dtype: 'bfloat16', transformers_version: '4.40.1', use_cache: true, vocab_size: 49152,
});

export const PUBLISHED_SHAPES: Record<string, PublishedShape> = {
  'qwen3-0.6b': { hfId: 'Qwen/Qwen3-0.6B', config: qwen3(1024, 3072) },
  'qwen3-1.7b': { hfId: 'Qwen/Qwen3-1.7B', config: qwen3(2048, 6144) },
  'llama-3.2-1b': {
    hfId: 'meta-llama/Llama-3.2-1B',
    config: {
      architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 128000, eos_token_id: 128001,
      head_dim: 64, hidden_act: 'silu', hidden_size: 2048, initializer_range: 0.02, intermediate_size: 8192, max_position_embeddings: 131072,
      mlp_bias: false, model_type: 'llama', num_attention_heads: 32, num_hidden_layers: 16, num_key_value_heads: 8, pretraining_tp: 1,
      rms_norm_eps: 1e-5,
      rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
      rope_theta: 500000.0, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.45.0.dev0', use_cache: true,
      vocab_size: 128256,
    },
  },
  'smollm2-135m': { hfId: 'HuggingFaceTB/SmolLM2-135M', config: smollm2(576, 1536, 30, 9, 3, 0.041666666666666664) },
  'smollm2-360m': { hfId: 'HuggingFaceTB/SmolLM2-360M', config: smollm2(960, 2560, 32, 15, 5, 0.02) },
  'qwen2.5-0.5b': {
    hfId: 'Qwen/Qwen2.5-0.5B',
    config: {
      architectures: ['Qwen2ForCausalLM'], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151643, hidden_act: 'silu',
      hidden_size: 896, initializer_range: 0.02, intermediate_size: 4864, max_position_embeddings: 32768, max_window_layers: 24,
      model_type: 'qwen2', num_attention_heads: 14, num_hidden_layers: 24, num_key_value_heads: 2, rms_norm_eps: 1e-6,
      rope_theta: 1000000.0, sliding_window: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.40.1',
      use_cache: true, use_mrope: false, use_sliding_window: false, vocab_size: 151936,
    },
  },
  'phi-3-mini-4k': {
    hfId: 'microsoft/Phi-3-mini-4k-instruct',
    config: {
      architectures: ['Phi3ForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 1, embd_pdrop: 0.0, eos_token_id: 32000,
      hidden_act: 'silu', hidden_size: 3072, initializer_range: 0.02, intermediate_size: 8192, max_position_embeddings: 4096, model_type: 'phi3',
      num_attention_heads: 32, num_hidden_layers: 32, num_key_value_heads: 32, original_max_position_embeddings: 4096, pad_token_id: 32000,
      resid_pdrop: 0.0, rms_norm_eps: 1e-5, rope_scaling: null, rope_theta: 10000.0, sliding_window: 2047, tie_word_embeddings: false,
      torch_dtype: 'bfloat16', transformers_version: '4.40.2', use_cache: true, vocab_size: 32064,
    },
  },
};

export const SHAPE_NAMES = Object.keys(PUBLISHED_SHAPES);

/**
 * The special tokens of each tokenizer family at their published ids (the rest of a synthetic tokenizer is
 * bytes): what BOS / EOS handling, stop conditions and the prompt prefix see in the real models.
 */
export function specialTokens(config: Record<string, unknown>): { id: number; content: string }[] {
  const vocab = Number(config.vocab_size);
  if (vocab === 151936) return [{ id: 151643, content: '<|endoftext|>' }, { id: 151644, content: '<|im_start|>' }, { id: 151645, content: '<|im_end|>' }];
  if (vocab === 128256) return [{ id: 128000, content: '<|begin_of_text|>' }, { id: 128001, content: '<|end_of_text|>' }];
  if (vocab === 32064) return [{ id: 0, content: '<unk>' }, { id: 1, content: '<s>' }, { id: 2, content: '</s>' }, { id: 32000, content: '<|endoftext|>' }, { id: 32001, content: '<|assistant|>' }, { id: 32007, content: '<|end|>' }, { id: 32010, content: '<|user|>' }];
  return [{ id: 0, content: '<|endoftext|>' }, { id: 1, content: '<|im_start|>' }, { id: 2, content: '<|im_end|>' }];
}
