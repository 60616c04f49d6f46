import { readFileSync } from 'node:fs';
import { resolveTasks } from '../eval/tasks';
import { type Args, asUsage, UsageError } from './args';

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

/** A file the user named, read whole; one that cannot be read is a usage error naming it (and the option). */
export function readUserFile(path: string, option?: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(`${option ? `${option}: ` : ''}cannot read ${path} (${(e as Error).message})`);
  }
}

export function log(msg: string): void {
  process.stderr.write(msg + '\n');
}

/** --tasks (default: perplexity and the three levels), every name checked before anything runs. */
export function taskList(args: Args): string[] {
  const tasks = args.list('tasks', ['ppl', 'km', 'ka', 'kr']);
  asUsage(() => resolveTasks(tasks, 'dict'), '--tasks'); // unknown names fail whatever the suite
  return tasks;
}
