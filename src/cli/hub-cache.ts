// Node side of the hub download: a cache directory (~/.cache/quantlab/hub, or $QUANTLAB_CACHE).
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, openAsBlob, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { type DownloadCache, fetchModelFiles, type HubOptions } from '../model/hub';
import type { ModelFiles } from '../model/source';
import { formatProgress } from '../progress';

export function dirCache(dir = process.env.QUANTLAB_CACHE ?? join(homedir(), '.cache', 'quantlab', 'hub')): DownloadCache {
  const path = (key: string) => join(dir, createHash('sha256').update(key).digest('hex').slice(0, 32));
  return {
    async get(key) {
      const p = path(key);
      return existsSync(p) ? openAsBlob(p) : null;
    },
    async put(key, body) {
      mkdirSync(dir, { recursive: true });
      const p = path(key);
      try {
        await pipeline(Readable.fromWeb(body as unknown as NodeReadableStream), createWriteStream(p + '.part'));
      } catch (e) {
        rmSync(p + '.part', { force: true }); // an interrupted download keeps nothing: the next run fetches it whole
        throw e;
      }
      renameSync(p + '.part', p);
      return openAsBlob(p);
    },
  };
}

export async function nodeHubFiles(spec: string, opts: Pick<HubOptions, 'weights'> = {}): Promise<ModelFiles> {
  let last = 0;
  return fetchModelFiles(spec, {
    ...opts,
    endpoint: process.env.HF_ENDPOINT,
    cache: dirCache(),
    onProgress: (p) => {
      const now = Date.now();
      if (now - last > 500 || p.done === p.total) {
        last = now;
        process.stderr.write(`\r${formatProgress(p)}   `);
        if (p.done === p.total) process.stderr.write('\n');
      }
    },
  });
}
