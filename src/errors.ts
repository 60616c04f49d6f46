// The error base every part of the lab shares: a message that ends with what the user should do, cancellation,
// and bad input files. GPU errors live in src/gpu/errors.ts, checkpoint errors in src/model/errors.ts.

export class QuantlabError extends Error {
  /** What the user should do next, shown on its own line in the UI and the CLI. */
  readonly action: string;
  constructor(message: string, action: string, options?: { cause?: unknown }) {
    super(`${message} ${action}`, options);
    this.name = new.target.name;
    this.action = action;
  }
}

/** The user pressed Cancel (or an AbortSignal fired). Not an error to report, only to stop on. */
export class CancelledError extends Error {
  constructor(what = 'operation') {
    super(`${what} cancelled`);
    this.name = 'CancelledError';
  }
}

export function throwIfAborted(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw new CancelledError(what);
}

/** A file the user gave (sweep results, a benchmark report) is not what it should be: names the file, line and problem. */
export class InputFileError extends QuantlabError {}
