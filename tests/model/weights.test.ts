// Float weights on their way to the GPU: streamed in pieces (offsets across piece boundaries), kept in f16 or f32
// as the format says, the values exactly what the checkpoint stores (bf16 and f16 are f16 values exactly),
// and a tensor that f16 cannot hold kept in f32 with a note.
import { describe, expect, it } from 'vitest';
import { Checkpoint } from '../../src/model/checkpoint';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/model/safetensors';
import { syntheticFiles } from '../../src/model/synthetic';
import { uploadWeight } from '../../src/model/weights';
import { testGpu } from '../helpers/gpu';

const NAME = 'model.layers.0.self_attn.k_proj.weight', SHAPE = [192, 576]; // SmolLM2-135M's k_proj
const open = (dtype: 'F32' | 'F16' | 'BF16') => Checkpoint.open(syntheticFiles({ shape: 'smollm2-135m', layers: 1, vocab: 512, dtype }, `smollm-${dtype}`));

/** The values as stored, widened to f32 (the reference: no conversion of the lab's involved). */
async function stored(ck: Checkpoint, dtype: 'F32' | 'F16' | 'BF16'): Promise<Float32Array> {
  const b = (await ck.bytes(NAME)).slice();
  if (dtype === 'F32') return new Float32Array(b.buffer);
  return dtype === 'F16' ? f16ToF32(new Uint16Array(b.buffer)) : bf16ToF32(new Uint16Array(b.buffer));
}

describe('uploadWeight', () => {
  for (const dtype of ['F32', 'F16', 'BF16'] as const) {
    for (const format of ['auto', 'f16', 'f32'] as const) {
      it(`${dtype} as ${format}, in pieces of 1000 bytes`, async () => {
        const gpu = await testGpu();
        const ck = await open(dtype);
        const up = await uploadWeight(gpu, ck, NAME, SHAPE, format, 4, 1000);
        const f16 = format === 'f16' || (format === 'auto' && dtype !== 'F32');
        expect(up.f16).toBe(f16);
        const n = SHAPE[0] * SHAPE[1];
        const got = f16 ? f16ToF32(new Uint16Array(await gpu.read(up.buffer, n * 2))) : await gpu.readF32(up.buffer, n);
        const values = await stored(ck, dtype);
        // f16 storage holds each stored value rounded to f16 (f16 values themselves; bf16 values exactly down to
        // 2^-17, below which f16 is subnormal); f32 storage holds the file's values
        const want = f16 ? f16ToF32(Uint16Array.from(values, f32ToF16)) : values;
        expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength))).toBe(true);
        // and the rounding is bounded: half an f16 step (2^-11 relative, 2^-25 absolute among subnormals), none
        // at all for a bf16 value in f16's normal range
        for (let i = 0; i < n; i++) {
          const e = Math.abs(got[i] - values[i]), v = Math.abs(values[i]);
          if (!f16 || (dtype === 'BF16' && v >= 2 ** -14)) expect(e).toBe(0);
          else expect(e).toBeLessThanOrEqual(Math.max(v * 2 ** -11, 2 ** -25));
        }
        up.buffer.destroy();
      });
    }
  }

  it('rows not whole quads stay f32; a bf16 value beyond f16 keeps its tensor in f32, with a note', async () => {
    const gpu = await testGpu();
    const files = syntheticFiles({ shape: 'smollm2-135m', layers: 1, vocab: 512 }, 'smollm-big');
    const ck = await Checkpoint.open(files);
    expect((await uploadWeight(gpu, ck, NAME, SHAPE, 'auto', 5)).f16).toBe(false); // 576 % 5 != 0
    // a weight of 1e6 (bf16 holds it, f16 does not) patched into the in-memory file
    const file = await (await files.open('model.safetensors')).read(0, 0);
    const info = ck.info(NAME);
    const data = new Uint16Array(file.buffer, file.byteOffset + info.begin, (info.end - info.begin) / 2);
    data[100] = f32ToBf16(1e6);
    const up = await uploadWeight(gpu, ck, NAME, SHAPE, 'auto', 4, 1000);
    expect(up.f16).toBe(false);
    expect(up.note).toMatch(/beyond f16's range/);
    expect((await gpu.readF32(up.buffer, 101))[100]).toBe(bf16ToF32(Uint16Array.of(f32ToBf16(1e6)))[0]);
  });

  it('a shape that disagrees with the checkpoint is refused naming the tensor', async () => {
    const gpu = await testGpu();
    await expect(uploadWeight(gpu, await open('BF16'), NAME, [576, 192], 'auto')).rejects.toThrow(/tensor "model.layers.0.self_attn.k_proj.weight" has shape \[192,576\] but config.json implies \[576,192\]/);
  });
});
