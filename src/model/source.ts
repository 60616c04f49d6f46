// Where model bytes come from. A checkpoint is a set of named files; each opens as a ByteSource that is read
// in ranges, so a multi-GB safetensors file never has to sit in one ArrayBuffer. Browser folders, Cache
// Storage blobs, Node files and in-memory fixtures all fit these two interfaces.

export interface ByteSource {
  readonly name: string;
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface ModelFiles {
  /** Shown in errors and result rows: a folder name, a URL or a Hugging Face id. */
  readonly id: string;
  has(path: string): boolean;
  list(): string[];
  open(path: string): Promise<ByteSource>;
}

export function bytesSource(name: string, bytes: Uint8Array): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    read: async (offset, length) => bytes.subarray(offset, Math.min(bytes.byteLength, offset + length)),
  };
}

export function blobSource(name: string, blob: Blob): ByteSource {
  return {
    name,
    size: blob.size,
    read: async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()),
  };
}

/** Model files held in a map by path, each opened through `source`. */
export function mapFiles<T>(id: string, files: Map<string, T>, source: (name: string, file: T) => ByteSource): ModelFiles {
  return {
    id,
    has: (p) => files.has(p),
    list: () => [...files.keys()].sort(),
    open: async (p) => {
      const f = files.get(p);
      if (f === undefined) throw new Error(`${id}: no file ${p}`);
      return source(`${id}/${p}`, f);
    },
  };
}

/** Files held as Blobs (a folder picked or dropped in the browser, or downloaded files). */
export function blobFiles(id: string, files: Map<string, Blob>): ModelFiles {
  return mapFiles(id, files, blobSource);
}

export async function readText(files: ModelFiles, path: string): Promise<string> {
  const src = await files.open(path);
  return new TextDecoder().decode(await src.read(0, src.size));
}
