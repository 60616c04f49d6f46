import type { Args } from './args';

/** One CLI command: one file in src/cli/commands/, one line in its index. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Options that take no value. */
  flags?: string[];
  run(args: Args): Promise<void>;
}

/** Machine-readable results go to stdout; progress and messages to stderr. */
export function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v, null, 1) + '\n');
}

export function log(msg: string): void {
  process.stderr.write(msg + '\n');
}
