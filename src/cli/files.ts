// Node adapters for model files: a checkpoint directory on disk, read in ranges; folders written whole.
import { CheckpointError } from '../model/errors';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readlinkSync, readSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { ByteSource, ModelFiles } from '../model/source';
import { UsageError } from './args';

export function fileSource(path: string, name = path): ByteSource {
  const size = statSync(path).size;
  return {
    name,
    size,
    read: async (offset, length) => {
      const n = Math.max(0, Math.min(length, size - offset));
      const out = new Uint8Array(n);
      const fd = openSync(path, 'r');
      try {
        let got = 0;
        while (got < n) {
          const r = readSync(fd, out, got, n - got, offset + got);
          if (r === 0) break;
          got += r;
        }
        return got === n ? out : out.subarray(0, got);
      } finally {
        closeSync(fd);
      }
    },
  };
}

/** The files a checkpoint is read from (a dangling link to one of these refuses the folder). */
const MODEL_FILE = /(^|\/)(config\.json|quantize_config\.json|generation_config\.json|tokenizer(_config)?\.json|[^/]*\.safetensors(\.index\.json)?)$/;

export function dirFiles(dir: string): ModelFiles {
  const root = resolve(dir);
  const list: string[] = [];
  // Links to files are followed (a Hugging Face cache snapshot, snapshots/REV/, is links into blobs/); links to
  // folders only inside the model folder and not back into a folder being walked (a cycle). A link that cannot
  // be followed (dangling, a loop, unreadable) is left out, as a missing file, unless a model needs it (below).
  let realRoot = '';
  const broken: string[] = [];
  const rel = (p: string) => relative(root, p).split('\\').join('/');
  const walk = (d: string, ancestors: Set<string>) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (!e.isSymbolicLink()) {
        if (e.isDirectory()) walk(p, new Set([...ancestors, realpathSync(p)]));
        else if (e.isFile()) list.push(rel(p));
        continue;
      }
      let target: { real: string; dir: boolean; file: boolean };
      try {
        const st = statSync(p);
        target = { real: realpathSync(p), dir: st.isDirectory(), file: st.isFile() };
      } catch {
        broken.push(rel(p));
        continue;
      }
      if (target.file) list.push(rel(p));
      else if (target.dir && !ancestors.has(target.real) && (target.real + sep).startsWith(realRoot + sep)) walk(p, new Set([...ancestors, target.real]));
    }
  };
  try {
    realRoot = realpathSync(root);
    walk(root, new Set([realRoot]));
  } catch (e) {
    throw new CheckpointError(dir, `cannot be read as a model folder (${(e as Error).message})`, 'Pass the folder holding config.json and model.safetensors (the Hugging Face layout).');
  }
  // a model file that is a dangling link: a Hugging Face cache whose download broke off before that blob
  const needed = broken.find((p) => MODEL_FILE.test(p));
  if (needed) {
    let to = '';
    try {
      to = ` to ${readlinkSync(join(root, needed))}`;
    } catch {
      // not readable as a link either: named without its target
    }
    throw new CheckpointError(`${dir}/${needed}`, `is a link${to} that leads nowhere (a download that broke off?)`, 'Download the model again (a Hugging Face cache: huggingface-cli download with the model\'s id), or pick a complete folder; nothing was loaded.');
  }
  const set = new Set(list);
  return {
    id: dir,
    has: (p) => set.has(p),
    list: () => [...list].sort(),
    open: async (p) => {
      if (!set.has(p)) throw new CheckpointError(`${dir}/${p}`, 'is missing', 'Add the file from the model\'s repository; nothing was loaded.');
      return fileSource(join(root, p), `${dir}/${p}`);
    },
  };
}

/**
 * Refuses an output folder that writeFolder would replace but that the command did not write: it must be new,
 * empty, or hold `marker` (a file only this command's output has).
 */
export function checkReplaceable(out: string, marker: string, what: string): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory() || (readdirSync(out).length > 0 && !existsSync(join(out, marker)))) {
    throw new UsageError(`--out: ${out} exists and is not ${what} (no ${marker}); the output replaces the folder whole, so give a new folder`);
  }
}

/** A file to write: its bytes, or its bytes a chunk at a time (multi-GB checkpoints). */
export type OutFile = { name: string; data: Uint8Array } | { name: string; chunks(): Iterable<Uint8Array> };

/**
 * Writes a folder whole or not at all: into a hidden sibling first, renamed to `out` once every file is
 * written (a folder already at `out` is replaced only then). A process killed midway leaves `out` as it was
 * and a `.NAME.partial-PID` folder beside it, which the next write of the same folder removes.
 */
export function writeFolder(out: string, files: OutFile[]): void {
  const target = resolve(out);
  const parent = dirname(target), base = basename(target);
  mkdirSync(parent, { recursive: true });
  for (const e of readdirSync(parent)) if (e.startsWith(`.${base}.partial-`)) rmSync(join(parent, e), { recursive: true, force: true });
  const tmp = join(parent, `.${base}.partial-${process.pid}`);
  mkdirSync(tmp);
  try {
    for (const f of files) {
      const path = join(tmp, f.name);
      mkdirSync(dirname(path), { recursive: true });
      const fd = openSync(path, 'w');
      try {
        for (const chunk of 'data' in f ? [f.data] : f.chunks()) writeSync(fd, chunk);
      } finally {
        closeSync(fd);
      }
    }
    if (existsSync(target)) {
      const old = join(parent, `.${base}.old-${process.pid}`);
      renameSync(target, old);
      renameSync(tmp, target);
      rmSync(old, { recursive: true, force: true });
    } else renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
