// The sweep engine on the bundled default model: baseline first, every configuration once, resume after a
// cancel without redoing finished configurations, shared-Hessian reuse.
import { describe, expect, it } from 'vitest';
import { dirFiles } from '../../src/cli/files';
import { nodeDataReader } from '../../src/cli/data';
import { Checkpoint } from '../../src/model/checkpoint';
import { TextTokenizer } from '../../src/model/tokenizer';
import { planSweep, SweepRunner, type SweepOptions } from '../../src/sweep/engine';
import { gridPoints, PRESETS } from '../../src/sweep/grid';
import { configId } from '../../src/sweep/results';
import { memoryStore } from '../../src/sweep/store';
import { testGpu } from '../helpers/gpu';

const model = {
  id: 'qwen3-dict-74k',
  open: async () => {
    const ckpt = await Checkpoint.open(dirFiles('public/models/qwen3-dict-74k'));
    return { ckpt, tokenizer: await TextTokenizer.load(ckpt.files, ckpt.config) };
  },
};

const opts: SweepOptions = {
  models: [model], points: gridPoints({ bits: [3, 4], groups: [32], calib: [8] }), methods: ['gptq', 'rtn'],
  tasks: ['ppl', 'dict_kindof_cloze'], limit: 8, pplWindows: 1, seqLen: 64, mode: 'shared',
};

describe('sweep plans', () => {
  it('the presets have the study\'s grids', () => {
    const study = gridPoints(PRESETS.find((p) => p.id === 'study')!.grid);
    expect(study).toHaveLength(33); // 2 bits x 4 C_b x 4 G + the 8-bit point
    expect(study.filter((p) => p.bits === 8)).toEqual([{ bits: 8, groupSize: 128, calib: 128 }]);
    expect(gridPoints(PRESETS.find((p) => p.id === 'llama3')!.grid)).toHaveLength(14);
    expect(gridPoints(PRESETS.find((p) => p.id === 'quick')!.grid)).toHaveLength(8);
    for (const p of PRESETS) expect(() => gridPoints(p.grid), p.id).not.toThrow();
  });
  it('a point the lab cannot run is an error naming it, before anything runs', () => {
    expect(() => gridPoints({ bits: [4, 5], groups: [128], calib: [8] })).toThrow('bit width 5 cannot run: the lab quantizes to 2, 3, 4, 8 bits');
    expect(() => gridPoints({ bits: [4], groups: [48], calib: [8] })).toThrow(/group size 48 cannot run: give -1 \(per channel\) or a multiple of 32/);
    expect(() => gridPoints({ bits: [4], groups: [0], calib: [8] })).toThrow(/group size 0/);
    expect(() => gridPoints({ bits: [4], groups: [128], calib: [2.5] })).toThrow(/calibration size 2.5 cannot run/);
    expect(gridPoints({ bits: [2, 8], groups: [-1, 32], calib: [0] })).toHaveLength(4);
  });
  it('the float baseline comes first; RTN once per (bits, G)', () => {
    const plan = planSweep({ ...opts, points: gridPoints({ bits: [4], groups: [32], calib: [8, 32] }) });
    expect(plan.map((c) => c.method)).toEqual(['fp', 'gptq', 'gptq', 'rtn']);
  });
});

describe('sweep runs', () => {
  it('runs every configuration once, and resumes after a cancel without redoing any', async () => {
    const gpu = await testGpu();
    const store = memoryStore();
    const runner = new SweepRunner(gpu, store, nodeDataReader());
    const ac = new AbortController();
    let configsSeen = 0;
    const first = await runner.run(opts, { signal: ac.signal, onRows: () => ++configsSeen === 2 && ac.abort() });
    expect(first.ran).toBe(2);
    const afterFirst = (await store.all()).length;
    expect(afterFirst).toBe(2 * 2); // 2 configurations x (ppl + 1 task)
    const second = await runner.run(opts);
    expect(second.skipped).toBe(2);
    expect(second.ran).toBe(planSweep(opts).length - 2);
    const rows = await store.all();
    const ids = rows.map((r) => `${configId(r)}|${r.task}`);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(rows.map(configId)).size).toBe(planSweep(opts).length);
    const fp = rows.find((r) => r.method === 'fp' && r.task === 'ppl_heldout_dict')!;
    const q3 = rows.find((r) => r.method === 'gptq' && r.bits === 3 && r.task === 'ppl_heldout_dict')!;
    expect(q3.perplexity!).toBeGreaterThan(fp.perplexity!);
    expect(rows.every((r) => r.adapter.length > 0 && r.n_params === 74112)).toBe(true);
  });

  it('a configuration stored with fewer items than asked runs again and its rows replace the old; more or as many: skipped', async () => {
    const gpu = await testGpu();
    const store = memoryStore();
    const runner = new SweepRunner(gpu, store, nodeDataReader());
    const small: SweepOptions = { ...opts, points: opts.points.slice(0, 1), methods: ['gptq'], limit: 2, pplWindows: 1 };
    expect((await runner.run(small)).ran).toBe(2); // float baseline + one GPTQ configuration
    const larger = { ...small, limit: 5, pplWindows: 2 };
    const again = await runner.run(larger);
    expect([again.ran, again.skipped]).toEqual([2, 0]);
    const rows = await store.all();
    expect(rows).toHaveLength(2 * 2);
    expect(rows.filter((r) => r.task === 'dict_kindof_cloze').map((r) => r.items)).toEqual([5, 5]);
    expect(rows.filter((r) => r.task === 'ppl_heldout_dict').map((r) => r.items)).toEqual([2, 2]);
    expect((await runner.run(larger)).skipped).toBe(2);
    expect((await runner.run(small)).skipped).toBe(2);
    // asked for more than a task holds (null: all items; its count is what a run would score): done once run
    const all = { ...small, limit: null };
    expect((await runner.run(all)).ran).toBe(2);
    expect((await runner.run(all)).skipped).toBe(2);
  });
});
