// The CLI's argument checks: options a command's usage does not name are refused before it runs, and every
// command line the README and examples/README show passes that check.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Args } from '../../src/cli/args';
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
