// The browser's results store: IndexedDB, so sweep results survive a reload or a closed tab.
import { type ResultRow, rowId } from '../sweep/results';
import type { ResultStore } from '../sweep/store';

const DB = 'quantlab';
const STORE = 'results';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error(`IndexedDB unavailable (${req.error?.message}): results will not survive a reload.`));
  });
}

function tx<T>(db: IDBDatabase, mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T> | void): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const req = f(t.objectStore(STORE));
    t.oncomplete = () => resolve(req ? (req as IDBRequest<T>).result : undefined);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error ?? new Error('IndexedDB transaction aborted (storage full?)'));
  });
}

export function indexedDbStore(): ResultStore {
  const dbp = open();
  return {
    async all() {
      return ((await tx<ResultRow[]>(await dbp, 'readonly', (s) => s.getAll())) ?? []) as ResultRow[];
    },
    async append(rows) {
      const db = await dbp;
      await tx(db, 'readwrite', (s) => {
        for (const r of rows) s.put(r, rowId(r));
      });
    },
    async clear() {
      await tx(await dbp, 'readwrite', (s) => s.clear());
    },
  };
}
