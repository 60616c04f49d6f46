import { readFileSync } from 'node:fs';
import { DEFAULT_TASKS } from '../eval/settings';
import { resolveTasks } from '../eval/tasks';
import type { Gpu, KernelProfile } from '../gpu/gpu';
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

/** Peak memory of this process (host: the OS's max resident set) and of its GPU buffers, for every command's JSON. */
export function memoryReport(gpu?: Gpu): { host_peak_bytes: number; gpu_peak_bytes: number | null } {
  return { host_peak_bytes: process.resourceUsage().maxRSS * 1024, gpu_peak_bytes: gpu ? gpu.memory.peak : null };
}

/** Kernels by GPU time (Gpu.profiler), as a table on stderr and as rows for the JSON. */
export async function reportProfile(profile: KernelProfile): Promise<{ kernel: string; ms: number; dispatches: number; share: number }[]> {
  const rows = await profile.table();
  log('GPU time by kernel (one pass per dispatch):');
  for (const r of rows.slice(0, 25)) log(`  ${(100 * r.share).toFixed(1).padStart(5)}%  ${r.ms.toFixed(2).padStart(9)} ms  ${String(r.dispatches).padStart(6)} x  ${r.kernel}`);
  return rows;
}

export function log(msg: string): void {
  process.stderr.write(msg + '\n');
}

/** --tasks (default: perplexity and the three levels), every name checked before anything runs. */
export function taskList(args: Args): string[] {
  const tasks = args.list('tasks', [...DEFAULT_TASKS]);
  asUsage(() => resolveTasks(tasks, 'dict'), '--tasks'); // unknown names fail whatever the suite
  return tasks;
}
