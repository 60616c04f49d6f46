// Every forward-pass kernel against its float64 reference, on odd shapes.
import { describe, expect, it } from 'vitest';
import { argmaxLogits, decodeScores, gatherRows, rmsnorm, rope, ropeIntoCache, scoreLogits, swiglu } from '../../src/model/ops';
import { gatherRowsRef, ropeRef, rmsnormRef, scoreRowRef, swigluRef } from '../../src/model/reference';
import { ropeTables } from '../../src/model/rope';
import { maxRelErr, randomF32, testGpu } from '../helpers/gpu';
import { Params } from '../../src/gpu/gpu';

const sameBytes = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('forward-pass kernels', () => {
  it('gather_rows (embedding lookup)', async () => {
    const gpu = await testGpu();
    const V = 37, C = 19, idx = Uint32Array.from([3, 0, 36, 3, 17]);
    const table = randomF32(V * C, 5);
    const out = gpu.buffer(idx.length * C * 4, 'out');
    const b = gpu.batch();
    gatherRows(b, gpu.upload(table, 't'), gpu.upload(idx, 'i'), out, idx.length, C);
    await b.submit();
    expect(maxRelErr(await gpu.readF32(out, idx.length * C), gatherRowsRef(table, idx, C))).toBe(0);
  });

  it('params share a slot only when their bytes are equal', () => {
    const k = (p: Params) => p.key;
    expect(k(new Params().u32(3, 4).f32(0.5))).toBe(k(new Params().u32(3, 4).f32(0.5)));
    expect(k(new Params().f32(0))).not.toBe(k(new Params().f32(-0)));
    expect(k(new Params().u32(1))).not.toBe(k(new Params().f32(1)));
    expect(k(new Params().u32(1, 2))).not.toBe(k(new Params().u32(12)));
  });

  it('batches reuse bind groups and the params buffer; each batch still runs with its own params', async () => {
    const gpu = await testGpu();
    const V = 11, C = 8, idx = Uint32Array.from([7, 2, 9, 4]);
    const table = randomF32(V * C, 9);
    const t = gpu.upload(table, 't'), i = gpu.upload(idx, 'i');
    const want = gatherRowsRef(table, idx, C);
    // three batches submitted back to back without waiting, other row counts in the same params slot; the
    // third repeats the first's dispatch exactly but for its params (same pipeline, buffers, slot: its bind
    // group), so the params written for one batch must not leak into another
    const blank = () => gpu.upload(new Float32Array(idx.length * C).fill(-1), 'out');
    const a = blank(), b2 = blank();
    const outs = [{ rows: 1, out: a }, { rows: 4, out: b2 }, { rows: 2, out: a }];
    const hits = gpu.bindGroupHits;
    const runs = outs.map(({ rows, out }) => {
      const b = gpu.batch();
      gatherRows(b, t, i, out, rows, C);
      gatherRows(b, t, i, out, rows, C); // the same dispatch twice in one batch: one params slot, one bind group
      return b.submit();
    });
    await Promise.all(runs);
    for (const { rows, out } of outs.slice(1)) {
      const got = await gpu.readF32(out, idx.length * C);
      expect(maxRelErr(got.subarray(0, rows * C), want.subarray(0, rows * C)), `${rows} rows`).toBe(0);
      expect(got.subarray(rows * C).every((v) => v === -1), `nothing past row ${rows}`).toBe(true);
    }
    // the second dispatch of each batch and the first of the third
    expect(gpu.bindGroupHits - hits).toBe(4);
  });

  it('a batch sent in parts (flush) runs as one submit: each part with its own params, later parts reading earlier ones', async () => {
    const gpu = await testGpu();
    const V = 11, C = 8, idx = Uint32Array.from([7, 2, 9, 4]);
    const table = randomF32(V * C, 13);
    const want = gatherRowsRef(table, idx, C);
    const bytes = idx.length * C * 4;
    const blank = () => gpu.upload(new Float32Array(idx.length * C).fill(-1), 'out');
    const a = blank(), b2 = blank(), c = blank();
    const b = gpu.batch('parts');
    gatherRows(b, gpu.upload(table, 't'), gpu.upload(idx, 'i'), a, 1, C); // params slot 0: one row
    b.flush({ timestamps: true });
    // the next part's params go to the same slot of the same buffer: written after the first part ran
    gatherRows(b, gpu.upload(table, 't2'), gpu.upload(idx, 'i2'), b2, 4, C);
    b.flush({ timestamps: true });
    b.flush(); // empty: sends nothing (an untimed part would leave the total without one)
    b.copy(a, 0, c, 0, bytes); // reads what the first part wrote
    const ns = await b.submit({ timestamps: true });
    if (gpu.hasTimestamps) expect(ns).toBeGreaterThan(0);
    else expect(ns).toBeNull();
    const one = await gpu.readF32(c, idx.length * C), four = await gpu.readF32(b2, idx.length * C);
    expect(maxRelErr(one.subarray(0, C), want.subarray(0, C))).toBe(0);
    expect(one.subarray(C).every((v) => v === -1), 'the first part: one row').toBe(true);
    expect(maxRelErr(four, want)).toBe(0);
    // a part sent without timestamps: the total would leave it out, so there is none
    const mixed = gpu.batch('mixed');
    gatherRows(mixed, gpu.upload(table, 't5'), gpu.upload(idx, 'i5'), a, 1, C);
    mixed.flush();
    gatherRows(mixed, gpu.upload(table, 't6'), gpu.upload(idx, 'i6'), a, 1, C);
    expect(await mixed.submit({ timestamps: true })).toBeNull();
    const partial = gpu.batch('partial');
    gatherRows(partial, gpu.upload(table, 't3'), gpu.upload(idx, 'i3'), a, 1, C);
    partial.flush();
    gatherRows(partial, gpu.upload(table, 't4'), gpu.upload(idx, 'i4'), a, 2, C);
    expect(() => partial.freeze()).toThrow(/already sent/);
  });

  it('a frozen step replays with its position words rewritten on the GPU, each replay in order', async () => {
    const gpu = await testGpu();
    const V = 13, C = 6, idx = Uint32Array.from([5, 0, 12, 7, 3]);
    const table = randomF32(V * C, 21);
    const want = gatherRowsRef(table, idx, C);
    const bytes = idx.length * C * 4;
    const out = gpu.buffer(bytes, 'out'), blank = gpu.upload(new Float32Array(idx.length * C).fill(-1), 'blank');
    // the step: clear `out`, then gather as many rows as the position says (the row count is the position word)
    const rec = gpu.batch('step');
    rec.copy(blank, 0, out, 0, bytes);
    rec.dispatch({ shader: 'elementwise', entry: 'gather_rows' }, [gpu.upload(table, 't'), gpu.upload(idx, 'i'), out], [idx.length, 1], new Params().position(99).u32(C, 0, 0));
    const step = rec.freeze();
    expect(step.dispatches).toBe(1);
    expect(step.positionOffsets).toEqual([0]);
    expect(rec.size).toBe(0);
    // three replays in one batch at positions 1, 4, 2 (table entries 1, 4, 2), each result copied out
    const positions = gpu.upload(Uint32Array.from([0, 1, 2, 3, 4, 5]), 'positions');
    const results = gpu.buffer(3 * bytes, 'results');
    const b = gpu.batch();
    [1, 4, 2].forEach((pos, j) => b.replay(step, positions, pos).copy(out, 0, results, j * bytes, bytes));
    await b.submit();
    const got = await gpu.readF32(results, 3 * idx.length * C);
    [1, 4, 2].forEach((rows, j) => {
      const r = got.subarray(j * idx.length * C, (j + 1) * idx.length * C);
      expect(maxRelErr(r.subarray(0, rows * C), want.subarray(0, rows * C)), `replay at ${rows}`).toBe(0);
      expect(r.subarray(rows * C).every((v) => v === -1), `nothing past row ${rows}`).toBe(true);
    });
    expect(() => {
      const nested = gpu.batch();
      nested.replay(step, positions, 1);
      nested.freeze();
    }).toThrow(/cannot contain a replay/);
    step.destroy();
  });

  it('uploads of 1-16 MiB go through the mapped staging pool and land intact, at an offset too', async () => {
    const gpu = await testGpu();
    const n = (3 << 20) / 8; // 1.5 MiB of f32
    const buf = gpu.buffer(n * 4 + 256, 'big');
    const before = gpu.stagedWrites;
    for (let i = 0; i < 4; i++) {
      const data = randomF32(n, 100 + i);
      gpu.write(buf, data, i % 2 ? 256 : 0);
      expect(sameBytes(await gpu.readF32(buf, n, i % 2 ? 64 : 0), data)).toBe(true);
    }
    // the first upload makes the pooled buffer (writeBuffer meanwhile); the later ones use it
    expect(gpu.stagedWrites - before).toBeGreaterThanOrEqual(2);
    // three sizes in turn: the pool of two evicts its least recently used buffer, nothing is lost
    for (const mib of [4.2, 1.1, 2.5, 4.2, 1.1, 2.5, 2.5]) {
      const m = Math.floor((mib * 2 ** 20) / 4);
      const other = gpu.buffer(m * 4, 'other');
      const data = randomF32(m, m);
      gpu.write(other, data);
      expect(sameBytes(await gpu.readF32(other, m), data), `${mib} MiB`).toBe(true);
      other.destroy();
    }
  });

  it('swiglu', async () => {
    const gpu = await testGpu();
    const n = 1000;
    const g = randomF32(n, 6, 6), u = randomF32(n, 7, 2);
    const bg = gpu.upload(g, 'g');
    const b = gpu.batch();
    swiglu(b, bg, gpu.upload(u, 'u'), n);
    await b.submit();
    expect(maxRelErr(await gpu.readF32(bg, n), swigluRef(g, u))).toBeLessThan(1e-6);
  });

  for (const [rows, cols, variant] of [[3, 64, 'workgroup'], [7, 131, 'workgroup'], [2, 1000, 'workgroup'], [3, 64, 'serial'], [70, 131, 'serial']] as const) {
    it(`rmsnorm ${rows}x${cols} (${variant}), out of place and in place`, async () => {
      const gpu = await testGpu();
      const x = randomF32(rows * cols, 8, 3), w = randomF32(cols, 9);
      const want = rmsnormRef(x, w, rows, cols, 1e-6);
      const bx = gpu.upload(x, 'x'), bw = gpu.upload(w, 'w'), by = gpu.buffer(rows * cols * 4, 'y');
      const b = gpu.batch();
      rmsnorm(b, bx, bw, rows, cols, 1e-6, by, variant);
      rmsnorm(b, bx, bw, rows, cols, 1e-6, undefined, variant);
      await b.submit();
      expect(maxRelErr(await gpu.readF32(by, rows * cols), want)).toBeLessThan(1e-5);
      expect(maxRelErr(await gpu.readF32(bx, rows * cols), want)).toBeLessThan(1e-5);
    });
  }

  it('rope on q and k with GQA heads and a past offset', async () => {
    const gpu = await testGpu();
    const batch = 2, seq = 5, past = 3, qH = 6, kvH = 2, hd = 10;
    const rows = batch * seq;
    const { cos, sin, table } = ropeTables({ theta: 10000, type: 'default', factor: 1, lowFreqFactor: 1, highFreqFactor: 1, originalMaxPosition: 64 }, hd, past + seq);
    const q = randomF32(rows * qH * hd, 10), k = randomF32(rows * kvH * hd, 11);
    const bq = gpu.upload(q, 'q'), bk = gpu.upload(k, 'k');
    const b = gpu.batch();
    rope(b, bq, bk, { buffer: gpu.upload(table, 'rope'), positions: past + seq }, { rows, seq, past, qHeads: qH, kvHeads: kvH, headDim: hd });
    await b.submit();
    expect(maxRelErr(await gpu.readF32(bq, q.length), ropeRef(q, rows, qH, hd, seq, past, cos, sin))).toBeLessThan(1e-6);
    expect(maxRelErr(await gpu.readF32(bk, k.length), ropeRef(k, rows, kvH, hd, seq, past, cos, sin))).toBeLessThan(1e-6);
  });

  // [batch, seq, past, qHeads, kvHeads, headDim, maxLen, norm]: pairs per invocation 1 (hd 10) and 2 (hd 130,
  // 258: 65 and 129 pairs for 64 invocations), a prompt (seq > 1) and decode steps (seq 1), with and without
  // Qwen3's per-head norms
  for (const [batch, seq, past, qH, kvH, hd, maxLen, withNorm] of [[2, 5, 3, 6, 2, 10, 12, true], [1, 1, 7, 3, 1, 130, 9, false], [2, 1, 4, 2, 2, 258, 6, true], [1, 3, 0, 4, 2, 16, 5, false]] as const) {
    it(`rope into the KV cache: batch ${batch}, seq ${seq}, past ${past}, heads ${qH}/${kvH}, hd ${hd}${withNorm ? ', q/k norms' : ''}`, async () => {
      const gpu = await testGpu();
      const rows = batch * seq, kvd = kvH * hd, eps = 1e-6;
      const { cos, sin, table } = ropeTables({ theta: 10000, type: 'default', factor: 1, lowFreqFactor: 1, highFreqFactor: 1, originalMaxPosition: 64 }, hd, maxLen);
      const q = randomF32(rows * qH * hd, 20, 2), k = randomF32(rows * kvd, 21, 2), v = randomF32(rows * kvd, 22);
      const qw = randomF32(hd, 23), kw = randomF32(hd, 24);
      const kc0 = randomF32(batch * maxLen * kvd, 25), vc0 = randomF32(batch * maxLen * kvd, 26);
      const bq = gpu.upload(q, 'q'), kCache = gpu.upload(kc0, 'kc'), vCache = gpu.upload(vc0, 'vc');
      const b = gpu.batch();
      ropeIntoCache(
        b,
        { q: bq, k: gpu.upload(k, 'k'), v: gpu.upload(v, 'v'), table: { buffer: gpu.upload(table, 'rope'), positions: maxLen }, kCache, vCache },
        { rows, seq, past, qHeads: qH, kvHeads: kvH, headDim: hd, maxLen },
        withNorm ? { q: gpu.upload(qw, 'qw'), k: gpu.upload(kw, 'kw'), eps } : undefined,
      );
      await b.submit();
      const normed = (x: Float32Array, w: Float32Array, heads: number) => (withNorm ? rmsnormRef(x, w, rows * heads, hd, eps) : x);
      expect(maxRelErr(await gpu.readF32(bq, q.length), ropeRef(normed(q, qw, qH), rows, qH, hd, seq, past, cos, sin))).toBeLessThan(1e-5);
      // the cache: rows (i, past + t) hold sequence i's t-th k (normed, rotated) and v; every other row is as it was
      const kWant = Float64Array.from(kc0), vWant = Float64Array.from(vc0);
      const kRot = ropeRef(normed(k, kw, kvH), rows, kvH, hd, seq, past, cos, sin);
      for (let r = 0; r < rows; r++) {
        const dst = (Math.floor(r / seq) * maxLen + past + (r % seq)) * kvd;
        kWant.set(kRot.subarray(r * kvd, (r + 1) * kvd), dst);
        vWant.set(v.subarray(r * kvd, (r + 1) * kvd), dst);
      }
      expect(maxRelErr(await gpu.readF32(kCache, kc0.length), kWant)).toBeLessThan(1e-5);
      expect(maxRelErr(await gpu.readF32(vCache, vc0.length), vWant)).toBe(0);
    });
  }

  // attention: tests/gpu/attention.test.ts

  for (const variant of ['workgroup', 'serial'] as const) it(`logit scores (${variant}): log-prob, rank, argmax with ties, log-sum-exp`, async () => {
    const gpu = await testGpu();
    const rows = 5, V = 1031;
    const logits = randomF32(rows * V, 15, 8);
    logits[2 * V + 100] = 50; logits[2 * V + 700] = 50; // tie: argmax is the lower id
    const targets = Uint32Array.from([0, 17, 700, 1030, 555]);
    const out = gpu.buffer(rows * 16, 'scores');
    const b = gpu.batch();
    scoreLogits(b, gpu.upload(logits, 'l'), gpu.upload(targets, 't'), out, rows, V, variant);
    await b.submit();
    const got = decodeScores(await gpu.read(out, rows * 16), rows);
    for (let r = 0; r < rows; r++) {
      const want = scoreRowRef(logits.subarray(r * V, (r + 1) * V), targets[r]);
      expect(got[r].argmax).toBe(want.argmax);
      expect(got[r].rank).toBe(want.rank);
      expect(got[r].logprob).toBeCloseTo(want.logprob, 4);
      expect(got[r].lse).toBeCloseTo(want.lse, 4);
    }
    expect(got[2].argmax).toBe(100);
  });

  // greedy decoding's argmax, the vocabulary split across workgroups (2048 logits each) and merged
  for (const variant of ['workgroup', 'serial'] as const) it(`argmax of logits (${variant}): a vocabulary over many splits, ties to the lower id`, async () => {
    const gpu = await testGpu();
    const rows = 3, V = 151_937; // Qwen's vocabulary size, plus one: the last split holds one logit
    const logits = randomF32(rows * V, 16, 8);
    logits[0 * V + 2047] = 40; logits[0 * V + 2048] = 40; // a tie across a split boundary
    logits[1 * V + V - 1] = 41; // the last logit
    logits[2 * V + 90_000] = 39; logits[2 * V + 4] = 39; // a tie, the lower id in the first split
    const out = gpu.buffer(rows * 16, 'scores');
    const b = gpu.batch();
    argmaxLogits(b, gpu.upload(logits, 'l'), out, rows, V, variant);
    await b.submit();
    const got = decodeScores(await gpu.read(out, rows * 16), rows).map((r) => r.argmax);
    const want = Array.from({ length: rows }, (_, r) => scoreRowRef(logits.subarray(r * V, (r + 1) * V), 0).argmax);
    expect(want).toEqual([2047, V - 1, 4]);
    expect(got).toEqual(want);
  });
});
