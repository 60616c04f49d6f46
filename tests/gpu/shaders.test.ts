// The shader loader's feature blocks, and the bit identities the packed decoders (shaders/qpacked.wgsl, qgemv.wgsl) rest on.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { emulateF16, expandShader, shaderNames, shaderSource } from '../../src/gpu/shaders';
import { BIT_WIDTHS, FORMATS } from '../../src/model/formats';
import { f16ToF32 } from '../../src/model/safetensors';
import { testGpu } from '../helpers/gpu';
import { nodeGpuApi } from '../../src/gpu/node';
import { attentionRopeDecode, DECODE_ROPE_BINDINGS, INPUT_NORM_BINDINGS, INPUT_NORM_WORKGROUP_BYTES } from '../../src/model/ops';
import { fusedNormFits } from '../../src/model/linear';
import type { CommandBatch, Gpu } from '../../src/gpu/gpu';

describe('shader loader', () => {
  it('keeps `// @if f16` blocks only for the f16 variant, line numbers unchanged', () => {
    const plain = shaderSource('qgemv');
    const f16 = shaderSource('qgemv', ['f16']);
    expect(plain).not.toMatch(/f16>|Pairs16|@if|@else|@endif/);
    expect(plain.match(/fn gemv_chunk\(/g)).toHaveLength(1); // the @else branch
    expect(f16.startsWith('enable f16;\n')).toBe(true);
    expect(f16).toMatch(/fn gemv_chunk\(n0: u32, c: u32, words: array<vec4<u32>, 8>, xs: Pairs16\)/);
    expect(f16.match(/fn gemv_chunk\(/g)).toHaveLength(1); // the @if branch
    expect(f16).not.toMatch(/@if|@else|@endif|@clone/);
    // compile errors must point at the file's own lines: dropped blocks leave blank lines, clones come after
    const file = expandShader(SRC, ['subgroups'], 'test').split('\n');
    expect(file.slice(1, 7)).toEqual(['', 'var<storage> a: array<u32>;', '', '', '', 'var<storage> a_2: array<u32>;']);
    for (const [text, skip] of [[plain, 0], [f16, 1]] as const) {
      const at = (s: string) => text.split('\n').findIndex((l) => l.startsWith(s)) - skip;
      expect(at('fn gemv4_swiglu(')).toBe(plain.split('\n').findIndex((l) => l.startsWith('fn gemv4_swiglu(')));
      expect(at('fn words4_up(')).toBeGreaterThan(at('fn gemv4_swiglu('));
    }
  });

  it('`// @clone` copies functions onto other bindings, every listed name suffixed', () => {
    const out = expandShader(SRC, ['subgroups'], 'test');
    expect(out).toContain('fn read_2(i: u32) -> u32 {\n  return a_2[i] + twice_2(i);\n}');
    expect(out).toContain('fn twice_2(i: u32) -> u32 {\n  return 2u * i;\n}');
    expect(out).not.toMatch(/fn other_2|@clone/);
    expect(() => expandShader('// @clone _2 missing\n', [], 'bad')).toThrow(/bad.wgsl:1: "\/\/ @clone" names "missing"/);
    // the f16 and f32 readers of the packed fused gate+up kernel: the up projection's bindings
    const f16 = shaderSource('qgemv', ['f16']);
    const up = f16.slice(f16.indexOf('fn gemv_chunk_up('));
    expect(up.slice(0, up.indexOf('\n}'))).toMatch(/zeros4_up\(g, n0\)[^]*scales4_up\[/);
    expect(shaderSource('qgemv')).toMatch(/fn words4_up\(n0: u32, c: u32\)[^}]*qweight4_up\[/);
  });

  it('`// @include` appends another file after the file\'s own lines; a function copied by two `// @clone` lines is added once', () => {
    const text = shaderSource('int8_input');
    const line = (t: string, s: string) => t.split('\n').findIndex((l) => l.startsWith(s));
    expect(line(text, 'fn gemv4_i8(')).toBe(line(readFileSync('shaders/int8_input.wgsl', 'utf8'), 'fn gemv4_i8('));
    // its include, and the include's own: qgemv after the file, qpacked after qgemv
    expect(line(text, '// ---- shaders/qgemv.wgsl')).toBeGreaterThan(line(text, 'fn gemv4_swiglu_i8('));
    expect(line(text, '// ---- shaders/qpacked.wgsl')).toBeGreaterThan(line(text, 'fn gemv4_swiglu('));
    expect(text.match(/^fn gemv4_finish\(/gm)).toHaveLength(1);
    expect(text.match(/^fn zeros4_up\(/gm)).toHaveLength(1); // copied by both files' lines, the same copy
    const up = text.slice(text.indexOf('fn chunk_i8_up('));
    expect(up.slice(0, up.indexOf('\n}'))).toMatch(/zeros4_up\(g, n0\)[^]*scales4_up\[/);
    expect(text).not.toMatch(/@include|@clone/);
    for (const s of ['qpacked', 'qgemm', 'qgemv']) expect(shaderSource(s)).not.toMatch(/i8|quantize_x8/); // the experiment stays out of the production kernels
    expect(() => expandShader('// @include nothere\n', [], 'bad')).toThrow(/bad.wgsl:1: "\/\/ @include" names "nothere"/);
    // a file reached by two paths (qgemm and qgemv both include qpacked) is added once
    const both = expandShader(['// @include qgemm', '// @include qgemv'].join('\n'), [], 'both');
    expect(both.match(/^\/\/ ---- shaders\/qpacked\.wgsl$/gm)).toHaveLength(1);
    // two lines copying one function with different renames: refused
    expect(() => expandShader(['// @include qgemv', '// @clone _up zeros4'].join('\n'), [], 'bad')).toThrow(/bad.wgsl: two "\/\/ @clone _up" lines .* copy fn zeros4 differently/);
  });

  it('f16 emulated in f32: no f16 left, the pair bitcasts become unpack2x16float; other bitcasts to f16 types are refused', () => {
    const f16 = shaderSource('qgemv', ['f16']);
    const emulated = emulateF16(f16, 'qgemv');
    expect(emulated).not.toMatch(/\bf16\b|enable/);
    expect(emulated.split('\n').length).toBe(f16.split('\n').length - 1); // line numbers kept past the enable line
    expect((emulated.match(/unpack2x16float\(/g) ?? []).length).toBe((f16.match(/unpack2x16float\(|bitcast<vec2<f16>>\(/g) ?? []).length);
    expect(() => emulateF16('enable f16;\nfn f(u: u32) -> f16 { return bitcast<vec2<f16>>(u).x + bitcast<f16>(0u); }', 't')).toThrow(/t.wgsl: only bitcast<vec2<f16>>/);
  });
});

// a shader text for the loader's directives (not compiled)
const SRC = [
  '// @if subgroups',
  'var<storage> a: array<u32>;',
  '// @else',
  'var<storage> b: array<u32>;',
  '// @endif',
  'var<storage> a_2: array<u32>;',
  '// @clone _2 a read twice',
  'fn read(i: u32) -> u32 {',
  '  return a[i] + twice(i);',
  '}',
  'fn twice(i: u32) -> u32 {',
  '  return 2u * i;',
  '}',
  'fn other() {}',
].join('\n');

describe('subgroups', () => {
  it('the layout check passes where subgroups are runs of consecutive invocations (SwiftShader: size 4)', async () => {
    const gpu = await testGpu();
    // without it the kernels' subgroup sums (matmul gemv_subgroups, qgemv gemv4_finish) would go untested here
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
    for (const bits of BIT_WIDTHS) {
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
    for (const bits of FORMATS.filter((f) => f.f16Pairs === 'halves').map((f) => f.bits)) {
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

describe('WebGPU default limits', () => {
  // The decode step's fused kernels must build on any adapter: at most 8 storage buffers per stage, the limit
  // a browser device has unless it asks for more (the lab asks for the adapter's, which may be no more).
  it('the generation kernels that bind many buffers build on a device with default limits', async () => {
    const api = await nodeGpuApi();
    const adapter = (await api.requestAdapter())!;
    const device = await adapter.requestDevice();
    expect(device.limits.maxStorageBuffersPerShaderStage).toBe(8);
    for (const [shader, entry] of [['rope', 'rope_cache'], ['qgemv', 'gemv4_swiglu'], ['matmul', 'gemv_swiglu']] as const) {
      device.pushErrorScope('validation');
      device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: shaderSource(shader) }), entryPoint: entry } });
      const error = await device.popErrorScope();
      expect(error?.message ?? null, `${shader}:${entry}`).toBeNull();
    }
    // and no entry point of any shader binds more than 8 storage buffers (other default limits, such as 256
    // invocations per workgroup, the lab raises to the adapter's and sizes its workgroups by)
    const tooMany: string[] = [];
    let entries = 0;
    for (const shader of shaderNames()) {
      const module = device.createShaderModule({ code: shaderSource(shader) });
      for (const [, entry] of shaderSource(shader).matchAll(/@compute[^\n]*\n(?:@[^\n]*\n)*fn (\w+)/g)) {
        entries++;
        device.pushErrorScope('validation');
        device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: entry } });
        const error = await device.popErrorScope();
        if (error && /number of storage buffers/i.test(error.message)) tooMany.push(`${shader}:${entry}`);
      }
    }
    expect(entries).toBeGreaterThan(50);
    // but the fused packed q/k/v GEMV (9-10 buffers), which packed.ts runs only where the device binds them
    // (qkvUnfusable; tests/quant/pack.test.ts), in qgemv.wgsl and the benchmark's file that includes it
    expect(tooMany.sort()).toEqual(['int8_input:gemv4_qkv', 'int8_input:gemv4_qkv_perm', 'qgemv:gemv4_qkv', 'qgemv:gemv4_qkv_perm']);
    device.destroy();
  });

  // The GEMVs that norm their own input bind the norm's weight beside their buffers (the fused q/k/v and
  // gate+up ones then need INPUT_NORM_BINDINGS storage buffers) and sum its squares in 256 bytes of workgroup
  // memory (past the default 16 KiB in the packed ones, which fill it): the forward pass norms apart below that.
  it('the GEMVs norming their input build with INPUT_NORM_BINDINGS storage buffers and 16 KiB + 256 bytes of workgroup memory, not less', async () => {
    const api = await nodeGpuApi();
    const build = async (maxStorageBuffersPerShaderStage: number, maxComputeWorkgroupStorageSize: number) => {
      const adapter = (await api.requestAdapter())!; // an adapter makes one device
      const device = await adapter.requestDevice({ requiredLimits: { maxStorageBuffersPerShaderStage, maxComputeWorkgroupStorageSize } });
      const failed: string[] = [];
      for (const [shader, entry] of [['matmul', 'gemv_qkv'], ['matmul', 'gemv_swiglu'], ['matmul', 'gemv'], ['qgemv', 'gemv4_swiglu'], ['qgemv', 'gemv4'], ['qgemv', 'gemv4_perm']] as const) {
        device.pushErrorScope('validation');
        device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: shaderSource(shader, [], ['input_norm']) }), entryPoint: entry } });
        if (await device.popErrorScope()) failed.push(`${shader}:${entry}`);
      }
      device.destroy();
      return failed;
    };
    expect(await build(INPUT_NORM_BINDINGS, INPUT_NORM_WORKGROUP_BYTES)).toEqual([]);
    expect(await build(INPUT_NORM_BINDINGS - 1, INPUT_NORM_WORKGROUP_BYTES)).toEqual(['matmul:gemv_qkv', 'qgemv:gemv4_swiglu']);
    expect(await build(INPUT_NORM_BINDINGS, INPUT_NORM_WORKGROUP_BYTES - 256)).toEqual(['qgemv:gemv4_swiglu', 'qgemv:gemv4', 'qgemv:gemv4_perm']);
    const withLimits = (buffers: number, bytes: number) => ({ device: { limits: { maxStorageBuffersPerShaderStage: buffers, maxComputeWorkgroupStorageSize: bytes } } }) as unknown as Gpu;
    expect([withLimits(INPUT_NORM_BINDINGS, INPUT_NORM_WORKGROUP_BYTES), withLimits(8, 32768), withLimits(16, 16384)].map(fusedNormFits)).toEqual([true, false, false]);
  });

  // The decode attention that norms and rotates q and k and writes the cache itself (attention.wgsl decode_rope)
  // binds 9 storage buffers; below that the step keeps rope_cache + decode (attentionRopeDecode declines)
  it('decode_rope builds with DECODE_ROPE_BINDINGS storage buffers, not fewer, and is declined below them', async (ctx) => {
    const api = await nodeGpuApi();
    const build = async (maxStorageBuffersPerShaderStage: number) => {
      const adapter = (await api.requestAdapter())!;
      if (!adapter.features.has('subgroups')) ctx.skip('the adapter has no subgroups (decode needs them)');
      const device = await adapter.requestDevice({ requiredFeatures: ['subgroups'], requiredLimits: { maxStorageBuffersPerShaderStage } });
      device.pushErrorScope('validation');
      const module = device.createShaderModule({ code: shaderSource('attention', ['subgroups']) });
      device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'decode_rope', constants: { HD4: 16 } } });
      const error = await device.popErrorScope();
      device.destroy();
      return error ? 'refused' : 'built';
    };
    expect(await build(DECODE_ROPE_BINDINGS)).toBe('built');
    expect(await build(DECODE_ROPE_BINDINGS - 1)).toBe('refused');
    const gpu = { serialKernels: false, subgroupReduce: true, adapter: { subgroupMinSize: 32, limits: { maxComputeWorkgroupStorageSize: 32768 } } };
    const e = {} as GPUBuffer, t = { q: e, k: e, v: e, table: { buffer: e, positions: 8 }, kCache: e, vCache: e, out: e };
    const shape = { batch: 1, seq: 1, past: 3, kvLen: 8, heads: 2, kvHeads: 1, headDim: 64 };
    const declines = (buffers: number) => {
      const b = { gpu: { ...gpu, device: { limits: { maxStorageBuffersPerShaderStage: buffers } } }, dispatch: () => { throw new Error('recorded'); } } as unknown as CommandBatch;
      try {
        return !attentionRopeDecode(b, t, shape);
      } catch {
        return false;
      }
    };
    expect([declines(DECODE_ROPE_BINDINGS - 1), declines(DECODE_ROPE_BINDINGS)]).toEqual([true, false]);
  });
});
