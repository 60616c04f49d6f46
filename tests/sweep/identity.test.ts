// A configuration's identity (configId) holds every setting that changes a result, and nothing else: each
// option of a sweep (run-config.ts SWEEP_OPTIONS) and each column of the key (results.ts KEY_COLUMNS) is changed
// in turn, and the identity must change exactly for those declared part of it. An option added to SweepOptions
// later needs an entry in SWEEP_OPTIONS (the type requires it) and an example value below (this test requires
// it), and is then checked like the others. Results written before the damping, static groups and calibration
// text were recorded read back with the values they were run with, and keep their identity.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { QUANTIZE_DEFAULTS } from '../../src/quant/settings';
import type { QuantizeOptions } from '../../src/quant/quantize-model';
import { configKey, labConfigKey, planSweep, type SweepModel, type SweepOptions } from '../../src/sweep/engine';
import { type ConfigKey, configId, configLabel, KEY_COLUMNS, parseCsv, parseJsonl, parseResults, settingOf, toCsv } from '../../src/sweep/results';
import { SWEEP_DEFAULTS, SWEEP_OPTIONS } from '../../src/sweep/run-config';

const model = (id: string): SweepModel => ({ id, open: () => Promise.reject(new Error('not opened in this test')) });
const ckpt = { nonEmbeddingParams: 74112, config: { arch: 'qwen3', maxPosition: 256 } } as unknown as Parameters<typeof configKey>[2];

// seqLen below the model's context: a change of it is a change of the length used
const base: SweepOptions = {
  models: [model('qwen3-dict-74k')], points: [{ bits: 4, groupSize: 128, calib: 32 }], methods: ['gptq'], tasks: ['ppl', 'km'], seqLen: 64,
};

/** Another value of each option (every option of SWEEP_OPTIONS must have one). */
const OTHER: { [K in keyof SweepOptions]-?: SweepOptions[K] } = {
  models: [model('llama-dict-74k')],
  points: [{ bits: 3, groupSize: 128, calib: 32 }],
  methods: ['rtn'],
  sym: !SWEEP_DEFAULTS.sym,
  actOrder: !SWEEP_DEFAULTS.actOrder,
  staticGroups: !SWEEP_DEFAULTS.staticGroups,
  mode: SWEEP_DEFAULTS.mode === 'sequential' ? 'shared' : 'sequential',
  percdamp: SWEEP_DEFAULTS.percdamp * 2,
  seqLen: 128,
  seed: SWEEP_DEFAULTS.seed + 1,
  calibText: 'my_calibration.txt',
  tasks: ['ppl'],
  suite: 'real',
  limit: 5,
  pplWindows: 2,
  baseline: false,
  shard: { index: 1, count: 2 },
  lmHead: { bits: 8, groupSize: 32, sym: true },
};

// what round-to-nearest quantizes with: its bits, G and zeros (and the LM head, where quantized too); it takes no
// calibration, Hessian or dampening
const RTN_USES = new Set(['models', 'points', 'methods', 'sym', 'lmHead']);

/** The planned configurations' keys, by method. */
function keys(opts: SweepOptions): Map<string, ConfigKey> {
  return new Map(planSweep(opts).map((c) => [c.method, configKey(opts, c, ckpt)]));
}

describe('the identity of a configuration', () => {
  it('every option of a sweep has a role, and this test an example value for it', () => {
    expect(Object.keys(OTHER).sort()).toEqual(Object.keys(SWEEP_OPTIONS).sort());
    for (const [name, role] of Object.entries(SWEEP_OPTIONS)) {
      if ('not' in role) expect(role.not.length, name).toBeGreaterThan(20);
      else for (const col of role.key) expect('id' in KEY_COLUMNS[col], `${name}: its column ${col} is not part of the identity`).toBe(true);
    }
  });

  for (const [name, role] of Object.entries(SWEEP_OPTIONS) as [keyof SweepOptions, (typeof SWEEP_OPTIONS)[keyof SweepOptions]][]) {
    if ('key' in role) {
      it(`${name} changes a GPTQ configuration's identity, through its columns ${role.key.join(', ')}`, () => {
        const opts = { ...base, [name]: OTHER[name] } as SweepOptions;
        // the changed option's GPTQ configuration (RTN's where methods changed): a configuration the base did not have
        const before = keys(base).get('gptq')!;
        const after = [...keys(opts).entries()].find(([m]) => m !== 'fp')![1];
        expect(configId(after)).not.toBe(configId(before));
        expect(role.key.some((c) => !Object.is(after[c], before[c])), `${name} reaches none of ${role.key.join(', ')}`).toBe(true);
      });
      it(`${name} changes RTN's identity only if RTN uses it, and never the float baseline's`, () => {
        const rtnBase = { ...base, methods: ['rtn' as const] };
        const a = keys(rtnBase), b = keys({ ...rtnBase, [name]: OTHER[name] } as SweepOptions);
        if (name === 'methods') return; // RTN to RTN: nothing to compare
        expect(configId(b.get('rtn')!) !== configId(a.get('rtn')!), name).toBe(RTN_USES.has(name));
        if (b.get('fp')) expect(configId(b.get('fp')!) !== configId(a.get('fp')!), name).toBe(name === 'models');
      });
    } else {
      it(`${name} changes no identity (${role.not.slice(0, 60)}...)`, () => {
        const all = { ...base, methods: ['gptq' as const, 'rtn' as const] };
        const before = new Set([...keys(all).values()].map(configId));
        const after = [...keys({ ...all, [name]: OTHER[name] } as SweepOptions).values()].map(configId);
        expect(after.length).toBeGreaterThan(0);
        for (const id of after) expect(before.has(id), `${name} gave ${id}`).toBe(true);
      });
    }
  }

  const key: ConfigKey = {
    model: 'qwen3-dict-74k', family: 'qwen3', n_params: 74112, method: 'gptq', bits: 4, group_size: 128, calib_size: 32, seqlen: 256,
    sym: true, act_order: true, mode: 'sequential', seed: 0, damp: 0.05, static_groups: false, calib_text: 'calib_dict.txt', lm_head_bits: 16, lm_head_group_size: 0,
  };
  const other = (v: unknown): unknown => (typeof v === 'boolean' ? !v : typeof v === 'number' ? v + 1 : v === null ? 0.1 : `${String(v)}-other`);
  for (const [col, how] of Object.entries(KEY_COLUMNS) as [keyof ConfigKey, (typeof KEY_COLUMNS)[keyof ConfigKey]][]) {
    it(`the key's column ${col} ${'id' in how ? 'is' : 'is not'} part of the identity`, () => {
      const changed = { ...key, [col]: other(key[col]) } as ConfigKey;
      expect(configId(changed) !== configId(key)).toBe('id' in how);
      if ('not' in how) expect(how.not.length).toBeGreaterThan(10);
    });
  }

  it('a configuration run with the defaults has the identity it had before damping, static groups and calibration text were recorded', () => {
    const k = keys({ ...base, seqLen: undefined }).get('gptq')!;
    expect(k).toMatchObject({ damp: QUANTIZE_DEFAULTS.percdamp, static_groups: QUANTIZE_DEFAULTS.staticGroups, calib_text: QUANTIZE_DEFAULTS.calibText, seqlen: 256 });
    expect(configId(k)).toBe('qwen3-dict-74k|gptq|4|128|32|256|sym|act|sequential|0');
    expect(configId({ ...k, damp: 0.1 })).toBe('qwen3-dict-74k|gptq|4|128|32|256|sym|act|sequential|0|damp=0.1');
  });

  it('a configuration quantized and evaluated in the lab\'s tabs has the identity the sweep gives it; a checkpoint quantized elsewhere has none', () => {
    const model = { name: 'qwen3-dict-74k', ckpt };
    const head = { bits: 8, groupSize: 32, sym: true };
    const lab = (options: QuantizeOptions, calib: number) => labConfigKey(model, { options, calibration: calib ? { count: calib, seqLen: 64, seed: 0 } : null })!;
    const gptq: QuantizeOptions = { method: 'gptq', bits: 4, groupSize: 128, sym: true, actOrder: true, mode: 'sequential', percdamp: SWEEP_DEFAULTS.percdamp };
    const rtn: QuantizeOptions = { method: 'rtn', bits: 4, groupSize: 128, sym: true, actOrder: false };
    for (const lmHead of [undefined, head]) {
      const sweep = keys({ ...base, methods: ['gptq', 'rtn'], lmHead });
      expect(configId(lab({ ...gptq, lmHead }, 32))).toBe(configId(sweep.get('gptq')!));
      expect(configId(lab({ ...rtn, lmHead }, 0))).toBe(configId(sweep.get('rtn')!));
      expect(configId(labConfigKey(model)!)).toBe(configId(sweep.get('fp')!));
    }
    expect(configId(lab({ ...gptq, percdamp: 0.1 }, 32))).not.toBe(configId(keys(base).get('gptq')!));
    const quantizedElsewhere = { ...ckpt, config: { ...ckpt.config, gptq: { bits: 4 } } } as unknown as typeof ckpt;
    expect(labConfigKey({ name: 'some-gptq-checkpoint', ckpt: quantizedElsewhere })).toBeNull();
  });

  it('the fits do not pool configurations of another damping, static groups, calibration text or LM head', () => {
    const k = keys(base).get('gptq')!;
    const head = keys({ ...base, lmHead: { bits: 8, groupSize: 32, sym: true } }).get('gptq')!;
    const settings = new Set([k, { ...k, damp: 0.1 }, { ...k, static_groups: true }, { ...k, calib_text: 'x.txt' }, head, { ...head, lm_head_group_size: 128 }].map(settingOf));
    expect(settings.size).toBe(6);
    expect(settingOf(k)).toBe('sym,act-order,sequential,seqlen=64');
    expect(settingOf(head)).toBe('sym,act-order,sequential,seqlen=64,lm_head_bits=8,lm_head_G=32');
    expect(configLabel(head)).toBe('qwen3-dict-74k GPTQ 4-bit G=128 C_b=32, head 8-bit G=32');
    expect(configLabel(k)).toBe('qwen3-dict-74k GPTQ 4-bit G=128 C_b=32');
    // the float baseline has no quantized head, whatever the sweep quantizes
    expect(keys({ ...base, lmHead: { bits: 8, groupSize: 32, sym: true } }).get('fp')).toMatchObject({ lm_head_bits: 16, lm_head_group_size: 0 });
  });

});

describe('results written before the damping was recorded', () => {
  // the identity as results.ts defined it then: what the stored rows' configurations were known by
  const oldId = (r: ConfigKey) => [r.model, r.method, r.bits, r.group_size, r.calib_size, r.seqlen, r.sym ? 'sym' : 'asym', r.act_order ? 'act' : 'noact', r.mode, r.seed].join('|');

  it('a real results file of then reads with the defaults it was run with, and every configuration keeps its identity', () => {
    const text = gunzipSync(readFileSync('examples/family-sweep-h100.jsonl.gz')).toString('utf8');
    expect(text).not.toContain('"damp"');
    const rows = parseResults(text, 'family-sweep-h100.jsonl.gz');
    expect(rows.length).toBeGreaterThan(1000);
    for (const r of rows) {
      const gptq = r.method === 'gptq';
      expect([r.damp, r.static_groups, r.calib_text]).toEqual(gptq ? [QUANTIZE_DEFAULTS.percdamp, false, QUANTIZE_DEFAULTS.calibText] : [null, false, '']);
      expect([r.lm_head_bits, r.lm_head_group_size]).toEqual([16, 0]);
      expect(configId(r)).toBe(oldId(r));
    }
    // and match the configurations a sweep with the defaults plans today
    const g = rows.find((r) => r.method === 'gptq' && r.model === 'qwen3-dict-74k')!;
    const planned = configKey({ ...base, seqLen: g.seqlen, points: [{ bits: g.bits, groupSize: g.group_size, calib: g.calib_size }], mode: g.mode as 'sequential' }, { model: model(g.model), method: 'gptq', point: { bits: g.bits, groupSize: g.group_size, calib: g.calib_size } }, ckpt);
    expect(configId(planned)).toBe(configId(g));
  });

  it('a row stored before the columns, read back as it was (the Sweep tab\'s IndexedDB), keeps its identity and setting', () => {
    const text = gunzipSync(readFileSync('examples/family-sweep-h100.jsonl.gz')).toString('utf8');
    const raw = text.split('\n').filter(Boolean).slice(0, 200).map((l) => JSON.parse(l) as ConfigKey);
    const parsed = parseResults(text, 'family-sweep-h100.jsonl.gz').slice(0, 200);
    for (const [i, r] of raw.entries()) {
      expect(r.damp).toBeUndefined();
      expect(configId(r)).toBe(oldId(r));
      expect(configId(r)).toBe(configId(parsed[i]));
      expect(settingOf(r)).toBe(settingOf(parsed[i]));
    }
  });

  it('old CSV (no such columns, or empty cells) reads the same; new rows keep their value through CSV and JSON Lines', () => {
    const jsonl = gunzipSync(readFileSync('examples/family-sweep-h100.jsonl.gz')).toString('utf8').split('\n').slice(0, 60).join('\n');
    const rows = parseJsonl(jsonl);
    // a CSV written then: the same table without the three columns
    const [header, ...lines] = toCsv(rows).trim().split('\n').map((l) => l.split(','));
    const keep = header.map((h) => !['damp', 'static_groups', 'calib_text', 'lm_head_bits', 'lm_head_group_size'].includes(h));
    const oldCsv = [header, ...lines].map((cells) => cells.filter((_, j) => keep[j]).join(',')).join('\n');
    expect(oldCsv.split('\n')[0]).not.toContain('damp,');
    expect(parseCsv(oldCsv).map(configId)).toEqual(rows.map(configId));
    const g = rows.findIndex((r) => r.method === 'gptq');
    expect(g).toBeGreaterThanOrEqual(0);
    const mine = rows.map((r, i) => (i === g ? { ...r, damp: 0.1, static_groups: true, calib_text: 'x.txt', lm_head_bits: 4, lm_head_group_size: -1 } : r));
    for (const back of [parseCsv(toCsv(mine)), parseJsonl(mine.map((r) => JSON.stringify(r)).join('\n'))]) {
      expect(back[g]).toMatchObject({ damp: 0.1, static_groups: true, calib_text: 'x.txt', lm_head_bits: 4, lm_head_group_size: -1 });
      expect(back.map(configId)).toEqual(mine.map(configId));
    }
  });
});
