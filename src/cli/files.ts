// Node adapters for model files: a checkpoint directory on disk, read in ranges.
import { CheckpointError } from '../model/errors';
import { openSync, readSync, readdirSync, statSync, closeSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { ByteSource, ModelFiles } from '../model/source';

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

export function dirFiles(dir: string): ModelFiles {
  const root = resolve(dir);
  const list: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) list.push(relative(root, p).split('\\').join('/'));
    }
  };
  try {
    walk(root);
  } catch (e) {
    throw new CheckpointError(dir, `cannot be read as a model folder (${(e as Error).message})`, 'Pass the folder holding config.json and model.safetensors (the Hugging Face layout).');
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
