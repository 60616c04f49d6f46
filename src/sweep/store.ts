// Where sweep results are kept: IndexedDB in the browser (src/ui/idb-store.ts), JSON Lines in the CLI
// (src/cli/jsonl-store.ts), memory in tests. Rows are appended one configuration at a time, so whatever was
// finished survives a crash, a closed tab or a cancel.
import { type ResultRow, rowId } from './results';

export interface ResultStore {
  all(): Promise<ResultRow[]>;
  /** Stores rows; a row whose (configuration, task) is stored already replaces it (mergeRows decides which win). */
  append(rows: ResultRow[]): Promise<void>;
  clear(): Promise<void>;
}

export function memoryStore(initial: ResultRow[] = []): ResultStore & { rows: ResultRow[] } {
  const rows = [...initial];
  return {
    rows,
    all: async () => [...rows],
    append: async (rs) => {
      const at = new Map(rows.map((r, i) => [rowId(r), i]));
      for (const r of rs) {
        const i = at.get(rowId(r));
        if (i === undefined) at.set(rowId(r), rows.push(r) - 1);
        else rows[i] = r;
      }
    },
    clear: async () => {
      rows.length = 0;
    },
  };
}
