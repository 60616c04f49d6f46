// Where the lab's own files are (its package.json): the bundled models and data are found there from any
// working directory, as `quantlab` installed on the PATH or run through npx from elsewhere is.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | null = null;

/** The folder of the package.json named quantlab above this module (the working directory if none is). */
function packageRoot(): string {
  if (root !== null) return root;
  let d = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(d, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'quantlab') return (root = d);
    const up = dirname(d);
    if (up === d) return (root = process.cwd());
    d = up;
  }
}

/** A path inside the lab's folder, relative to the working directory where it lies below it (as errors and result rows name it). */
export function labPath(rel: string): string {
  const abs = join(packageRoot(), rel);
  const fromCwd = relative(process.cwd(), abs);
  return fromCwd && !fromCwd.startsWith('..') && !isAbsolute(fromCwd) ? fromCwd : abs;
}
