import { describe, expect, it } from 'vitest';
import { nonEmbeddingParams, parseConfig } from '../../src/model/config';
import { CheckpointError, UnsupportedModelError } from '../../src/model/errors';

// Config fields of the published checkpoints (from their config.json on the Hugging Face Hub).
const qwen3_0_6b = {
  architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', hidden_size: 1024, intermediate_size: 3072, num_hidden_layers: 28,
  num_attention_heads: 16, num_key_value_heads: 8, head_dim: 128, vocab_size: 151936, tie_word_embeddings: true,
  max_position_embeddings: 40960, rms_norm_eps: 1e-6, rope_theta: 1000000, hidden_act: 'silu', bos_token_id: 151643, eos_token_id: 151645,
};
const llama32_1b = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16,
  num_attention_heads: 32, num_key_value_heads: 8, head_dim: 64, vocab_size: 128256, tie_word_embeddings: true,
  max_position_embeddings: 131072, rms_norm_eps: 1e-5, rope_theta: 500000, hidden_act: 'silu',
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  bos_token_id: 128000, eos_token_id: [128001, 128008, 128009],
};

describe('N, the non-embedding parameter count, from the config alone', () => {
  it('Qwen3-0.6B = 440,467,456 (docs/study.md, The factors)', () => expect(nonEmbeddingParams(parseConfig(qwen3_0_6b))).toBe(440_467_456));
  it('Llama-3.2-1B = 973,146,112 (docs/study.md, The factors)', () => expect(nonEmbeddingParams(parseConfig(llama32_1b))).toBe(973_146_112));
  it('Qwen3-8B = 6,946,075,648 (docs/study.md, The factors)', () =>
    expect(nonEmbeddingParams(parseConfig({ ...qwen3_0_6b, hidden_size: 4096, intermediate_size: 12288, num_hidden_layers: 36, num_attention_heads: 32, tie_word_embeddings: false }))).toBe(6_946_075_648));
  it('Llama-3.1-8B = 6,979,588,096 (docs/study.md, The factors)', () =>
    expect(nonEmbeddingParams(parseConfig({ ...llama32_1b, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, head_dim: 128, tie_word_embeddings: false }))).toBe(6_979_588_096));
});

describe('config parsing', () => {
  it('reads Llama-3 rope scaling in the legacy and the transformers-5 layout', () => {
    const a = parseConfig(llama32_1b).rope;
    const { rope_scaling, rope_theta, ...rest } = llama32_1b;
    const b = parseConfig({ ...rest, rope_parameters: { ...rope_scaling, rope_theta } }).rope;
    expect(a).toEqual(b);
    expect(a).toMatchObject({ type: 'llama3', theta: 500000, factor: 32, originalMaxPosition: 8192 });
  });
  it('marks Qwen2 q/k/v biases and Qwen3 q/k norms', () => {
    expect(parseConfig({ ...qwen3_0_6b, architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2' }).qkvBias).toBe(true);
    expect(parseConfig(qwen3_0_6b).qkNorm).toBe(true);
    // transformers' Qwen3Attention: attention_bias gives q, k, v and o biases; Qwen2's o_proj never has one
    expect(parseConfig({ ...qwen3_0_6b, attention_bias: true })).toMatchObject({ qkvBias: true, oBias: true, mlpBias: false });
    expect(parseConfig({ ...qwen3_0_6b, architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', attention_bias: true })).toMatchObject({ qkvBias: true, oBias: false });
  });
  it('rejects an unsupported architecture with what to do', () => {
    expect(() => parseConfig({ ...qwen3_0_6b, architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' })).toThrow(UnsupportedModelError);
    expect(() => parseConfig({ ...qwen3_0_6b, architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' })).toThrow(/LlamaForCausalLM/);
  });
  it('rejects malformed fields naming the field', () => {
    expect(() => parseConfig({ ...qwen3_0_6b, hidden_size: -1 })).toThrow(CheckpointError);
    expect(() => parseConfig({ ...qwen3_0_6b, hidden_size: 'big' })).toThrow(/hidden_size/);
    expect(() => parseConfig({ ...qwen3_0_6b, num_key_value_heads: 5 })).toThrow(/multiple/);
    expect(() => parseConfig({ ...llama32_1b, rope_scaling: { rope_type: 'yarn', factor: 4 } })).toThrow(/yarn/);
  });
});
