// The CLI's results store: a JSON Lines file, appended one configuration at a time (and flushed), so that a
// killed sweep keeps everything it finished. A line cut short by the kill is ignored on the next run. A row
// appended again for the same (configuration, task) replaces the earlier line when read.
import { appendFileSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { parseJsonl, rowId, toJsonl } from '../sweep/results';
import type { ResultStore } from '../sweep/store';

export function jsonlStore(path: string): ResultStore {
  return {
    all: async () => {
      if (!existsSync(path)) return [];
      const last = new Map(parseJsonl(readFileSync(path, 'utf8'), path).map((r) => [rowId(r), r]));
      return [...last.values()];
    },
    append: async (rows) => {
      if (!rows.length) return;
      // Start on a fresh line if a previous run died mid-line.
      const text = readTail(path);
      appendFileSync(path, (text && !text.endsWith('\n') ? '\n' : '') + toJsonl(rows));
      const fd = openSync(path, 'r+');
      fsyncSync(fd);
      closeSync(fd);
    },
    clear: async () => writeFileSync(path, ''),
  };
}

function readTail(path: string): string {
  if (!existsSync(path)) return '';
  const t = readFileSync(path, 'utf8');
  return t.slice(-1);
}
