// The CLI killed mid-sweep, then run again: it finishes the remaining configurations without redoing the
// finished ones, and every (configuration, task) row exists exactly once.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configId, parseJsonl, rowId } from '../../src/sweep/results';

const ARGS = ['sweep', '--model', 'qwen3-dict-74k', '--bits', '3,4', '--group', '32,64', '--calib', '8', '--tasks', 'ppl,dict_kindof_cloze',
  '--limit', '6', '--ppl-windows', '1', '--seqlen', '64', '--mode', 'shared'];

function runCli(args: string[], killAfterSaves?: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/quantlab.mjs', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '', saves = 0;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const n = (stderr.match(/saved \d+ rows/g) ?? []).length;
      if (killAfterSaves !== undefined && n >= killAfterSaves && saves < n) {
        saves = n;
        child.kill('SIGKILL'); // no chance to clean up: like a crash or a closed terminal
      }
    });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('quantlab sweep', () => {
  it('resumes after being killed, without redoing finished configurations', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'ql-')), 'results.jsonl');
    const first = await runCli([...ARGS, '--out', out], 2);
    expect(first.code).not.toBe(0);
    const partial = parseJsonl(readFileSync(out, 'utf8'));
    const doneConfigs = new Set(partial.map(configId));
    expect(doneConfigs.size).toBeGreaterThanOrEqual(2);
    expect(doneConfigs.size).toBeLessThan(5);
    const second = await runCli([...ARGS, '--out', out]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(new RegExp(`${doneConfigs.size} already done`));
    const rows = parseJsonl(readFileSync(out, 'utf8'));
    expect(new Set(rows.map(configId)).size).toBe(5); // baseline + 2 bits x 2 G
    expect(new Set(rows.map(rowId)).size).toBe(rows.length);
    // rows written before the kill are untouched
    expect(rows.slice(0, partial.length)).toEqual(partial);
  });
});
