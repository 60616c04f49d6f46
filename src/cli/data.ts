// public/data for Node front ends.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataReader } from '../eval/run';
import { InputFileError } from '../errors';
import { labPath } from './package-root';

/** The bundled data (public/data of the lab's folder, wherever quantlab runs from): --data's default. */
export const DATA_DIR = labPath('public/data');

export function nodeDataReader(dir = DATA_DIR): DataReader {
  if (!existsSync(dir)) throw new InputFileError(`The data folder ${dir} does not exist.`, 'Pass --data DIR (a folder laid out as public/data).');
  return {
    read: async (path) => {
      try {
        return await readFile(join(dir, path), 'utf8');
      } catch (e) {
        throw new InputFileError(`Cannot read ${join(dir, path)} (${(e as Error).message}).`, 'Pass --data DIR (a folder laid out as public/data).');
      }
    },
  };
}
