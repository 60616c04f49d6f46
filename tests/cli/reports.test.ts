// Files and values the CLI is given: a saved benchmark report printed without a GPU, and clear errors (no stack
// trace; the file or option, what is wrong, what to do) for files that are not what the command reads and for
// grid values the lab cannot run (refused before anything loads).
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const quantlab = (...args: string[]) => spawnSync(process.execPath, ['bin/quantlab.mjs', ...args], { encoding: 'utf8' });
const H100 = 'bench/results/2026-11-23-h100-bench-fold.json';

describe('quantlab with saved files and bad input', () => {
  it('bench --report prints a saved report: the at-a-glance summary, then every row', () => {
    const md = execFileSync(process.execPath, ['bin/quantlab.mjs', 'bench', '--report', H100], { encoding: 'utf8' });
    expect(md).toContain('Adapter: nvidia / nvidia-h100-80gb-hbm3');
    expect(md).toContain('| 8B gate/up 4096x14336 | 1 | quantlab 4-bit G=128 f16 | 14.2 | 70% of probe | 5.5x | 20x |');
    expect(md).toContain('| 8B gate/up 4096x14336 | 128 | quantlab 4-bit G=128 | 743.9 | 20.2 TFLOP/s | 2.9x | 3.6x |');
    expect(md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| shape')).length).toBe(16 + 153);
    const json = JSON.parse(execFileSync(process.execPath, ['bin/quantlab.mjs', 'bench', '--report', H100, '--json'], { encoding: 'utf8' }));
    expect(json.rows.length).toBe(153);
  });

  it('a file that is not what the command reads: exit 1, the file and the problem, what to do, no stack', () => {
    for (const [args, says] of [
      [['bench', '--report', 'README.md'], /README.md is not a kernel benchmark report \(not JSON.*Open a file saved by the Benchmark tab/],
      [['bench', '--report', 'examples/README.md'], /not a kernel benchmark report/],
      [['fit', 'README.md'], /README.md:2: the row has no "model". Give results the lab wrote/],
      [['info', '--model', 'README.md'], /README.md: cannot be read as a model folder .*Pass the folder holding config.json/],
    ] as const) {
      const r = quantlab(...args);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(says);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    for (const [args, says] of [
      [['sweep', '--model', 'qwen3-dict-74k', '--bits', '4,5', '--dry-run', '--out', 'x.jsonl'], /bit width 5 cannot run/],
      [['quantize', '--model', 'qwen3-dict-74k', '--group', '48', '--out', 'q'], /group size 48 cannot run/],
    ] as const) {
      const r = quantlab(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(says);
    }
    // values no command can use: refused before a model loads or a GPU opens (exit 2, the option, the usage)
    for (const [args, says] of [
      [['eval', '--model', 'qwen3-dict-74k', '--tasks', 'km,foo'], /--tasks: Unknown task "foo"\. Tasks: dict_kindof_cloze/],
      [['eval', '--model', 'qwen3-dict-74k', '--limit', '-3'], /--limit must be a whole number >= 1 \(got -3\)/],
      [['eval', '--model', 'qwen3-dict-74k', '--suite', 'wiki'], /--suite: "wiki" is not one of dict, real/],
      [['generate', '--model', 'qwen3-dict-74k', '--prompt', 'x', '--max-tokens', '0'], /--max-tokens must be a whole number >= 1/],
      [['quantize', '--model', 'qwen3-dict-74k', '--calib', '0', '--out', 'q'], /GPTQ needs at least 1 calibration sequence/],
      [['quantize', '--model', 'qwen3-dict-74k', '--damp', '5', '--out', 'q'], /--damp must be a fraction between 0 and 1/],
      [['quantize', '--model', 'qwen3-dict-74k', '--format', 'v3', '--out', 'q'], /--format: "v3" is not one of gptq, gptq_v2/],
      [['quantize', '--model', 'qwen3-dict-74k', '--lm-head-bits', '5', '--out', 'q'], /--lm-head-bits \/ --lm-head-group: bit width 5 cannot run/],
      [['sweep', '--model', 'qwen3-dict-74k', '--preset', 'big', '--out', 'x.jsonl'], /--preset: Unknown preset "big"; one of quick/],
      [['sweep', '--model', 'qwen3-dict-74k', '--tasks', 'foo', '--out', 'x.jsonl'], /--tasks: Unknown task "foo"/],
      [['sweep', '--model', 'qwen3-dict-74k', '--methods', 'gptq,awq', '--out', 'x.jsonl'], /--methods: "awq" is not one of gptq, rtn/],
      [['bench', '--shapes', '100x64'], /--shapes: "100x64" is not full, small or KxN/],
      [['bench', '--batches', '0'], /--batches: 0 is not a whole number >= 1/],
      [['bench', '--bits', '4,6'], /bit width 6 cannot run/],
      [['fit', 'examples/family-sweep-h100.jsonl.gz', '--published', 'gemma'], /--published: "gemma" is not one of qwen3, llama3/],
      [['fit', 'examples/family-sweep-h100.jsonl.gz', '--level', 'KM,KX'], /--level: "KX" is not one of General, KM, KA, KR/],
    ] as const) {
      const r = quantlab(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(says);
      expect(r.stderr).toMatch(/\nusage: quantlab /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    // a model or a data folder that is not there: exit 1 with what to do, before any work
    for (const [args, says] of [
      [['sweep', '--model', 'no-such-model', '--out', 'x.jsonl'], /"no-such-model" is neither a local folder, a bundled model, a URL nor a Hugging Face id/],
      [['eval', '--model', 'qwen3-dict-74k', '--data', 'no-such-dir'], /The data folder no-such-dir does not exist\. Pass --data DIR \(a folder laid out as public\/data\)/],
    ] as const) {
      const r = quantlab(...args);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(says);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const missing = quantlab('fit', 'no-such-results.jsonl');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot read no-such-results.jsonl/);
  });
});
