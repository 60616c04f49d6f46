// public/data for Node front ends.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataReader } from '../eval/run';

export function nodeDataReader(dir = 'public/data'): DataReader {
  return {
    read: async (path) => {
      try {
        return await readFile(join(dir, path), 'utf8');
      } catch (e) {
        throw new Error(`Cannot read ${join(dir, path)} (${(e as Error).message}): run quantlab from the repository, or pass --data DIR.`);
      }
    },
  };
}
