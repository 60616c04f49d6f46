// Float weights on their way to the GPU: streamed in pieces (offsets across piece boundaries), kept in f16 or f32
// as the format says, the values exactly what the checkpoint stores (bf16 and f16 are f16 values exactly),
// and a tensor that f16 cannot hold kept in f32 with a note.
import { describe, expect, it } from 'vitest';
import { Checkpoint } from '../../src/model/checkpoint';
import { bf16ToF32, encodeSafetensors, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/model/safetensors';
import { bytesSource, type ModelFiles } from '../../src/model/source';
import { PUBLISHED_SHAPES } from '../../src/model/shapes';
import { uploadWeight } from '../../src/model/weights';
import { randomF32, testGpu } from '../helpers/gpu';

const N = 37, K = 24; // 888 values: pieces of 100 bytes cut it at odd places
const values = randomF32(N * K, 7, 0.5);
const tensors = {
  f32: { dtype: 'F32' as const, data: values, exact: values },
  f16: { dtype: 'F16' as const, data: Uint16Array.from(values, f32ToF16), exact: f16ToF32(Uint16Array.from(values, f32ToF16)) },
  bf16: { dtype: 'BF16' as const, data: Uint16Array.from(values, f32ToBf16), exact: bf16ToF32(Uint16Array.from(values, f32ToBf16)) },
};

async function checkpoint(extra: { name: string; dtype: 'BF16'; shape: number[]; data: Uint16Array }[] = []): Promise<Checkpoint> {
  const st = encodeSafetensors([...Object.entries(tensors).map(([k, t]) => ({ name: k, dtype: t.dtype, shape: [N, K], data: t.data })), ...extra]);
  const config = new TextEncoder().encode(JSON.stringify(PUBLISHED_SHAPES['smollm2-135m'].config));
  const files = new Map([['config.json', config], ['model.safetensors', st]]);
  const mf: ModelFiles = { id: 'mem', has: (p) => files.has(p), list: () => [...files.keys()], open: async (p) => bytesSource(p, files.get(p)!) };
  return Checkpoint.open(mf);
}

describe('uploadWeight', () => {
  for (const [name, t] of Object.entries(tensors)) {
    for (const format of ['auto', 'f16', 'f32'] as const) {
      it(`${name} as ${format}`, async () => {
        const gpu = await testGpu();
        const up = await uploadWeight(gpu, await checkpoint(), name, [N, K], format, 4, 100);
        const f16 = format === 'f16' || (format === 'auto' && name !== 'f32');
        expect(up.f16).toBe(f16);
        const got = f16 ? f16ToF32(new Uint16Array(await gpu.read(up.buffer, N * K * 2))) : await gpu.readF32(up.buffer, N * K);
        // f16 storage of a 16-bit checkpoint is exact; of an f32 one, rounded to f16; f32 storage is the file's value
        const want = f16 && name === 'f32' ? f16ToF32(Uint16Array.from(values, f32ToF16)) : t.exact;
        expect(Array.from(got)).toEqual(Array.from(want));
        up.buffer.destroy();
      });
    }
  }

  it('rows not whole quads stay f32; a bf16 value beyond f16 keeps its tensor in f32, with a note', async () => {
    const gpu = await testGpu();
    const big = Uint16Array.from(values, f32ToBf16);
    big[100] = f32ToBf16(1e6);
    const ck = await checkpoint([{ name: 'big', dtype: 'BF16', shape: [N, K], data: big }]);
    expect((await uploadWeight(gpu, ck, 'bf16', [N, K], 'auto', 5)).f16).toBe(false); // 24 % 5 != 0
    const up = await uploadWeight(gpu, ck, 'big', [N, K], 'auto', 4, 100);
    expect(up.f16).toBe(false);
    expect(up.note).toMatch(/beyond f16's range/);
    expect((await gpu.readF32(up.buffer, N * K))[100]).toBe(bf16ToF32(Uint16Array.of(f32ToBf16(1e6)))[0]);
  });

  it('a shape that disagrees with the checkpoint is refused naming the tensor', async () => {
    const gpu = await testGpu();
    await expect(uploadWeight(gpu, await checkpoint(), 'f16', [K, N], 'auto')).rejects.toThrow(/tensor "f16" has shape \[37,24\] but config.json implies \[24,37\]/);
  });
});
