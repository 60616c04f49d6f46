// docs/cli.md keeps step with the commands: every registered command has a section, every option its usage string
// names is in that section, and every option the section's table lists is one the command still takes. The
// options are read from the command registry, so a command or option added or renamed in the code fails here
// until the page says so.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Args } from '../../src/cli/args';
import { COMMANDS } from '../../src/cli/commands/index';

const PAGE = 'docs/cli.md';

/** The options a usage string names, as the CLI reads them to refuse unknown ones (Args.undocumented). */
const usageOptions = (usage: string) => [...new Set(usage.match(/--[a-z0-9-]+/g) ?? [])];

/** The page's `## name` sections, by name (fenced code is not searched for headings). */
function sections(md: string): Map<string, string> {
  const out = new Map<string, string>();
  let name: string | null = null;
  let fenced = false;
  for (const line of md.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const h = !fenced && /^## +(.+?) *$/.exec(line);
    if (h) out.set((name = h[1]), '');
    else if (name !== null) out.set(name, out.get(name) + line + '\n');
  }
  return out;
}

/** An option named whole: `--act-order` is not found inside `--no-act-order` nor `--f16` inside `--f16-x`. */
const names = (text: string, option: string) => new RegExp(`(?<![a-z0-9-])${option}(?![a-z0-9-])`).test(text);

/** The options in the first column of a section's tables (`| \`--sym\` / \`--asym\` | ...`). */
const tableOptions = (section: string) =>
  section.split('\n').flatMap((line) => (line.startsWith('|') ? (line.split('|')[1].match(/--[a-z0-9-]+/g) ?? []) : []));

describe('docs/cli.md', () => {
  const page = sections(readFileSync(PAGE, 'utf8'));

  it('has a section for every registered command, and none for a command that does not exist', () => {
    expect(COMMANDS.length).toBeGreaterThan(5);
    const commands = COMMANDS.map((c) => c.name);
    expect(commands.filter((c) => !page.has(c)), 'commands without a section').toEqual([]);
    expect([...page.keys()].filter((s) => !commands.includes(s)), 'sections of no command').toEqual([]);
  });

  for (const command of COMMANDS) {
    it(`${command.name}: its section names every option of its usage, and lists only options it takes`, () => {
      const section = page.get(command.name) ?? '';
      const options = usageOptions(command.usage);
      expect(section, `no section "## ${command.name}" in ${PAGE}`).not.toBe('');
      expect(section).toContain(`quantlab ${command.name}`);
      expect(options.filter((o) => !names(section, o)), `options of \`quantlab ${command.name}\` missing from its section`).toEqual([]);
      // the CLI's own check: an option its table documents but the usage does not name would be refused
      const listed = tableOptions(section);
      expect(new Args(listed, new Set(listed.map((o) => o.slice(2)))).undocumented(command.usage), 'documented options the command does not take').toEqual([]);
    });
  }

  it('the readers find what they should', () => {
    expect(usageOptions('quantlab x --model PATH [--act-order|--no-act-order] [--f16 (shader-f16)] [--model M]')).toEqual(['--model', '--act-order', '--no-act-order', '--f16']);
    const md = '# t\n## a\ntext `--no-act-order`\n```\n## not a heading\n```\n| `--sym` / `--asym` | x --not-this |\n## b\n';
    const s = sections(md);
    expect([...s.keys()]).toEqual(['a', 'b']);
    expect(names(s.get('a')!, '--act-order')).toBe(false);
    expect(names(s.get('a')!, '--no-act-order')).toBe(true);
    expect(tableOptions(s.get('a')!)).toEqual(['--sym', '--asym']);
  });
});
