// public/data for Node front ends.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataReader } from '../eval/run';
import { InputFileError } from '../errors';

export function nodeDataReader(dir = 'public/data'): DataReader {
  if (!existsSync(dir)) throw new InputFileError(`The data folder ${dir} does not exist.`, 'Run quantlab from the repository (its public/data), or pass --data DIR.');
  return {
    read: async (path) => {
      try {
        return await readFile(join(dir, path), 'utf8');
      } catch (e) {
        throw new InputFileError(`Cannot read ${join(dir, path)} (${(e as Error).message}).`, 'Run quantlab from the repository (its public/data), or pass --data DIR.');
      }
    },
  };
}
