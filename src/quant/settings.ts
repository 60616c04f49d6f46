// The quantization settings of a run and their defaults: the one home of each default. The CLI's quantize and
// sweep options, the Quantize and Sweep tabs and the sweep engine all take their defaults from here; which of
// these settings make a configuration's identity is recorded beside the result rows (src/sweep/run-config.ts).

/** GPTQ, or round-to-nearest (no calibration) as its baseline. */
export const METHODS = ['gptq', 'rtn'] as const;
export type Method = (typeof METHODS)[number];
/** Hessians from the partly quantized model, layer by layer (true-sequential), or all from the float model. */
export const MODES = ['sequential', 'shared'] as const;
export type Mode = (typeof MODES)[number];

/** One quantization's settings, as a person chooses them (the CLI's options, the Quantize tab's controls). */
export interface QuantizeSettings {
  method: Method;
  bits: number;
  /** Columns per group; -1 = per channel. */
  groupSize: number;
  /** C_b: calibration sequences (GPTQ only). */
  calib: number;
  /** Tokens per calibration sequence, capped at the model's context. */
  seqLen: number;
  sym: boolean;
  /** Columns in order of decreasing Hessian diagonal (desc_act); GPTQ only. */
  actOrder: boolean;
  /** Every group's scale and zero from the weights before the solve (GPTQModel's static_groups). */
  staticGroups: boolean;
  /** Dampening added to the Hessian's diagonal, as a fraction of its mean (GPTQModel's damp_percent). */
  percdamp: number;
  mode: Mode;
  /** Seed of the calibration draw. */
  seed: number;
  /** The calibration text under the data folder (documents separated by blank lines). */
  calibText: string;
  /** Quantize the LM head too (GPTQModel's lm_head), at its own bits and group size; symmetric, no act-order. */
  lmHead: boolean;
  lmHeadBits: number;
  lmHeadGroupSize: number;
}

/** How a quantized LM head is quantized (QuantizeOptions.lmHead). */
export interface HeadSettings {
  bits: number;
  groupSize: number;
  sym: boolean;
}

/**
 * GPTQModel's settings for a quantized LM head where none are given: 8-bit, groups of 32, symmetric, no act-order
 * (its lm_head_quant_config). The vocabulary's logits are what every token is chosen from: finer than the layers.
 */
export const LM_HEAD_DEFAULTS: Readonly<HeadSettings> = Object.freeze({ bits: 8, groupSize: 32, sym: true });

/** The head's settings that `s` asks for, or undefined where the head stays float. */
export const headSettings = (s: Pick<QuantizeSettings, 'lmHead' | 'lmHeadBits' | 'lmHeadGroupSize'>): HeadSettings | undefined =>
  s.lmHead ? { bits: s.lmHeadBits, groupSize: s.lmHeadGroupSize, sym: LM_HEAD_DEFAULTS.sym } : undefined;

/** The bit widths a quantization packs: the layers', and the head's where it is quantized. */
export const packedWidths = (o: { bits: number; lmHead?: HeadSettings }): number[] => [o.bits, ...(o.lmHead ? [o.lmHead.bits] : [])];

/** How much the dampening fraction rises each time a Cholesky factorisation fails (GPTQModel's damp_auto_increment). */
export const DAMP_INCREMENT = 0.01;

export const QUANTIZE_DEFAULTS: Readonly<QuantizeSettings> = Object.freeze({
  method: 'gptq',
  bits: 4,
  groupSize: 128,
  calib: 128,
  // the study's sequence length; capped at the model's context (the bundled models' is shorter)
  seqLen: 2048,
  sym: true,
  actOrder: true,
  staticGroups: false,
  // GPTQModel's default (the reference gptq.py uses 0.01)
  percdamp: 0.05,
  mode: 'sequential',
  seed: 0,
  calibText: 'calib_dict.txt',
  lmHead: false,
  lmHeadBits: LM_HEAD_DEFAULTS.bits,
  lmHeadGroupSize: LM_HEAD_DEFAULTS.groupSize,
});

/**
 * Where the Quantize tab starts instead: a first quantization in a browser should take seconds, so fewer and
 * shorter calibration sequences (256 tokens: the bundled models' whole context).
 */
export const LAB_QUANTIZE_START: Readonly<QuantizeSettings> = Object.freeze({ ...QUANTIZE_DEFAULTS, calib: 32, seqLen: 256 });
