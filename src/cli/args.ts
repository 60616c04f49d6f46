// A small argument parser: `--name value`, `--name=value`, `--flag`, and positional arguments.
import { fractionProblem, wholeNumberProblem } from '../sweep/checks';

export class Args {
  readonly positional: string[] = [];
  private readonly opts = new Map<string, string | true>();
  private readonly used = new Set<string>();

  constructor(argv: string[], private readonly flags: ReadonlySet<string> = new Set()) {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (a.startsWith('--')) {
        const eq = a.indexOf('=');
        const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
        if (eq > 0) this.opts.set(key, a.slice(eq + 1));
        else if (flags.has(key) || i + 1 >= argv.length || argv[i + 1].startsWith('--')) this.opts.set(key, true);
        else this.opts.set(key, argv[++i]);
      } else this.positional.push(a);
    }
  }

  has(name: string): boolean {
    this.used.add(name);
    return this.opts.has(name);
  }

  flag(name: string): boolean {
    this.used.add(name);
    const v = this.opts.get(name);
    return v === true || v === 'true' || v === '1';
  }

  str(name: string, dflt?: string): string {
    this.used.add(name);
    const v = this.opts.get(name);
    if (typeof v === 'string') return v;
    if (dflt !== undefined) return dflt;
    throw new UsageError(`--${name} is required`);
  }

  optStr(name: string): string | undefined {
    this.used.add(name);
    const v = this.opts.get(name);
    return typeof v === 'string' ? v : undefined;
  }

  num(name: string, dflt?: number): number {
    const s = this.optStr(name);
    if (s === undefined) {
      if (dflt !== undefined) return dflt;
      throw new UsageError(`--${name} is required`);
    }
    const v = Number(s);
    if (!Number.isFinite(v)) throw new UsageError(`--${name} must be a number (got "${s}")`);
    return v;
  }

  list(name: string, dflt?: string[]): string[] {
    const s = this.optStr(name);
    if (s === undefined) {
      if (dflt !== undefined) return dflt;
      throw new UsageError(`--${name} is required`);
    }
    return s.split(',').map((x) => x.trim()).filter(Boolean);
  }

  nums(name: string, dflt?: number[]): number[] {
    return this.list(name, dflt?.map(String)).map((x) => {
      const v = Number(x);
      if (!Number.isFinite(v)) throw new UsageError(`--${name}: "${x}" is not a number`);
      return v;
    });
  }

  /** A whole number >= min (counts, sizes, seeds). */
  int(name: string, dflt?: number, min = 0): number {
    const v = this.num(name, dflt);
    const problem = wholeNumberProblem(v, min);
    if (problem) throw new UsageError(`--${name} ${problem}`);
    return v;
  }

  /** Whole numbers >= min, comma-separated. */
  ints(name: string, dflt?: number[], min = 0): number[] {
    return this.nums(name, dflt).map((v) => {
      if (wholeNumberProblem(v, min)) throw new UsageError(`--${name}: ${v} is not a whole number >= ${min}`);
      return v;
    });
  }

  /** A number strictly between 0 and 1 (a fraction, e.g. GPTQ's damping). */
  fraction(name: string, dflt?: number): number {
    const v = this.num(name, dflt);
    const problem = fractionProblem(v);
    if (problem) throw new UsageError(`--${name} ${problem}`);
    return v;
  }

  /** One of `choices`. */
  choice<T extends string>(name: string, choices: readonly T[], dflt?: T): T {
    return oneOf(name, this.str(name, dflt), choices);
  }

  /** Some of `choices`, comma-separated. */
  choices<T extends string>(name: string, choices: readonly T[], dflt?: T[]): T[] {
    return this.list(name, dflt).map((v) => oneOf(name, v, choices));
  }

  /** --limit N|all: items per task (a whole number >= 1), null for all, undefined when not given. */
  limit(name = 'limit'): number | null | undefined {
    if (!this.has(name)) return undefined;
    const s = this.optStr(name);
    if (s === 'all') return null;
    if (s === undefined) throw new UsageError(`--${name} needs a value: a whole number >= 1, or all`);
    return this.int(name, undefined, 1);
  }

  /** Options given that the command's usage does not name (nor its flags): refused before it runs. */
  undocumented(usage: string): string[] {
    const known = new Set([...(usage.match(/--[a-z0-9-]+/g) ?? []).map((o) => o.slice(2)), ...this.flags, 'help']);
    return [...this.opts.keys()].filter((k) => !known.has(k));
  }

  /** Options given but never read: almost always a typo. */
  unknown(): string[] {
    return [...this.opts.keys()].filter((k) => !this.used.has(k));
  }
}

function oneOf<T extends string>(name: string, v: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(v)) throw new UsageError(`--${name}: "${v}" is not one of ${choices.join(', ')}`);
  return v as T;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Runs a check of what the user gave; its error becomes a usage error (no stack trace, exit 2), after the option's name where given. */
export function asUsage<T>(check: () => T, option?: string): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(option ? `${option}: ${(e as Error).message}` : (e as Error).message);
  }
}
