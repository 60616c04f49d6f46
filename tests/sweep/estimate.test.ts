// A sweep's time from its plan (estimateSweep), against sums worked out by hand from the cost model its comment
// states, and what an import would replace (previewMerge) before it does.
import { describe, expect, it } from 'vitest';
import { describeConfig, estimateSweep, type ModelTimes, planSweep, type SweepModel, timesFromRows } from '../../src/sweep/engine';
import { gridPoints } from '../../src/sweep/grid';
import { mergeRows, previewMerge, type ResultRow } from '../../src/sweep/results';

const model: SweepModel = { id: 'm', open: () => Promise.reject(new Error('not opened in this test')) };
const planned = () => new Map([['ppl_heldout_dict', 8], ['dict_kindof_cloze', 10]]);
const opts = { limit: 10, pplWindows: 8 };
// the float baseline measured: 0.5 s a perplexity window, 0.1 s an item; a forward token 1 ms; windows of 256
const baseline = (): ModelTimes => ({ perItem: { fp: { ppl_heldout_dict: 0.5, dict_kindof_cloze: 0.1 } }, items: { ppl_heldout_dict: 8, dict_kindof_cloze: 10 }, tokenSeconds: 0.001, window: 256, gptq: [], rtn: [] });
const plan = planSweep({ models: [model], points: gridPoints({ bits: [4], groups: [128], calib: [8, 32] }), methods: ['gptq', 'rtn'], tasks: ['ppl', 'dict_kindof_cloze'] });

describe('estimateSweep', () => {
  it('before anything is quantized: every configuration evaluates like the baseline, GPTQ adds its calibration tokens at the forward speed', () => {
    expect(plan.map((c) => describeConfig(c, {}))).toEqual(['m float baseline', 'm GPTQ 4-bit G=128 C_b=8', 'm GPTQ 4-bit G=128 C_b=32', 'm RTN 4-bit G=128']);
    // a sweep that quantizes the LM head too says so, but not of its float baselines
    expect(plan.map((c) => describeConfig(c, { lmHead: { bits: 8, groupSize: 32, sym: true } }))).toEqual(['m float baseline', 'm GPTQ 4-bit G=128 C_b=8, head 8-bit G=32', 'm GPTQ 4-bit G=128 C_b=32, head 8-bit G=32', 'm RTN 4-bit G=128, head 8-bit G=32']);
    const evalS = 8 * 0.5 + 10 * 0.1; // 5 s per configuration
    const calib = (c: number) => c * 256 * 0.001; // C_b x 256 tokens at 1 ms
    const e = estimateSweep(plan, { m: baseline() }, opts, planned)!;
    expect(e.basis).toBe('plan');
    expect(e.seconds).toBeCloseTo(4 * evalS + calib(8) + calib(32), 9);
    // the old estimate, the baseline's time for every configuration, says less than the quantization alone adds
    expect(e.seconds - 4 * evalS).toBeGreaterThan(10);
    // nothing measured: no estimate
    expect(estimateSweep(plan, {}, opts, planned)).toBeUndefined();
  });

  it('once quantizations are timed: slope and intercept from two calibration sizes, the forward speed and the rest from one', () => {
    const t = baseline();
    t.perItem.gptq = { ppl_heldout_dict: 1, dict_kindof_cloze: 0.2 }; // a packed model evaluates at its own speed: 10 s
    t.perItem.rtn = { ppl_heldout_dict: 0.75, dict_kindof_cloze: 0.15 }; // 7.5 s
    t.rtn = [0.5];
    t.gptq = [{ tokens: 2048, seconds: 10 }];
    // one size timed: 2048 tokens at 1 ms explain 2.048 s of its 10, the solve the other 7.952
    const one = estimateSweep(plan.slice(1), { m: t }, opts, planned)!;
    expect(one.basis).toBe('timed');
    expect(one.seconds).toBeCloseTo((10 + 10) + (10 + 8192 * 0.001 + 7.952) + (7.5 + 0.5), 9);
    // two sizes: 10 s at 2048 tokens, 16 s at 8192: 1/1024 s a token and 8 s
    t.gptq.push({ tokens: 8192, seconds: 16 });
    const two = estimateSweep(plan.slice(1, 3), { m: t }, opts, planned)!;
    expect(two.seconds).toBeCloseTo((10 + 10) + (10 + 16), 9);
    // shared Hessians: the second configuration of a calibration size reuses them, only the solve is left
    const shared = planSweep({ models: [model], points: gridPoints({ bits: [3, 4], groups: [128], calib: [8] }), tasks: [] });
    expect(estimateSweep(shared.slice(1), { m: t }, { ...opts, mode: 'shared' }, planned)!.seconds).toBeCloseTo((10 + 10) + (10 + 8), 9);
  });

  it('learns from stored rows of the same adapter only, and only sequential GPTQ rows time the calibration', () => {
    const row = (over: Partial<ResultRow>): ResultRow => ({
      model: 'm', family: 'qwen3', n_params: 1, method: 'fp', bits: 16, group_size: 0, calib_size: 0, seqlen: 0, sym: true, act_order: false, mode: '', seed: 0, damp: null, static_groups: false, calib_text: '', lm_head_bits: 16, lm_head_group_size: 0,
      task: 'ppl_heldout_dict', level: '', metric: 'token_ppl@256', acc: null, acc_chance: null, acc_adj: null, stderr: null, perplexity: 30, items: 8, fewshot: 0,
      quant_seconds: 0, damp_used: null, fallback: '', calib_tokens: 0, eval_seconds: 4, adapter: 'here', lab_version: '0.1.0', created: '2026-12-06T00:00:00Z', ...over,
    });
    const q = { method: 'gptq' as const, bits: 4, group_size: 128, calib_size: 8, seqlen: 256, act_order: true, calib_tokens: 2048, quant_seconds: 12 };
    const times = timesFromRows([
      row({}), row({ task: 'dict_kindof_cloze', level: 'KM', metric: 'precision@k', perplexity: null, items: 10, eval_seconds: 1 }),
      row({ ...q, mode: 'sequential' }), row({ ...q, calib_size: 32, calib_tokens: 8192, mode: 'shared', quant_seconds: 3 }),
      row({ eval_seconds: 400, adapter: 'elsewhere' }),
    ], 'here');
    expect(times.m.perItem.fp).toEqual({ ppl_heldout_dict: 0.5, dict_kindof_cloze: 0.1 });
    expect(times.m.tokenSeconds).toBeCloseTo(4 / (8 * 256), 12);
    expect(times.m.window).toBe(256);
    expect(times.m.gptq).toEqual([{ tokens: 2048, seconds: 12 }]);
  });
});

describe('previewMerge', () => {
  const row = (over: Partial<ResultRow>): ResultRow => ({
    model: 'qwen3-dict-74k', family: 'qwen3', n_params: 74112, method: 'fp', bits: 16, group_size: 0, calib_size: 0, seqlen: 0, sym: true, act_order: false, mode: '', seed: 0, damp: null, static_groups: false, calib_text: '', lm_head_bits: 16, lm_head_group_size: 0,
    task: 'dict_ending_mc', level: 'KA', metric: 'acc_norm', acc: 0.5, acc_chance: 0.25, acc_adj: 1 / 3, stderr: 0.05, perplexity: null, items: 3, fewshot: 0,
    quant_seconds: 0, damp_used: null, fallback: '', calib_tokens: 0, eval_seconds: 1, adapter: 'a', lab_version: '0.1.0', created: '2026-12-06T00:00:00Z', ...over,
  });
  it('names the configurations an import would replace, with the items on each side; keeping mine replaces none', () => {
    const mine = [row({}), row({ task: 'dict_chain_mc', level: 'KR' }), row({ method: 'rtn', bits: 4, group_size: 128, items: 100 })];
    const theirs = [
      row({ items: 100 }), row({ task: 'dict_chain_mc', level: 'KR', items: 50 }), // the float baseline, on more items
      row({ method: 'rtn', bits: 4, group_size: 128, items: 100 }), // as many items: stays
      row({ method: 'gptq', bits: 4, group_size: 128, calib_size: 8, seqlen: 256, mode: 'sequential' }), // new
    ];
    const p = previewMerge(mine, theirs);
    expect(p.replaced).toEqual([{ id: expect.any(String), label: 'qwen3-dict-74k float baseline', setting: 'sym,no-act-order,no-hessian,seqlen=0', tasks: 2, mine: [3, 3], theirs: [50, 100] }]);
    expect([p.addedRows, p.addedConfigs, p.unchangedRows]).toEqual([1, 1, 1]);
    // merging as previewed, or keeping mine
    const kept = [...mine];
    expect(mergeRows(kept, theirs, { keepMine: true })).toMatchObject({ added: 1, replaced: 0 });
    expect(kept.filter((r) => r.method === 'fp').map((r) => r.items)).toEqual([3, 3]);
    const replaced = [...mine];
    expect(mergeRows(replaced, theirs)).toMatchObject({ added: 1, replaced: 2 });
    expect(replaced.filter((r) => r.method === 'fp').map((r) => r.items)).toEqual([100, 50]);
  });
});
