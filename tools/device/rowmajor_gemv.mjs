// Experiment: a 4-bit GEMV on weights repacked output-major ("row-major": each output row's packed words
// contiguous, as llama.cpp and onnxruntime's MatMulNBits store them) instead of the GPTQ checkpoint's
// [K/8, N] layout. A workgroup of 32 x S invocations takes R output rows (of one or, fused gate+up+SwiGLU,
// two matrices); its S subgroups walk the row's 32-column chunks (one vec4 of words each) side by side, so a
// subgroup reads 512 contiguous bytes per row and step, and the sum over K ends in subgroupAdd. Thousands of
// small workgroups balance across the SMs, where the GPTQ-layout GEMV's few hundred large ones do not
// (bench/results/2026-11-23-h100-gemv-grid-experiments.json.gz).
// Four inputs: f32 (decode as gemv4's, codes masked in place under 2^23), f16 pairs (decode as the lab's
// shader-f16 GEMV, two codes per op), int8 per 32-column chunk (quantize_x8's layout, dot4I8Packed) and int16
// per chunk split into low and high bytes (four integer dot products per word; more accurate than f16). The
// integer inputs' quantize pass is not timed: a forward pass would fuse it into the input's producer.
// Timed as tools/device/read_ceiling.mjs times its reads: one compute pass of n dispatches rotating through
// weight copies spanning >= 512 MiB, every dispatch writing the same output (a barrier between them),
// timestamps around the pass, median of 7 passes; % of the same streaming-read probe (grid8 over 256 MB).
//   source .devcarry/env.sh && node tools/device/rowmajor_gemv.mjs            (the 8B MLP shapes)
//   quick, on a CPU adapter:  SMALL=1 EMULATE_F16=1 PROBE_MB=1 ROTATE_MIB=0.1 PASS_MB=0.01 node tools/device/rowmajor_gemv.mjs
import { readKernels, timedDevice } from './pass-timer.mjs';

const { adapter, device, features, passTime, rotation } = await timedDevice(['subgroups', 'shader-f16']);
const U = GPUBufferUsage;
const sub32 = features.includes('subgroups') && adapter.info.subgroupMinSize === 32 && adapter.info.subgroupMaxSize === 32;
// EMULATE_F16=1 (CPU adapters): the f16 kernel with f16 values held in f32 (the lab's Gpu.emulateF16 rewrite), to check its logic
const emulateF16 = !features.includes('shader-f16') && !!process.env.EMULATE_F16;
const kinds = ['i8', 'i16', 'f32', ...(features.includes('shader-f16') || emulateF16 ? ['f16'] : [])].filter((k) => !process.env.KINDS || process.env.KINDS.split(',').includes(k));
const emulate = (code) => code.replace('enable f16;\n', '').replace(/bitcast<vec2<f16>>/g, 'unpack2x16float').replace(/f16/g, 'f32');

// ---- the kernel, generated per (input kind, R rows, S subgroups, matrices)
const kernel = ({ kind, R, S, mats, CPR = 2 }) => {
  const m = [...Array(mats).keys()];
  const rows = [...Array(R).keys()];
  const chunkFns = m.map((i) => `
@group(0) @binding(${1 + 3 * i}) var<storage, read> qw${i}: array<vec4<u32>>;
@group(0) @binding(${2 + 3 * i}) var<storage, read> sc${i}: array<u32>;
@group(0) @binding(${3 + 3 * i}) var<storage, read> zw${i}: array<u32>;
fn scale${i}(n: u32, g: u32) -> f32 { let i = n * NG + g; return unpack2x16float(sc${i}[i >> 1u])[i & 1u]; }
fn zero${i}(n: u32, g: u32) -> u32 { return (zw${i}[n * ZW + (g >> 3u)] >> ((g & 7u) * 4u)) & 15u; }
fn chunk${i}(n: u32, c: u32, u: vec4<u32>, xs: X) -> f32 { let g = c / GC; return dot_chunk(u, xs, scale${i}(n, g), zero${i}(n, g)); }`).join('\n');
  const xDefs = {
    // 12 words per chunk (quantize_x8): even/odd-input bytes per word, the int8 sum, the scale
    i8: `struct X { a: vec4<u32>, b: vec4<u32>, t: vec4<u32> }
fn load_x(c: u32) -> X { return X(xin[3u * c], xin[3u * c + 1u], xin[3u * c + 2u]); }
fn dot_chunk(u: vec4<u32>, xs: X, s: f32, z: u32) -> f32 {
  let lo = u & vec4<u32>(0x0F0F0F0Fu);
  let hi = (u >> vec4<u32>(4u)) & vec4<u32>(0x0F0F0F0Fu);
  let d = dot4I8Packed(lo.x, xs.a.x) + dot4I8Packed(hi.x, xs.a.y) + dot4I8Packed(lo.y, xs.a.z) + dot4I8Packed(hi.y, xs.a.w)
        + dot4I8Packed(lo.z, xs.b.x) + dot4I8Packed(hi.z, xs.b.y) + dot4I8Packed(lo.w, xs.b.z) + dot4I8Packed(hi.w, xs.b.w);
  return s * bitcast<f32>(xs.t.y) * f32(d - i32(z) * bitcast<i32>(xs.t.x));
}`,
    // int16 inputs split into bytes (20 words per chunk): the low bytes (unsigned) in quantize_x8's even/odd
    // layout, then the high bytes (signed), the chunk's sum of int16 inputs, its scale (max|x| / 32767)
    i16: `struct X { a: vec4<u32>, b: vec4<u32>, c: vec4<u32>, d: vec4<u32>, t: vec4<u32> }
fn load_x(c: u32) -> X { return X(xin[5u * c], xin[5u * c + 1u], xin[5u * c + 2u], xin[5u * c + 3u], xin[5u * c + 4u]); }
fn dot_chunk(u: vec4<u32>, xs: X, s: f32, z: u32) -> f32 {
  let lo = u & vec4<u32>(0x0F0F0F0Fu);
  let hi = (u >> vec4<u32>(4u)) & vec4<u32>(0x0F0F0F0Fu);
  let dl = dot4U8Packed(lo.x, xs.a.x) + dot4U8Packed(hi.x, xs.a.y) + dot4U8Packed(lo.y, xs.a.z) + dot4U8Packed(hi.y, xs.a.w)
         + dot4U8Packed(lo.z, xs.b.x) + dot4U8Packed(hi.z, xs.b.y) + dot4U8Packed(lo.w, xs.b.z) + dot4U8Packed(hi.w, xs.b.w);
  let dh = dot4I8Packed(lo.x, xs.c.x) + dot4I8Packed(hi.x, xs.c.y) + dot4I8Packed(lo.y, xs.c.z) + dot4I8Packed(hi.y, xs.c.w)
         + dot4I8Packed(lo.z, xs.d.x) + dot4I8Packed(hi.z, xs.d.y) + dot4I8Packed(lo.w, xs.d.z) + dot4I8Packed(hi.w, xs.d.w);
  return s * bitcast<f32>(xs.t.y) * f32(dh * 256i + i32(dl) - i32(z) * bitcast<i32>(xs.t.x));
}`,
    // 8 vec4 per chunk: vec4 j = inputs (j, 8 + j, 16 + j, 24 + j), the columns of code j of the 4 words; 9th: sum
    f32: `struct X { v: array<vec4<f32>, 8>, sum: f32 }
fn load_x(c: u32) -> X { var r: X; for (var j = 0u; j < 8u; j++) { r.v[j] = bitcast<vec4<f32>>(xin[9u * c + j]); } r.sum = bitcast<f32>(xin[9u * c + 8u].x); return r; }
const MAGIC = 0x4B000000u;
fn dot_chunk(u: vec4<u32>, xs: X, s: f32, z: u32) -> f32 {
  var d = vec4<f32>(0.0);
  for (var j = 0u; j < 8u; j++) {
    let sh = 4u * j;
    var q: vec4<f32>;
    if (sh + 4u <= 23u) { q = bitcast<vec4<f32>>((u & vec4<u32>(15u << sh)) | vec4<u32>(MAGIC - (sh << 23u))) - vec4<f32>(bitcast<f32>(MAGIC - (sh << 23u))); }
    else { q = bitcast<vec4<f32>>(((u >> vec4<u32>(12u)) & vec4<u32>(15u << (sh - 12u))) | vec4<u32>(MAGIC - ((sh - 12u) << 23u))) - vec4<f32>(bitcast<f32>(MAGIC - ((sh - 12u) << 23u))); }
    d += xs.v[j] * q;
  }
  return s * (d.x + d.y + d.z + d.w - f32(z) * xs.sum);
}`,
    // 4 vec4<u32> per chunk: 16 f16 pairs, pair 4w + j = inputs (8w + j, 8w + j + 4), the codes one mask of word w holds
    f16: `struct X { v: array<vec4<u32>, 4> }
fn load_x(c: u32) -> X { return X(array<vec4<u32>, 4>(xin[4u * c], xin[4u * c + 1u], xin[4u * c + 2u], xin[4u * c + 3u])); }
fn dot_chunk(u: vec4<u32>, xs: X, s: f32, z: u32) -> f32 {
  let zr = vec2<f16>(f16(z));
  var d = vec2<f16>(0.0);
  for (var w = 0u; w < 4u; w++) {
    for (var j = 0u; j < 4u; j++) {
      var v = u[w];
      var sh = 4u * j;
      if (sh + 4u > 10u) { v = v >> 8u; sh -= 8u; }
      let e = ((25u - sh) << 10u) * 0x10001u;
      let q = bitcast<vec2<f16>>((v & ((15u << sh) * 0x10001u)) | e) - (bitcast<vec2<f16>>(e) + zr);
      d = fma(bitcast<vec2<f16>>(xs.v[w][j]), q, d);
    }
  }
  return s * (f32(d.x) + f32(d.y));
}`,
  }[kind];
  const acc = (i, r) => `acc${i}_${r}`;
  const loadW = (suffix, c) => m.flatMap((i) => rows.map((r) => `let w${suffix}${i}_${r} = qw${i}[(r0 + ${r}u) * CH + ${c}];`)).join('\n    ');
  const use = (suffix, c, xs) => m.flatMap((i) => rows.map((r) => `${acc(i, r)} += chunk${i}(r0 + ${r}u, ${c}, w${suffix}${i}_${r}, ${xs});`)).join('\n    ');
  const sums = m.flatMap((i) => rows.map((r) => sub32
    ? `{ let v = subgroupAdd(${acc(i, r)}); if (lid.x == 0u) { part[${i * R + r}u * S + lid.y] = v; } }`
    : `part[(${i * R + r}u * S + lid.y) * 32u + lid.x] = ${acc(i, r)};`)).join('\n  ');
  const per = sub32 ? 'S' : 'S * 32u';
  return `${kind === 'f16' ? 'enable f16;\n' : ''}${sub32 ? 'enable subgroups;\n' : ''}
override CH: u32; // chunks of 32 columns per row
override NG: u32; // groups per row
override ZW: u32; // words of packed zeros per row
override GC: u32; // chunks per group
const S = ${S}u;
@group(0) @binding(0) var<storage, read> xin: array<vec4<u32>>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;
var<workgroup> part: array<f32, ${R * mats * S * (sub32 ? 1 : 32)}>;
${xDefs}
${chunkFns}
@compute @workgroup_size(32, ${S})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r0 = wg.x * ${R}u;
  ${m.flatMap((i) => rows.map((r) => `var ${acc(i, r)} = 0.0;`)).join(' ')}
  var c = lid.y * 32u + lid.x;
  for (; c + ${CPR - 1}u * 32u * S < CH; c += ${CPR}u * 32u * S) {
    ${[...Array(CPR).keys()].map((j) => loadW(`r${j}`, `c + ${j}u * 32u * S`)).join('\n    ')}
    ${[...Array(CPR).keys()].map((j) => `let x${j} = load_x(c + ${j}u * 32u * S);`).join('\n    ')}
    ${[...Array(CPR).keys()].map((j) => use(`r${j}`, `c + ${j}u * 32u * S`, `x${j}`)).join('\n    ')}
  }
  for (; c < CH; c += 32u * S) {
    ${loadW('a', 'c')}
    let xa = load_x(c);
    ${use('a', 'c', 'xa')}
  }
  ${sums}
  workgroupBarrier();
  if (lid.y == 0u && lid.x < ${R}u) {
    var t = array<f32, ${mats}>();
    for (var i = 0u; i < ${mats}u; i++) { for (var j = 0u; j < ${per}; j++) { t[i] += part[(i * ${R}u + lid.x) * ${per} + j]; } }
    ${mats === 2 ? 'y[r0 + lid.x] = t[0] / (1.0 + exp(-t[0])) * t[1];' : 'y[r0 + lid.x] = t[0];'}
  }
}`;
};

// ---- data
function f16bits(v) {
  const f = new Float32Array([v]);
  const b = new Uint32Array(f.buffer)[0];
  const s = (b >>> 16) & 0x8000, e = ((b >>> 23) & 0xff) - 112, mant = b & 0x7fffff;
  if (e <= 0) return s; // tiny -> 0 (not produced here)
  let h = s | (e << 10) | (mant >>> 13);
  if (mant & 0x1000) h++; // round half up (ties rare; the reference uses the rounded value)
  return h;
}
function f16val(h) {
  const e = (h >>> 10) & 31, mnt = h & 1023, s = h & 0x8000 ? -1 : 1;
  return e === 0 ? s * mnt * 2 ** -24 : s * (1 + mnt / 1024) * 2 ** (e - 15);
}
let seed = 12345;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);

/** One 4-bit matrix N x K, G = 128: row-major words [N][K/8], f16 scales [N][K/G], packed zeros [N][ZW]. */
function matrix(N, K) {
  const NG = K / 128, ZW = Math.ceil(NG / 8);
  const words = new Uint32Array((N * K) / 8);
  for (let i = 0; i < words.length; i++) words[i] = (rnd() * 2 ** 32) >>> 0;
  const sc = new Uint16Array(N * NG + (N * NG) % 2);
  for (let i = 0; i < N * NG; i++) sc[i] = f16bits(0.002 + 0.01 * rnd());
  const zw = new Uint32Array(N * ZW);
  for (let n = 0; n < N; n++) for (let g = 0; g < NG; g++) zw[n * ZW + (g >> 3)] |= (Math.floor(rnd() * 16) & 15) << (4 * (g & 7));
  return { N, K, NG, ZW, words, sc, zw, bytes: words.byteLength + 2 * N * NG + zw.byteLength };
}
/** float64 y[n] and sum_k |w x| for row n. */
function refRow(mat, x, n) {
  let y = 0, mag = 0;
  const CH = mat.K / 32;
  for (let k = 0; k < mat.K; k++) {
    const c = k >> 5, w = (k & 31) >> 3, j = k & 7, g = k >> 7;
    const q = (mat.words[(n * CH + c) * 4 + w] >>> (4 * j)) & 15;
    const z = (mat.zw[n * mat.ZW + (g >> 3)] >>> (4 * (g & 7))) & 15;
    const v = f16val(mat.sc[n * mat.NG + g]) * (q - z) * x[k];
    y += v;
    mag += Math.abs(v);
  }
  return [y, mag];
}
/**
 * A 32-input chunk rounded to integers of at most qmax (absmax scale) at words[base ..]: `planes` byte planes
 * of 8 words in quantize_x8's even/odd layout (plane p: bits 8p..8p+7 of each integer), then the chunk's
 * integer sum and its scale (max / qmax).
 */
function intChunk(words, base, xs, mx, qmax, planes) {
  const inv = mx > 0 ? qmax / mx : 0;
  let sum = 0;
  for (let w = 0; w < 4; w++) for (let j = 0; j < 4; j++) for (const o of [0, 1]) {
    const q = Math.round(Math.fround(xs[8 * w + 2 * j + o] * Math.fround(inv)));
    sum += q;
    for (let p = 0; p < planes; p++) words[base + 8 * p + 2 * w + o] |= ((q >> (8 * p)) & 0xff) << (8 * j);
  }
  new Int32Array(words.buffer, (base + 8 * planes) * 4, 1)[0] = sum;
  new Float32Array(words.buffer, (base + 8 * planes + 1) * 4, 1)[0] = mx / qmax;
}

function inputs(K) {
  const x = new Float32Array(K);
  for (let k = 0; k < K; k++) x[k] = 2 * rnd() - 1;
  const CH = K / 32;
  const i8 = new Uint32Array(12 * CH), f32 = new Float32Array(36 * CH), f16 = new Uint32Array(16 * CH);
  const i16 = new Uint32Array(20 * CH);
  for (let c = 0; c < CH; c++) {
    const xs = x.subarray(32 * c, 32 * c + 32);
    const mx = Math.max(...xs.map(Math.abs));
    intChunk(i8, 12 * c, xs, mx, 127, 1);
    intChunk(i16, 20 * c, xs, mx, 32767, 2); // x = (256 hi + lo) * max / 32767: lo unsigned, hi signed
    let s = 0;
    for (let j = 0; j < 8; j++) for (let w = 0; w < 4; w++) { f32[36 * c + 4 * j + w] = xs[8 * w + j]; }
    for (let k = 0; k < 32; k++) s += xs[k];
    f32[36 * c + 32] = s;
    for (let w = 0; w < 4; w++) for (let j = 0; j < 4; j++) f16[16 * c + 4 * w + j] = f16bits(xs[8 * w + j]) | (f16bits(xs[8 * w + j + 4]) << 16);
  }
  return { x, i8, i16, f32, f16 };
}

// ---- timing (as read_ceiling.mjs: tools/device/pass-timer.mjs)
const buf = (data, usage = U.STORAGE) => {
  const b = device.createBuffer({ size: Math.ceil(data.byteLength / 16) * 16, usage: usage | U.COPY_DST });
  device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
  return b;
};

// the probe (grid8 over PROBE_MB, the bench's read_probe) and a plain read of a matrix's bytes (block 256x1)
const sink = device.createBuffer({ size: 1 << 22, usage: U.STORAGE });
async function readRate(bytes, entry) {
  const n4 = Math.ceil(bytes / 16);
  const { bufs, n } = rotation(n4);
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: readKernels(256, 1) }), entryPoint: entry, constants: { N4: n4 } } });
  const bgs = bufs.map((b) => device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: b } }, { binding: 1, resource: { buffer: sink } }] }));
  const us = await passTime(pipeline, entry === 'grid' ? Math.ceil(n4 / 256 / 8) : Math.ceil(n4 / 256), bgs, n);
  bufs.forEach((b) => b.destroy());
  return us;
}

const probeMB = Number(process.env.PROBE_MB ?? 256);
const probeUs = await readRate(probeMB * 1e6, 'grid');
const probeGBps = (probeMB * 1e6) / probeUs / 1e3;
console.log(`${adapter.info.description}; subgroups of 32: ${sub32}; kinds ${kinds.join(', ')}; probe (grid8, ${probeMB} MB) ${probeGBps.toFixed(0)} GB/s`);

const small = !!process.env.SMALL;
const shapes = small
  ? [{ label: 'small gate/up', K: 256, N: 96, mats: 1 }, { label: 'small down', K: 384, N: 64, mats: 1 }, { label: 'small fused', K: 256, N: 96, mats: 2 }]
  : [{ label: '8B gate/up', K: 4096, N: 14336, mats: 1 }, { label: '8B down', K: 14336, N: 4096, mats: 1 }, { label: '8B gate+up fused', K: 4096, N: 14336, mats: 2 }];
// R x S [x CPR]: rows, subgroups, chunks loaded per round before any is decoded (default 2)
const configs = (process.env.CONFIGS ?? '1x4,2x2,2x4,4x1,4x2,8x1,2x8,1x8').split(',').map((s) => s.split('x').map(Number));
const results = [];
for (const shape of shapes) {
  const { K, N, mats } = shape;
  const base = matrix(N, K);
  const xin = inputs(K);
  const copies = Math.max(mats + 1, Math.ceil((Number(process.env.ROTATE_MIB ?? 512) * 2 ** 20) / base.bytes));
  // copies of the same matrix (copy 0's data checks every kernel; the timing only needs the bytes)
  const sets = Array.from({ length: copies }, () => ({ qw: buf(base.words), sc: buf(base.sc), zw: buf(base.zw) }));
  const xbufs = { i8: buf(xin.i8), i16: buf(xin.i16), f32: buf(xin.f32), f16: buf(xin.f16) };
  const y = device.createBuffer({ size: N * 4, usage: U.STORAGE | U.COPY_SRC });
  const yRead = device.createBuffer({ size: N * 4, usage: U.MAP_READ | U.COPY_DST });
  const bytes = mats * base.bytes;
  const plainUs = await readRate(bytes, 'block');
  results.push({ shape: shape.label, variant: 'plain read 256x1', us: plainUs, bytes });
  const checkRows = Array.from({ length: 12 }, (_, i) => Math.floor((i * (N - 1)) / 11));
  const want = checkRows.map((n) => refRow(base, xin.x, n));
  for (const kind of kinds) {
    for (const [R, S, CPR = 2] of configs) {
      if (N % R || 32 * S > device.limits.maxComputeInvocationsPerWorkgroup) continue;
      let code = kernel({ kind, R, S, mats, CPR });
      if (kind === 'f16' && emulateF16) code = emulate(code);
      device.pushErrorScope('validation');
      const module = device.createShaderModule({ code });
      const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main', constants: { CH: K / 32, NG: base.NG, ZW: base.ZW, GC: 4 } } });
      const error = await device.popErrorScope();
      if (error) { console.error(`${shape.label} ${kind} ${R}x${S}: ${error.message}`); continue; }
      const bg = (i) => device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [{ binding: 0, resource: { buffer: xbufs[kind] } }, { binding: 7, resource: { buffer: y } },
          ...[...Array(mats).keys()].flatMap((j) => { const s = sets[(i + j) % copies]; return [{ binding: 1 + 3 * j, resource: { buffer: s.qw } }, { binding: 2 + 3 * j, resource: { buffer: s.sc } }, { binding: 3 + 3 * j, resource: { buffer: s.zw } }]; })],
      });
      const bgs = Array.from({ length: copies }, (_, i) => bg(i));
      // check against float64 (all copies hold the same data, so fused = silu(y) * y)
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline); pass.setBindGroup(0, bgs[0]); pass.dispatchWorkgroups(N / R); pass.end();
      enc.copyBufferToBuffer(y, 0, yRead, 0, N * 4);
      device.queue.submit([enc.finish()]);
      await yRead.mapAsync(GPUMapMode.READ);
      const got = new Float32Array(yRead.getMappedRange().slice(0));
      yRead.unmap();
      let err = 0;
      checkRows.forEach((n, i) => {
        const [v, mag] = want[i];
        const sig = 1 / (1 + Math.exp(-v));
        const w = mats === 2 ? v * sig * v : v;
        // fused: y = v^2 sigma(v), so an error e in v moves y by e |2 v sigma + v^2 sigma (1 - sigma)|
        const scale = (mats === 2 ? mag * (Math.abs(2 * v * sig + v * v * sig * (1 - sig)) + 1e-3) : mag) + 1e-30;
        err = Math.max(err, Math.abs(got[n] - w) / scale);
      });
      const n = Math.max(copies, Math.ceil(Number(process.env.PASS_MB ?? 12000) / (bytes / 1e6)));
      const us = await passTime(pipeline, N / R, bgs, n);
      results.push({ shape: shape.label, variant: `${kind} ${R} rows x ${S} subgroups${CPR === 2 ? '' : ` x ${CPR}/round`}`, groups: N / R, us, bytes, err });
    }
  }
  for (const s of sets) Object.values(s).forEach((b) => b.destroy());
  Object.values(xbufs).forEach((b) => b.destroy());
}
for (const r of results) {
  const gbps = r.bytes / r.us / 1e3;
  console.log(`${r.shape.padEnd(18)} ${r.variant.padEnd(36)} ${String(r.groups ?? '').padStart(6)} groups ${r.us.toFixed(2).padStart(8)} us ${gbps.toFixed(0).padStart(5)} GB/s ${((100 * gbps) / probeGBps).toFixed(1).padStart(5)}% of probe${r.err === undefined ? '' : `  err ${r.err.toExponential(1)}${r.err > (r.variant.startsWith('i8') ? 5e-3 : r.variant.startsWith('f16') ? 2e-3 : r.variant.startsWith('i16') ? 1e-4 : 1e-5) ? ' FAIL' : ''}`}`);
}
console.log(JSON.stringify({ date: new Date().toISOString(), adapter: adapter.info.description, probeGBps, results }));
process.exit(0);
