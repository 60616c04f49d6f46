// Loading a model by its Hugging Face id, from a local server that serves a Hub-shaped tree
// (/<org>/<name>/resolve/main/<file> and /api/models/<org>/<name>/revision/main with its siblings): a
// SmolLM2-135M slice in three shards. `quantlab info --model org/name` with $HF_ENDPOINT pointed at the server
// downloads every file once with progress into $QUANTLAB_CACHE; a second run with the server stopped is served
// from the cache; a shard the server does not have (404) or cuts short is a clear error naming it.
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFolder } from '../../src/cli/files';
import { syntheticCheckpoint } from '../../src/model/synthetic';

const root = mkdtempSync(join(tmpdir(), 'quantlab-hub-'));
const tree = join(root, 'tree');
const SHARD2 = 'model-00002-of-00003.safetensors';
/** Repositories: a whole one, one whose second shard is missing, one whose second shard is cut short. */
const REPOS = ['test-org/smol-slice', 'test-org/smol-missing-shard', 'test-org/smol-cut-shard'];
const requests: string[] = [];
let server: Server, endpoint: string;

beforeAll(async () => {
  writeFolder(tree, syntheticCheckpoint({ shape: 'smollm2-135m', layers: 1, shards: 3 }));
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(url.pathname);
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/main$/.exec(url.pathname);
    const file = /^\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/.exec(url.pathname);
    const repo = api?.[1] ?? file?.[1];
    if (!repo || !REPOS.includes(repo)) return res.writeHead(404).end('Repository not found');
    const names = readdirSync(tree).filter((f) => !(repo === REPOS[1] && f === SHARD2));
    if (api) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ id: repo, sha: 'main', siblings: names.map((rfilename) => ({ rfilename })) }));
    }
    const name = decodeURIComponent(file![2]);
    if (!names.includes(name)) return res.writeHead(404, { 'content-type': 'text/plain' }).end('Entry not found');
    const size = statSync(join(tree, name)).size;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
    // the cut repository's server dies halfway through its second shard
    if (repo === REPOS[2] && name === SHARD2) return createReadStream(join(tree, name), { end: size / 2 }).on('end', () => res.destroy()).pipe(res, { end: false });
    createReadStream(join(tree, name)).pipe(res);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server?.close();
  rmSync(root, { recursive: true, force: true });
});

const cache = join(root, 'cache');
/** The built CLI with the endpoint and the cache of this test (run asynchronously: the server is in this process). */
function quantlab(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const p = spawn(process.execPath, ['bin/quantlab.mjs', ...args], { env: { ...process.env, HF_ENDPOINT: endpoint, QUANTLAB_CACHE: cache } });
  let stdout = '', stderr = '';
  p.stdout.on('data', (d: Buffer) => (stdout += d));
  p.stderr.on('data', (d: Buffer) => (stderr += d));
  return new Promise((res) => p.on('close', (status) => res({ status, stdout, stderr })));
}

describe('a Hugging Face id through a local Hub-shaped server', () => {
  it('downloads every file once with progress, then loads from the cache with the server stopped', async () => {
    const first = await quantlab('info', '--model', REPOS[0]);
    expect(first.status, first.stderr).toBe(0);
    const info = JSON.parse(first.stdout);
    expect(info).toMatchObject({ model: REPOS[0], architecture: 'LlamaForCausalLM', layers: 1, hidden_size: 576, vocab: 49152 });
    expect(info.n_params_non_embedding_from_tensors).toBe(info.n_params_non_embedding);
    const files = readdirSync(tree).sort();
    for (const f of files) {
      expect(requests.filter((r) => r === `/${REPOS[0]}/resolve/main/${f}`).length, f).toBe(1);
      expect(first.stderr, `progress of ${f}`).toMatch(new RegExp(`download ${f.replace(/\./g, '\\.')}.*100%`));
    }
    expect(requests).toContain(`/api/models/${REPOS[0]}/revision/main`);

    await new Promise((res) => server.close(res));
    const seen = requests.length;
    const second = await quantlab('info', '--model', REPOS[0]);
    expect(second.status, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual(info);
    expect(second.stderr).toMatch(/model-00003-of-00003\.safetensors \(cached\)/);
    expect(requests.length).toBe(seen);
    await new Promise<void>((res) => server.listen(Number(new URL(endpoint).port), '127.0.0.1', res));
  });

  it('a shard the server does not have (404): the error names it and the index that lists it', async () => {
    const r = await quantlab('info', '--model', REPOS[1]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`quantlab info: ${SHARD2} is missing: model.safetensors.index.json names it, but ${endpoint}/${REPOS[1]}/resolve/main/${SHARD2} does not exist.`);
    expect(r.stderr).toMatch(/The repository is incomplete or its index is wrong/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a shard cut short by the server: the error names it, and nothing half is kept in the cache', async () => {
    const r = await quantlab('info', '--model', REPOS[2]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${REPOS[2]}/resolve/main/${SHARD2}: (the download broke off|received \\d+ of \\d+ bytes)`));
    expect(r.stderr).toMatch(/try again/i);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // the cache holds whole files only (the next run downloads the shard again)
    const whole = new Set(readdirSync(tree).map((f) => statSync(join(tree, f)).size));
    for (const f of readdirSync(cache)) expect(whole.has(statSync(join(cache, f)).size), `cached ${f}`).toBe(true);
  });
});
