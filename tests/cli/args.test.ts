// The CLI's argument checks: options a command's usage does not name are refused before it runs, and every
// command line the README and examples/README show passes that check.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Args, asUsage, UsageError } from '../../src/cli/args';
import { COMMANDS } from '../../src/cli/commands/index';

const command = (name: string) => {
  const c = COMMANDS.find((x) => x.name === name);
  if (!c) throw new Error(`no command ${name}`);
  return c;
};

describe('CLI options', () => {
  it('an option the usage does not name is reported (a typo or another command\'s option)', () => {
    const gen = command('generate');
    expect(new Args(['--model', 'm', '--quantized', '/tmp/q', '--prompt', 'x'], new Set(gen.flags)).undocumented(gen.usage)).toEqual(['quantized']);
    expect(new Args(['--model', 'm', '--prompt', 'x', '--f16', '--ignore-eos', '--json'], new Set(gen.flags)).undocumented(gen.usage)).toEqual([]);
    const bench = command('bench');
    expect(new Args(['--gemv-kernel', 'f16'], new Set(bench.flags)).undocumented(bench.usage)).toEqual(['gemv-kernel']);
  });

  it('typed values: whole numbers, fractions, choices and --limit N|all, each refused with the option named', () => {
    const a = new Args(['--n', '3', '--bad', '2.5', '--neg', '-1', '--f', '0.05', '--m', 'rtn', '--ms', 'gptq,rtn', '--limit', 'all']);
    expect(a.int('n', 0, 1)).toBe(3);
    expect(a.int('absent', 7)).toBe(7);
    expect(() => a.int('bad')).toThrow('--bad must be a whole number >= 0 (got 2.5)');
    expect(() => a.int('neg')).toThrow('--neg must be a whole number >= 0 (got -1)');
    expect(a.fraction('f')).toBe(0.05);
    expect(() => a.fraction('n')).toThrow('--n must be a fraction between 0 and 1 (got 3)');
    expect(a.choice('m', ['gptq', 'rtn'] as const)).toBe('rtn');
    expect(a.choice('absent', ['gptq', 'rtn'] as const, 'gptq')).toBe('gptq');
    expect(() => a.choice('m', ['gptq'] as const)).toThrow('--m: "rtn" is not one of gptq');
    expect(a.choices('ms', ['gptq', 'rtn'] as const)).toEqual(['gptq', 'rtn']);
    expect(a.limit()).toBeNull();
    expect(new Args([]).limit()).toBeUndefined();
    expect(new Args(['--limit', '20']).limit()).toBe(20);
    expect(() => new Args(['--limit', '0']).limit()).toThrow('--limit must be a whole number >= 1 (got 0)');
    expect(() => new Args(['--limit']).limit()).toThrow('--limit needs a value');
    expect(() => asUsage(() => { throw new Error('Unknown preset "x"'); }, '--preset')).toThrow(new UsageError('--preset: Unknown preset "x"'));
  });

  it('every quantlab command line in the docs uses only options its command names', () => {
    const docs = ['README.md', 'examples/README.md'].map((f) => readFileSync(f, 'utf8')).join('\n').replace(/\\\n\s*/g, ' ');
    const lines = [...docs.matchAll(/quantlab ([a-z]+)((?: +[^ `#\n&|)]+)*)/g)].filter(([, name]) => COMMANDS.some((c) => c.name === name));
    expect(lines.length).toBeGreaterThan(15);
    for (const [line, name, rest] of lines) {
      const c = command(name);
      const argv = rest.trim().split(/ +/).filter(Boolean).map((a) => a.replace(/^"|"$/g, '').replace(/[,.;:]$/, ''));
      expect(new Args(argv, new Set(c.flags)).undocumented(c.usage), line).toEqual([]);
    }
  });
});
