// quantlab CLI: the lab's engine, headless, on Dawn (npm `webgpu`). `quantlab help` lists the commands.
import { CancelledError, QuantlabError } from '../errors';
import { Args, UsageError } from './args';
import { COMMANDS } from './commands/index';

function help(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'quantlab: GPTQ quantization, evaluation, sweeps and scaling-law fits on WebGPU',
    '',
    'usage: quantlab <command> [options]',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    '`quantlab <command> --help` shows a command\'s options.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(help() + '\n');
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`quantlab: unknown command "${name}"\n\n${help()}\n`);
    return 2;
  }
  if (rest.includes('--help')) {
    process.stdout.write(`${cmd.usage}\n\n${cmd.summary}\n`);
    return 0;
  }
  const args = new Args(rest, new Set(cmd.flags ?? []));
  const undocumented = args.undocumented(cmd.usage);
  if (undocumented.length) {
    // refused up front: an ignored option (a typo, or one another command takes) would run the wrong thing
    process.stderr.write(`quantlab ${name}: unknown option(s) ${undocumented.map((u) => `--${u}`).join(', ')}\nusage: ${cmd.usage}\n`);
    return 2;
  }
  try {
    await cmd.run(args);
    const unknown = args.unknown();
    if (unknown.length) process.stderr.write(`quantlab ${name}: ignored unknown option(s) ${unknown.map((u) => `--${u}`).join(', ')}\n`);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`quantlab ${name}: ${e.message}\nusage: ${cmd.usage}\n`);
      return 2;
    }
    if (e instanceof CancelledError) {
      process.stderr.write(`quantlab ${name}: ${e.message}\n`);
      return 130;
    }
    if (e instanceof QuantlabError) {
      process.stderr.write(`quantlab ${name}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

/**
 * Exits once stdout and stderr have drained. A live Dawn instance keeps node from exiting on its own, so the
 * CLI calls process.exit; called at once, it cut output to a pipe at its 64 KiB buffer (a large --json).
 */
function exitWhenFlushed(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

main(process.argv.slice(2)).then(exitWhenFlushed, (e) => {
  process.stderr.write(`quantlab: ${(e as Error).stack ?? e}\n`);
  exitWhenFlushed(1);
});
