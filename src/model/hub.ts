// Downloads a checkpoint from a URL folder or a Hugging Face id (e.g. Qwen/Qwen3-0.6B), file by file, with
// progress and a persistent cache, so a reload does not download again. The cache is injected by the front
// end (Cache Storage in the browser, a directory in Node); fetch is the platform's.

import { CancelledError, QuantlabError } from '../errors';
import type { OnProgress } from '../progress';
import { progressTracker } from '../progress';
import { blobFiles, type ModelFiles } from './source';

export interface DownloadCache {
  get(key: string): Promise<Blob | null>;
  /** Stores the body and returns the stored file. */
  put(key: string, body: ReadableStream<Uint8Array>, size: number | null): Promise<Blob>;
}

export interface HubOptions {
  endpoint?: string;
  revision?: string;
  cache?: DownloadCache;
  fetchFn?: typeof fetch;
  onProgress?: OnProgress;
  signal?: AbortSignal;
  /** The folder's files, when known (bundled models): nothing is probed. */
  files?: string[];
  /** false: config.json and the tokenizer files only (what planning needs), no weights. */
  weights?: boolean;
}

export class DownloadError extends QuantlabError {}

const OPTIONAL = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'quantize_config.json'];

/** The base URL of a model folder: a URL as given, or <endpoint>/<id>/resolve/<revision>/ for a Hub id. */
export function modelBaseUrl(spec: string, endpoint = 'https://huggingface.co', revision = 'main'): string {
  if (/^https?:\/\//i.test(spec)) return spec.endsWith('/') ? spec : `${spec}/`;
  if (/^[\w.-]+\/[\w.-]+$/.test(spec)) return `${endpoint.replace(/\/$/, '')}/${spec}/resolve/${revision}/`;
  throw new DownloadError(
    `"${spec}" is neither a local folder, a bundled model, a URL nor a Hugging Face id.`,
    'Give a folder holding config.json, a bundled model name, an http(s) URL of a model folder, or an id like Qwen/Qwen3-0.6B.',
  );
}

/** Reads a response body chunk by chunk, reporting bytes, into a stream for the cache (or memory). */
function counted(body: ReadableStream<Uint8Array>, onBytes: (n: number) => void, signal?: AbortSignal): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let n = 0;
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      if (signal?.aborted) {
        await reader.cancel();
        ctrl.error(new CancelledError('download'));
        return;
      }
      const { done, value } = await reader.read();
      if (done) {
        ctrl.close();
        return;
      }
      n += value.byteLength;
      onBytes(n);
      ctrl.enqueue(value);
    },
    cancel: (r) => reader.cancel(r),
  });
}

async function toBlob(stream: ReadableStream<Uint8Array>): Promise<Blob> {
  return new Response(stream).blob();
}

export async function fetchModelFiles(spec: string, opts: HubOptions = {}): Promise<ModelFiles> {
  const base = modelBaseUrl(spec, opts.endpoint, opts.revision);
  const doFetch = opts.fetchFn ?? fetch;
  const files = new Map<string, Blob>();

  /** `listedBy`: the file that names this one (a shard named by the index), for the error if it is missing. */
  async function get(name: string, required: boolean, listedBy?: string): Promise<Blob | null> {
    const url = base + name;
    const cached = await opts.cache?.get(url);
    if (cached) {
      files.set(name, cached);
      opts.onProgress?.({ what: `${name} (cached)`, done: cached.size, total: cached.size, unit: 'bytes' });
      return cached;
    }
    let res: Response;
    try {
      res = await doFetch(url, { signal: opts.signal });
    } catch (e) {
      if (opts.signal?.aborted) throw new CancelledError('download');
      // offline, an optional file that was not cached is taken as absent: a cached model still loads
      if (!required) return null;
      throw new DownloadError(`Could not reach ${url} (${(e as Error).message}).`, 'Check the network connection and the address, then try again; files already downloaded are kept.');
    }
    // A single-page-app server answers a missing file with its index.html: that is a 404 too.
    const missing = res.status === 404 || (res.ok && (res.headers.get('content-type') ?? '').includes('text/html'));
    if (missing && !required) return null;
    if (missing && listedBy) {
      throw new DownloadError(
        `${name} is missing: ${listedBy} names it, but ${url} does not exist.`,
        'The repository is incomplete or its index is wrong: check the file list on the Hub (or the server); files already downloaded are kept.',
      );
    }
    if (missing) {
      throw new DownloadError(`${url} does not exist.`, 'Check the model id or URL: the folder must hold config.json and model.safetensors (Hugging Face layout).');
    }
    if (res.status === 401 || res.status === 403) {
      throw new DownloadError(`${url} answered ${res.status}: the model is gated or private.`, 'Accept its licence on huggingface.co and download it there, then load the folder from disk.');
    }
    if (!res.ok || !res.body) {
      throw new DownloadError(`${url} answered ${res.status} ${res.statusText}.`, required ? 'Check the model id or URL (it must hold config.json and model.safetensors).' : 'Try again later.');
    }
    const size = Number(res.headers.get('content-length')) || null;
    const tick = progressTracker(`download ${name}`, size ?? 0, opts.onProgress, 'bytes');
    const body = counted(res.body, (n) => tick(n), opts.signal);
    let blob: Blob;
    try {
      blob = opts.cache ? await opts.cache.put(url, body, size) : await toBlob(body);
    } catch (e) {
      if (e instanceof CancelledError || opts.signal?.aborted) throw new CancelledError('download');
      throw new DownloadError(`${url}: the download broke off (${(e as Error).message}).`, 'Try again; files already downloaded are kept.');
    }
    if (size !== null && blob.size !== size) {
      throw new DownloadError(`${url}: received ${blob.size} of ${size} bytes.`, 'The download was interrupted: try again.');
    }
    files.set(name, blob);
    return blob;
  }

  const known = opts.files ? new Set(opts.files) : await listHubFiles(spec, opts, doFetch);
  const has = (f: string) => !known || known.has(f);
  await get('config.json', true);
  const index = opts.weights === false ? null : has('model.safetensors.index.json') ? await get('model.safetensors.index.json', false) : null;
  if (index) {
    let map: Record<string, string>;
    try {
      map = (JSON.parse(await index.text()) as { weight_map: Record<string, string> }).weight_map;
    } catch (e) {
      throw new DownloadError(`${base}model.safetensors.index.json is not valid JSON (${(e as Error).message}).`, 'Check the model repository.');
    }
    for (const shard of [...new Set(Object.values(map))].sort()) await get(shard, true, 'model.safetensors.index.json');
  } else if (opts.weights !== false) {
    await get('model.safetensors', true);
  }
  for (const f of OPTIONAL) if (has(f)) await get(f, false);
  return blobFiles(spec, files);
}

/** The Hub's file list of a model id (its API), so optional files are not probed; null when unavailable. */
async function listHubFiles(spec: string, opts: HubOptions, doFetch: typeof fetch): Promise<Set<string> | null> {
  if (/^https?:\/\//i.test(spec)) return null;
  const endpoint = (opts.endpoint ?? 'https://huggingface.co').replace(/\/$/, '');
  try {
    const res = await doFetch(`${endpoint}/api/models/${spec}/revision/${opts.revision ?? 'main'}`, { signal: opts.signal });
    if (!res.ok) return null;
    const j = (await res.json()) as { siblings?: { rfilename: string }[] };
    return j.siblings ? new Set(j.siblings.map((s) => s.rfilename)) : null;
  } catch {
    return null;
  }
}
