// The safetensors reader treats files as untrusted: truncations, byte flips and lying headers must all fail
// with a CheckpointError that names the file, never with a crash or a silently wrong tensor.
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/model/errors';
import { encodeSafetensors, f16ToF32, f32ToF16, readHeader, SafetensorsFile } from '../../src/model/safetensors';
import { bytesSource } from '../../src/model/source';

function sample(): Uint8Array {
  return encodeSafetensors(
    [
      { name: 'a', dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
      { name: 'b', dtype: 'F16', shape: [4], data: Uint16Array.from([0x3c00, 0xc000, 0x3555, 0x0001]) },
      { name: 'c', dtype: 'I32', shape: [1], data: Int32Array.from([-7]) },
    ],
    { format: 'pt' },
  );
}

function header(json: unknown, data = new Uint8Array(0)): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(json));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('safetensors reader', () => {
  it('round-trips tensors and metadata', async () => {
    const st = await SafetensorsFile.open(bytesSource('ok.safetensors', sample()));
    expect(Array.from(await st.f32('a'))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await st.f32('b'))).toEqual([1, -2, f16ToF32(Uint16Array.of(0x3555))[0], 2 ** -24]);
    expect(Array.from((await st.decoded('c')) as Int32Array)).toEqual([-7]);
    expect(st.header.metadata).toEqual({ format: 'pt' });
  });

  it('f16 conversion rounds to nearest even and covers subnormals, inf, nan', () => {
    for (const h of [0x0000, 0x0001, 0x03ff, 0x0400, 0x3c00, 0x7bff, 0x7c00, 0xfc00, 0xc000, 0x3555]) {
      expect(f32ToF16(f16ToF32(Uint16Array.of(h))[0])).toBe(h);
    }
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(f32ToF16(1e6)).toBe(0x7c00);
  });

  const bad: [string, Uint8Array, RegExp][] = [
    ['too short', new Uint8Array(5), /too short/],
    ['huge header length', (() => { const b = new Uint8Array(16); new DataView(b.buffer).setBigUint64(0, 2n ** 40n, true); return b; })(), /limit/],
    ['header past the end', (() => { const b = new Uint8Array(16); new DataView(b.buffer).setBigUint64(0, 100n, true); return b; })(), /truncated/],
    ['not JSON', header('x').map((v, i) => (i === 8 ? 0x7b : v)), /JSON/],
    ['not an object', header([1, 2]), /not a JSON object/],
    ['unknown dtype', header({ t: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /unsupported dtype/],
    ['shape/offset mismatch', header({ t: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /needs 12 bytes/],
    ['negative shape', header({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /invalid shape/],
    ['overlap', header({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /overlaps/],
    ['hole', header({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /belong to no tensor/],
    ['data missing', header({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8)), /truncated/],
    ['bad metadata', header({ __metadata__: { a: 1 } }), /__metadata__/],
  ];
  for (const [name, bytes, msg] of bad) {
    it(`rejects a file with ${name}`, async () => {
      const err = await readHeader(bytesSource('bad.safetensors', bytes)).catch((e) => e);
      expect(err).toBeInstanceOf(CheckpointError);
      expect(err.message).toMatch(msg);
      expect(err.message).toContain('bad.safetensors');
    });
  }

  it('fuzz: every truncation fails cleanly', async () => {
    const good = sample();
    for (let n = 0; n < good.length; n++) {
      const err = await readHeader(bytesSource('cut.safetensors', good.subarray(0, n))).catch((e) => e);
      expect(err, `truncated at ${n}`).toBeInstanceOf(CheckpointError);
    }
  });

  it('fuzz: random byte flips never crash and never change the shape of what is read', async () => {
    const good = sample();
    let seed = 99;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    let rejected = 0;
    for (let trial = 0; trial < 400; trial++) {
      const b = good.slice();
      for (let k = 0; k < 1 + Math.floor(rnd() * 3); k++) b[Math.floor(rnd() * b.length)] ^= 1 << Math.floor(rnd() * 8);
      try {
        const st = await SafetensorsFile.open(bytesSource('flip.safetensors', b));
        for (const n of st.names) {
          const t = st.info(n);
          expect((await st.bytes(n)).byteLength).toBe(t.end - t.begin);
        }
      } catch (e) {
        expect(e).toBeInstanceOf(CheckpointError);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(0);
  });
});
