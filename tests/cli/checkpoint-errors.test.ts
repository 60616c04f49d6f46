// Checkpoints that are broken in the ways downloads and hand edits break them, at a real shape (a SmolLM2-135M
// slice in three shards): config.json and the tensors disagree (a shape, a layer count), a shard is missing,
// the index names a file that is not there or a tensor a shard does not hold, a shard is cut short. Each is
// refused when the checkpoint opens, before any GPU work, by the built CLI with exit 1 and one message that
// names the file and says what to do (no stack trace).
import { spawnSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dirFiles, writeFolder } from '../../src/cli/files';
import { Checkpoint } from '../../src/model/checkpoint';
import { syntheticCheckpoint } from '../../src/model/synthetic';

const root = mkdtempSync(join(tmpdir(), 'quantlab-bad-ckpt-'));
const good = join(root, 'good');
beforeAll(() => writeFolder(good, syntheticCheckpoint({ shape: 'smollm2-135m', layers: 1, shards: 3 })));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SHARD = (i: number) => `model-0000${i}-of-00003.safetensors`;

/** A copy of the good checkpoint (hard links) with one file edited, removed or cut. */
function variant(name: string, edit: (dir: string) => void): string {
  const dir = join(root, name);
  mkdirSync(dir);
  for (const f of readdirSync(good)) linkSync(join(good, f), join(dir, f));
  edit(dir);
  return dir;
}
/** Rewrites a JSON file of the copy (a new file: the good checkpoint's link is not touched). */
function editJson(dir: string, file: string, fn: (j: Record<string, unknown>) => void) {
  const j = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  fn(j);
  rmSync(join(dir, file));
  writeFileSync(join(dir, file), JSON.stringify(j));
}

const info = (dir: string) => spawnSync(process.execPath, ['bin/quantlab.mjs', 'info', '--model', dir], { encoding: 'utf8' });
/** stderr of `info` on a broken checkpoint: exit 1, one message, no stack trace. */
function refused(dir: string): string {
  const r = info(dir);
  expect(r.status, r.stdout).toBe(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return r.stderr;
}

describe('broken real-shape checkpoints are refused when they open', () => {
  it('the good one opens', () => {
    const r = info(good);
    expect(r.status, r.stderr).toBe(0);
  });

  it('a Hugging Face cache snapshot, every file a link into blobs/, opens as the folder does (a link cycle too)', () => {
    // models--org--name/{blobs/HASH, snapshots/REV/FILE -> ../../blobs/HASH}, as huggingface_hub writes it
    const repo = join(root, 'models--org--name'), snap = join(repo, 'snapshots', 'rev1');
    mkdirSync(join(repo, 'blobs'), { recursive: true });
    mkdirSync(snap, { recursive: true });
    const names = readdirSync(good).sort();
    names.forEach((f, i) => {
      linkSync(join(good, f), join(repo, 'blobs', `blob${i}`));
      symlinkSync(join('..', '..', 'blobs', `blob${i}`), join(snap, f));
    });
    // links the walk must not follow or cannot: a cycle, one out of the folder, a dangling one, one to itself
    symlinkSync('.', join(snap, 'loop'));
    symlinkSync('..', join(snap, 'up'));
    symlinkSync('nowhere', join(snap, 'dangling.json'));
    symlinkSync('self', join(snap, 'self'));
    // a folder reached through a link before its own name: listed under both
    mkdirSync(join(snap, 'z_dir'));
    writeFileSync(join(snap, 'z_dir', 'w.txt'), 'w');
    symlinkSync('z_dir', join(snap, 'a_link'));
    expect([...dirFiles(snap).list()].sort()).toEqual([...names, 'a_link/w.txt', 'z_dir/w.txt'].sort());
    const r = info(snap);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(info(good).stdout.split(good).join(snap));
    // a download that broke off: the snapshot's link to a shard's blob leads nowhere
    const cut = join(repo, 'snapshots', 'rev2');
    mkdirSync(cut);
    names.forEach((f, i) => symlinkSync(join('..', '..', 'blobs', f === SHARD(2) ? 'blob-never-written' : `blob${i}`), join(cut, f)));
    expect(refused(cut)).toBe(`quantlab info: ${cut}/${SHARD(2)}: is a link to ../../blobs/blob-never-written that leads nowhere (a download that broke off?). Download the model again (a Hugging Face cache: huggingface-cli download with the model's id), or pick a complete folder; nothing was loaded.\n`);
  });

  it('a tensor shape that config.json does not imply: the shard, the tensor, both shapes; before the GPU', async () => {
    const dir = variant('shape', (d) => editJson(d, 'config.json', (j) => (j.intermediate_size = 1600)));
    expect(refused(dir)).toBe(`quantlab info: ${dir}/${SHARD(2)}: tensor "model.layers.0.mlp.gate_proj.weight" has shape [1536,576] but config.json implies [1600,576]. The weights do not belong to this config.json: re-download the checkpoint.\n`);
    // Checkpoint.open refuses it: no loader, no GPU involved
    await expect(Checkpoint.open(dirFiles(dir))).rejects.toThrow(/gate_proj.weight" has shape \[1536,576\] but config.json implies \[1600,576\]/);
  });

  it('more layers in config.json than in the weights: the first missing tensor', () => {
    const dir = variant('layers', (d) => editJson(d, 'config.json', (j) => (j.num_hidden_layers = 2)));
    expect(refused(dir)).toMatch(/: has no tensor "model\.layers\.1\.input_layernorm\.weight", which config\.json \(LlamaForCausalLM, 2 layers\) requires\. The weights and config\.json do not belong together, or a shard is missing/);
  });

  it('a missing shard: the file, the tensors the index puts in it, what to do', () => {
    const dir = variant('missing-shard', (d) => rmSync(join(d, SHARD(2))));
    expect(refused(dir)).toMatch(new RegExp(`is missing ${SHARD(2)}, which model\\.safetensors\\.index\\.json names for \\d+ tensor\\(s\\) \\(model\\.layers\\.0\\.[a-z_.]+, \\.\\.\\.\\)\\. Download ${SHARD(2)} from the model's repository into this folder`));
  });

  it('an index naming a file that is not there', () => {
    const dir = variant('index-file', (d) => editJson(d, 'model.safetensors.index.json', (j) => ((j.weight_map as Record<string, string>)['model.norm.weight'] = 'model-00004-of-00003.safetensors')));
    expect(refused(dir)).toMatch(/is missing model-00004-of-00003\.safetensors, which model\.safetensors\.index\.json names for 1 tensor\(s\) \(model\.norm\.weight\)/);
  });

  it('an index putting a tensor in a shard that does not hold it', () => {
    const dir = variant('index-tensor', (d) => editJson(d, 'model.safetensors.index.json', (j) => ((j.weight_map as Record<string, string>)['model.norm.weight'] = SHARD(1))));
    expect(refused(dir)).toContain(`${dir}/${SHARD(1)}: has no tensor "model.norm.weight" although the index puts it there.`);
  });

  it('a shard cut short: the file, how many bytes its tensors need and how many are there', () => {
    const dir = variant('truncated', (d) => {
      const p = join(d, SHARD(3));
      const bytes = readFileSync(p);
      rmSync(p);
      writeFileSync(p, bytes);
      truncateSync(p, bytes.length - 1000);
    });
    expect(refused(dir)).toMatch(new RegExp(`${SHARD(3)}: the file is truncated: its tensors need \\d+ bytes of data but only \\d+ are present\\. Re-download`));
  });
});
