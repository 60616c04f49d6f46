// Browser adapters for model files: a folder picked with <input webkitdirectory> or dropped on the page,
// and Cache Storage for downloads.
import type { DownloadCache } from '../model/hub';
import { blobFiles, type ModelFiles } from '../model/source';

/** Strips the top folder: "Qwen3-0.6B/config.json" -> "config.json". */
function relPath(p: string): string {
  const parts = p.split('/').filter(Boolean);
  return parts.length > 1 ? parts.slice(1).join('/') : parts[0];
}

export function filesFromInput(list: FileList): ModelFiles {
  const map = new Map<string, Blob>();
  let top = 'folder';
  for (const f of Array.from(list)) {
    const rp = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
    top = rp.split('/')[0] || top;
    map.set(relPath(rp), f);
  }
  return blobFiles(top, map);
}

async function readEntry(entry: FileSystemEntry, prefix: string, map: Map<string, Blob>): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
    map.set(prefix + entry.name, file);
  } else if (entry.isDirectory) {
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
      if (!batch.length) break;
      for (const e of batch) await readEntry(e, `${prefix}${entry.name}/`, map);
    }
  }
}

export async function filesFromDrop(items: DataTransferItemList): Promise<ModelFiles> {
  const map = new Map<string, Blob>();
  let top = 'dropped';
  for (const item of Array.from(items)) {
    const entry = item.webkitGetAsEntry?.();
    if (!entry) continue;
    if (entry.isDirectory) top = entry.name;
    await readEntry(entry, '', map);
  }
  const rel = new Map<string, Blob>();
  for (const [k, v] of map) rel.set(relPath(k), v);
  return blobFiles(top, rel);
}

/** Downloads persist in Cache Storage, so a reload does not download again. */
export function cacheStorage(name = 'quantlab-models'): DownloadCache | undefined {
  if (typeof caches === 'undefined') return undefined;
  return {
    async get(key) {
      const r = await (await caches.open(name)).match(key);
      return r ? r.blob() : null;
    },
    async put(key, body, size) {
      const cache = await caches.open(name);
      const headers: Record<string, string> = {};
      if (size !== null) headers['content-length'] = String(size);
      await cache.put(key, new Response(body, { headers }));
      const r = await cache.match(key);
      if (!r) throw new Error(`Cache Storage did not keep ${key}`);
      return r.blob();
    },
  };
}

export function bundledUrl(name: string): string {
  return new URL(`models/${name}/`, document.baseURI).href;
}
