// The shader loader's feature blocks, and the bit identities the decoders of shaders/qmatmul.wgsl rest on.
import { describe, expect, it } from 'vitest';
import { shaderSource } from '../../src/gpu/shaders';
import { f16ToF32 } from '../../src/model/safetensors';
import { testGpu } from '../helpers/gpu';

describe('shader loader', () => {
  it('keeps `// @if f16` blocks only for the f16 variant, line numbers unchanged', () => {
    const plain = shaderSource('qmatmul');
    const f16 = shaderSource('qmatmul', ['f16']);
    expect(plain).not.toMatch(/f16>|Pairs16|@if|@else|@endif/);
    expect(plain.match(/fn gemv_chunk/g)).toHaveLength(1); // the @else branch
    expect(f16.startsWith('enable f16;\n')).toBe(true);
    expect(f16).toMatch(/fn gemv_chunk\(words: array<vec4<u32>, 8>, xs: Pairs16, sc: vec4<f32>, z: vec4<f32>\)/);
    expect(f16.match(/fn gemv_chunk/g)).toHaveLength(1); // the @if branch
    expect(f16).not.toMatch(/@if|@else|@endif/);
    // compile errors must point at the file's own lines: the dropped block leaves blank lines
    expect(f16.split('\n').length).toBe(plain.split('\n').length + 1);
  });
});

describe('subgroups', () => {
  it('the layout check passes where subgroups are runs of consecutive invocations (SwiftShader: size 4)', async () => {
    const gpu = await testGpu();
    // without it the kernels' subgroup sums (matmul gemv_subgroups, qmatmul gemv4_finish) would go untested here
    if (/swiftshader/i.test(gpu.adapterName)) expect(gpu.subgroupReduce).toBe(true);
    if (!gpu.hasSubgroups) expect(gpu.subgroupReduce).toBe(false);
    const src = shaderSource('subgroups', ['subgroups']);
    expect(src).toMatch(/^enable subgroups;\n/);
    expect(shaderSource('subgroups')).not.toMatch(/fn layout_check/);
  });
});

describe('code decoders (bit identities)', () => {
  const f32 = (bits: number) => new Float32Array(Uint32Array.of(bits >>> 0).buffer)[0];

  it('f32: a code masked in place under the exponent of 2^(23 - s) is 2^(23 - s) + code', () => {
    for (const bits of [2, 3, 4, 8]) {
      const mask = (1 << bits) - 1;
      for (let s = 0; s + bits <= 23; s++) {
        const e = ((150 - s) << 23) >>> 0;
        for (let code = 0; code <= mask; code++) {
          const word = (code << s) | ~(mask << s); // other codes' bits set: the mask must drop them
          expect(f32((word & (mask << s)) | e) - f32(e)).toBe(code);
        }
      }
    }
  });

  it('f16 pairs: both halves masked under the exponent of 2^(10 - s) give 2^(10 - s) + code', () => {
    for (const bits of [2, 4, 8]) {
      const mask = (1 << bits) - 1;
      for (let s = 0; s + bits <= 10; s++) {
        const e = (((25 - s) << 10) * 0x10001) >>> 0;
        const magic = f16ToF32(Uint16Array.of(e & 0xffff))[0];
        expect(magic).toBe(2 ** (10 - s));
        for (let code = 0; code <= mask; code++) {
          const other = mask - code; // a different code in the high half
          const word = ((other << (s + 16)) | (code << s) | ~((mask << s) * 0x10001)) >>> 0;
          const pair = f16ToF32(new Uint16Array(Uint32Array.of(((word & ((mask << s) * 0x10001)) | e) >>> 0).buffer));
          expect([pair[0] - magic, pair[1] - magic]).toEqual([code, other]);
        }
      }
    }
  });
});
