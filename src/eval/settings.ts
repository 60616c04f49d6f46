// The evaluation settings of a run and their defaults: the one home of each default. The CLI's eval and sweep
// options, the Evaluate and Sweep tabs and the sweep engine take their defaults from here.

/** Tasks when none are named: the perplexity and every knowledge level (KM, KA, KR) of the model's suite. */
export const DEFAULT_TASKS: readonly string[] = Object.freeze(['ppl', 'km', 'ka', 'kr']);

/**
 * Perplexity windows when none are asked for: the Evaluate tab, the Sweep tab and the CLI's eval and sweep all
 * use it, so one model shows one perplexity wherever it is measured.
 */
export const PPL_WINDOWS = 8;

/** Seed of the items' order (a limit takes a prefix of it) and of the few-shot draws. */
export const EVAL_SEED = 1234;

/**
 * Items per task the Evaluate and Sweep tabs start with (a browser run should take minutes); the CLI's default
 * is each task's own mini-suite size.
 */
export const LAB_ITEMS_PER_TASK = 50;
