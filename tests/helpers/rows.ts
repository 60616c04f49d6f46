// One stored result row for the results, shard and merge tests: a 4-bit GPTQ configuration of the smallest
// bundled model on one KA task, every column filled; tests override what they vary.
import type { ResultRow } from '../../src/sweep/results';

export function resultRow(over: Partial<ResultRow> = {}): ResultRow {
  return {
    model: 'qwen3-dict-74k', family: 'qwen3', n_params: 74112, method: 'gptq', bits: 4, group_size: 128, calib_size: 32, seqlen: 256,
    sym: true, act_order: true, mode: 'sequential', seed: 0, damp: 0.05, static_groups: false, calib_text: 'calib_dict.txt', lm_head_bits: 16, lm_head_group_size: 0, task: 'dict_ending_mc', level: 'KA', metric: 'acc_norm', acc: 0.45,
    acc_chance: 0.25, acc_adj: 0.2667, stderr: 0.05, perplexity: null, items: 100, fewshot: 0, quant_seconds: 1.5, damp_used: 0.05, fallback: '', calib_tokens: 8192, eval_seconds: 2,
    adapter: 'nvidia / hopper / nvidia-h100-80gb-hbm3', lab_version: '0.1.0', created: '2026-11-23T00:00:00Z', ...over,
  };
}
