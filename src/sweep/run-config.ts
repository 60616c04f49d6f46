// The run configuration of a sweep: every option a sweep takes, its default, and how its result rows record
// it. The defaults have one home each: the quantization settings in src/quant/settings.ts, the evaluation
// settings in src/eval/settings.ts; the CLI, the tabs and the engine read them from there. Every option either
// enters the configuration's key as columns of its identity (results.ts KEY_COLUMNS, configId), or says here
// why it changes no result; tests/sweep/identity.test.ts changes each option and checks which it is.
import { DEFAULT_TASKS, PPL_WINDOWS } from '../eval/settings';
import { QUANTIZE_DEFAULTS, type QuantizeSettings } from '../quant/settings';
import type { SweepOptions } from './engine';
import type { ConfigKey } from './results';

/** The quantization settings a sweep applies to every configuration (its grid gives method, bits, G and C_b). */
const SWEEP_QUANT_KEYS = ['sym', 'actOrder', 'staticGroups', 'mode', 'percdamp', 'seqLen', 'seed', 'calibText'] as const;
export type SweepQuantSettings = Pick<QuantizeSettings, (typeof SWEEP_QUANT_KEYS)[number]>;

const pickQuant = (from: Partial<SweepQuantSettings>, fallback: SweepQuantSettings): SweepQuantSettings =>
  Object.fromEntries(SWEEP_QUANT_KEYS.map((k) => [k, from[k] ?? fallback[k]])) as unknown as SweepQuantSettings;

/** A sweep's settings where the options leave them out. */
export const SWEEP_DEFAULTS = Object.freeze({
  methods: [QUANTIZE_DEFAULTS.method],
  ...pickQuant({}, QUANTIZE_DEFAULTS),
  tasks: DEFAULT_TASKS,
  pplWindows: PPL_WINDOWS,
});

/** The quantization settings of a sweep, its defaults filled in. */
export function sweepSettings(opts: Partial<SweepQuantSettings>): SweepQuantSettings {
  return pickQuant(opts, SWEEP_DEFAULTS);
}

/** How an option reaches the result rows: the key columns that record it (each in the identity), or why it changes no result. */
export type OptionRole = { key: (keyof ConfigKey)[] } | { not: string };

/**
 * Every option of a sweep and its role. To add an option that changes results: its field in SweepOptions, its
 * default in the settings' home, its column in results.ts (ConfigKey, KEY_COLUMNS with `absent`, COLUMNS), its
 * value in engine.ts's configKey, and its entry here; the identity test then checks it (give it an example
 * value there).
 */
export const SWEEP_OPTIONS: { [K in keyof SweepOptions]-?: OptionRole } = {
  models: { key: ['model'] },
  points: { key: ['bits', 'group_size', 'calib_size'] },
  methods: { key: ['method'] },
  sym: { key: ['sym'] },
  actOrder: { key: ['act_order'] },
  staticGroups: { key: ['static_groups'] },
  mode: { key: ['mode'] },
  percdamp: { key: ['damp'] },
  // the length used, min(seqLen, the model's context): two lengths past the context are one configuration
  seqLen: { key: ['seqlen'] },
  seed: { key: ['seed'] },
  calibText: { key: ['calib_text'] },
  lmHead: { key: ['lm_head_bits', 'lm_head_group_size'] },
  tasks: { not: 'which tasks run: each row is one task (its task column, part of rowId)' },
  suite: { not: 'which tasks run: the tasks of each suite have their own names, perplexity texts included (the task column)' },
  limit: {
    not: 'the sample size, recorded in the items column: a limit takes a prefix of the seeded item order, so more items are a larger sample of the same measurement (a stored row on fewer items is run again and replaced: unfinishedTasks, mergeRows)',
  },
  pplWindows: { not: 'the sample size of the perplexity (the first N windows), recorded in the items column, as limit' },
  baseline: { not: 'whether the float baseline is one of the configurations run' },
  shard: { not: 'which of the configurations this process runs' },
};

/*
 * Settings that are not sweep options, and why no row needs them: the evaluation's seed is EVAL_SEED (fixed);
 * each task's few-shot count is the task's own (the fewshot column); the float weights' storage on the GPU is
 * the checkpoint's dtype (loadModel's auto), so it follows from the model; the zero-point format (gptq or
 * gptq_v2) only changes how an exported checkpoint stores zeros, not the weights it decodes to (and a sweep
 * exports nothing); the GPU (and with it the kernels chosen, e.g. with --f16) is the row's adapter column,
 * outside the identity on purpose: one configuration measured on two GPUs is one measurement, and merging
 * shards compares the two (shard.ts measurementDiff).
 */
