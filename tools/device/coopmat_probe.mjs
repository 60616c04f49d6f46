// Does Dawn give WGSL the GPU's matrix units here? Prints the adapter's subgroup matrix configurations
// (chromium-experimental-subgroup-matrix: VK_KHR_cooperative_matrix on Vulkan) and, where it has f16 inputs
// with f32 results, runs a plain tiled GEMM on them (C = A W^T, A f32 rounded to f16 on load, W f16): checked
// against float64 on the same rounded inputs, then timed beside the lab's f32 GEMM shapes. Tiles: BM x BN outputs a
// workgroup, BK columns staged a step, WM x WN subgroups; aF16: A stored in f16 (staging copies instead of rounding).
//   source .devcarry/env.sh && node tools/device/coopmat_probe.mjs [tiles]   (tiles: wide = the tile sweep of 2026-12-07)
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const { create, globals } = await import(pathToFileURL(createRequire(process.cwd() + '/').resolve('webgpu')).href);
Object.assign(globalThis, globals);
const gpu = create(['disable-dawn-features=timestamp_quantization', 'enable-dawn-features=vulkan_enable_f16_on_nvidia,allow_unsafe_apis']);
globalThis.keepDawn = gpu;
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
const info = adapter.info ?? {};
const FEATURE = 'chromium-experimental-subgroup-matrix';
console.log(JSON.stringify({ adapter: `${info.vendor} / ${info.device} / ${info.description}`, subgroupMatrix: adapter.features.has(FEATURE), f16: adapter.features.has('shader-f16'), subgroups: adapter.features.has('subgroups'), subgroupMaxSize: info.subgroupMaxSize }));
const configs = [...(info.subgroupMatrixConfigs ?? [])].map((c) => ({ componentType: c.componentType, resultComponentType: c.resultComponentType, M: c.M, N: c.N, K: c.K }));
console.log('configs', JSON.stringify(configs));
const cfg = configs.find((c) => c.componentType === 'f16' && c.resultComponentType === 'f32');
if (!adapter.features.has(FEATURE) || !cfg) {
  console.log('no f16 -> f32 subgroup matrices on this adapter');
  process.exit(0);
}
const device = await adapter.requestDevice({
  requiredFeatures: ['subgroups', 'shader-f16', FEATURE, 'timestamp-query'].filter((f) => adapter.features.has(f)),
  requiredLimits: { maxStorageBufferBindingSize: 2 ** 30, maxBufferSize: 2 ** 30, maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupSizeX: adapter.limits.maxComputeWorkgroupSizeX },
});
device.addEventListener('uncapturederror', (e) => { console.error('uncaptured:', e.error.message); process.exit(1); });
const T = cfg.M; // square configurations only below (16x16x16 on NVIDIA)
if (cfg.N !== T || cfg.K !== T) { console.log('non-square configuration: not probed'); process.exit(0); }

// A workgroup of SG subgroups (subgroupMaxSize each) computes a BM x BN tile, each subgroup RM x RN tiles of T x T.
const kernel = ({ BM, BN, BK, WM, WN, SGS, aF16 = false }) => {
  const RM = BM / WM / T, RN = BN / WN / T, WG = WM * WN * SGS;
  const accs = Array.from({ length: RM * RN }, (_, i) => i);
  return { WG, code: `
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
diagnostic(off, chromium_experimental.subgroup_matrix_uniformity);
@group(0) @binding(0) var<storage, read> a: array<vec4<${aF16 ? 'f16' : 'f32'}>>;
@group(0) @binding(1) var<storage, read> w: array<vec4<f16>>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
override M: u32; override N: u32; override K: u32;
const BM = ${BM}u; const BN = ${BN}u; const BK = ${BK}u;
var<workgroup> sa: array<f16, ${BM * BK}>;
var<workgroup> sb: array<f16, ${BN * BK}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32, @builtin(subgroup_id) sg: u32) {
  let m0 = wg.y * BM; let n0 = wg.x * BN;
  let wr = sg / ${WN}u; let wc = sg % ${WN}u;
  ${accs.map((i) => `var c${i} = subgroup_matrix_result<f32, ${T}, ${T}>();`).join('\n  ')}
  for (var k0 = 0u; k0 < K; k0 += BK) {
    for (var i = t; i < BM * BK / 4u; i += ${WG}u) {
      let r = i / (BK / 4u); let q = i % (BK / 4u);
      let v = vec4<f16>(a[((m0 + r) * K + k0) / 4u + q]);
      sa[r * BK + 4u * q] = v.x; sa[r * BK + 4u * q + 1u] = v.y; sa[r * BK + 4u * q + 2u] = v.z; sa[r * BK + 4u * q + 3u] = v.w;
    }
    for (var i = t; i < BN * BK / 4u; i += ${WG}u) {
      let r = i / (BK / 4u); let q = i % (BK / 4u);
      let v = w[((n0 + r) * K + k0) / 4u + q];
      sb[r * BK + 4u * q] = v.x; sb[r * BK + 4u * q + 1u] = v.y; sb[r * BK + 4u * q + 2u] = v.z; sb[r * BK + 4u * q + 3u] = v.w;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk += ${T}u) {
      ${Array.from({ length: RM }, (_, i) => `let a${i} = subgroupMatrixLoad<subgroup_matrix_left<f16, ${T}, ${T}>>(&sa, (wr * ${BM / WM}u + ${i * T}u) * BK + kk, false, BK);`).join('\n      ')}
      ${Array.from({ length: RN }, (_, j) => `let b${j} = subgroupMatrixLoad<subgroup_matrix_right<f16, ${T}, ${T}>>(&sb, (wc * ${BN / WN}u + ${j * T}u) * BK + kk, true, BK);`).join('\n      ')}
      ${accs.map((i) => `c${i} = subgroupMatrixMultiplyAccumulate(a${Math.floor(i / RN)}, b${i % RN}, c${i});`).join('\n      ')}
    }
    workgroupBarrier();
  }
  ${accs.map((i) => `subgroupMatrixStore(&c, (m0 + wr * ${BM / WM}u + ${Math.floor(i / RN) * T}u) * N + n0 + wc * ${BN / WN}u + ${(i % RN) * T}u, c${i}, false, N);`).join('\n  ')}
}` };
};

const U = GPUBufferUsage;
function toHalf(src) { // round-to-nearest f16 bits of each float
  const out = new Uint16Array(src.length), f = new Float32Array(1), u = new Uint32Array(f.buffer);
  for (let i = 0; i < src.length; i++) {
    f[0] = src[i]; const x = u[0], s = (x >>> 16) & 0x8000, e = ((x >>> 23) & 0xff) - 112; let m = x & 0x7fffff;
    if (e <= 0) { out[i] = s; continue; }
    let h = s | (e << 10) | (m >>> 13); if ((m & 0x1fff) > 0x1000 || ((m & 0x1fff) === 0x1000 && (h & 1))) h++;
    out[i] = h;
  }
  return out;
}
function fromHalf(h) { const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023; return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15); }
const buf = (data, usage = U.STORAGE | U.COPY_DST) => { const b = device.createBuffer({ size: Math.max(16, data.byteLength), usage }); device.queue.writeBuffer(b, 0, data); return b; };
const qs = device.createQuerySet({ type: 'timestamp', count: 2 });
const resolveBuf = device.createBuffer({ size: 16, usage: U.QUERY_RESOLVE | U.COPY_SRC });
const rb = device.createBuffer({ size: 16, usage: U.MAP_READ | U.COPY_DST });

/** A shape's inputs on the GPU (A in f32 and in f16, W in f16) and its output, made once for every tile. */
function inputs(Mm, Nn, Kk) {
  const A = Float32Array.from({ length: Mm * Kk }, (_, i) => Math.sin(i * 0.37) * 2);
  const Ah = toHalf(A);
  const Wh = toHalf(Float32Array.from({ length: Nn * Kk }, (_, i) => Math.cos(i * 0.11) * 0.05));
  return { A, Ah, Wh, a: buf(A), ah: buf(Ah), w: buf(Wh), c: device.createBuffer({ size: Mm * Nn * 4, usage: U.STORAGE | U.COPY_SRC }), destroy() { [this.a, this.ah, this.w, this.c].forEach((b) => b.destroy()); } };
}

async function run(k, Mm, Nn, Kk, check, shared) {
  const io = shared ?? inputs(Mm, Nn, Kk);
  const { WG, code } = kernel(k);
  const mod = device.createShaderModule({ code });
  const info = await mod.getCompilationInfo();
  for (const m of info.messages) console.log(m.type, m.lineNum, m.message);
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module: mod, entryPoint: 'main', constants: { M: Mm, N: Nn, K: Kk } } });
  const { A, Wh, w, c } = io, a = k.aF16 ? io.ah : io.a;
  const bg = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [a, w, c].map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const groups = [Nn / k.BN, Mm / k.BM];
  const once = async (n) => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass({ timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
    pass.setPipeline(pipeline); pass.setBindGroup(0, bg);
    for (let i = 0; i < n; i++) pass.dispatchWorkgroups(...groups);
    pass.end();
    enc.resolveQuerySet(qs, 0, 2, resolveBuf, 0); enc.copyBufferToBuffer(resolveBuf, 0, rb, 0, 16);
    device.queue.submit([enc.finish()]);
    await rb.mapAsync(GPUMapMode.READ); const t = new BigUint64Array(rb.getMappedRange().slice(0)); rb.unmap();
    return Number(t[1] - t[0]) / n;
  };
  let err = null;
  if (check) {
    await once(1);
    const out = device.createBuffer({ size: Mm * Nn * 4, usage: U.MAP_READ | U.COPY_DST });
    const enc = device.createCommandEncoder(); enc.copyBufferToBuffer(c, 0, out, 0, Mm * Nn * 4); device.queue.submit([enc.finish()]);
    await out.mapAsync(GPUMapMode.READ); const C = new Float32Array(out.getMappedRange().slice(0)); out.unmap();
    const Ah = Array.from(toHalf(A), fromHalf), Wf = Array.from(Wh, fromHalf);
    let maxErr = 0, maxRef = 0;
    for (let i = 0; i < Mm; i++) for (let j = 0; j < Nn; j++) {
      let s = 0; for (let q = 0; q < Kk; q++) s += Ah[i * Kk + q] * Wf[j * Kk + q];
      maxErr = Math.max(maxErr, Math.abs(s - C[i * Nn + j])); maxRef = Math.max(maxRef, Math.abs(s));
    }
    err = maxErr / maxRef;
  }
  for (let i = 0; i < 3; i++) await once(5);
  const ts = []; for (let i = 0; i < 5; i++) ts.push(await once(10));
  const ns = ts.sort((x, y) => x - y)[2];
  if (!shared) io.destroy();
  return { tile: `${k.BM}x${k.BN}x${k.BK} ${k.WM}x${k.WN} subgroups${k.aF16 ? ', A f16' : ''}`, shape: `${Mm}x${Nn}x${Kk}`, us: +(ns / 1e3).toFixed(1), tflops: +((2 * Mm * Nn * Kk) / ns / 1e3).toFixed(1), maxRelErr: err };
}

const SGS = info.subgroupMaxSize ?? 32;
if (process.argv[2] === 'wide') {
  // which tile, staging and input precision reach what on the Llama-3.2-1B prefill shapes (q/k/v, gate+up, down) and a square one
  const sweep = [
    { BM: 64, BN: 64, BK: 32, WM: 2, WN: 2 }, { BM: 64, BN: 64, BK: 32, WM: 2, WN: 2, aF16: true }, { BM: 64, BN: 64, BK: 64, WM: 2, WN: 2, aF16: true },
    { BM: 128, BN: 64, BK: 32, WM: 4, WN: 2 }, { BM: 128, BN: 64, BK: 32, WM: 4, WN: 2, aF16: true }, { BM: 64, BN: 128, BK: 32, WM: 2, WN: 4, aF16: true },
    { BM: 128, BN: 128, BK: 32, WM: 4, WN: 4, aF16: true }, { BM: 128, BN: 128, BK: 32, WM: 2, WN: 4, aF16: true },
  ].map((t) => ({ ...t, SGS }));
  console.log(JSON.stringify(await run(sweep[4], 256, 256, 512, true)));
  console.log(JSON.stringify(await run(sweep[6], 256, 256, 512, true)));
  for (const [Mm, Nn, Kk] of [[512, 3072, 2048], [512, 16384, 2048], [512, 2048, 8192], [4096, 4096, 4096]]) {
    const io = inputs(Mm, Nn, Kk);
    for (const k of sweep) {
      if (k.WM * k.WN * SGS > adapter.limits.maxComputeInvocationsPerWorkgroup) continue;
      try { console.log(JSON.stringify(await run(k, Mm, Nn, Kk, false, io))); } catch (e) { console.log('failed', JSON.stringify(k), e.message); }
    }
    io.destroy();
  }
  process.exit(0);
}
const tiles = [
  { BM: 64, BN: 64, BK: 32, WM: 2, WN: 2, SGS },
  { BM: 128, BN: 128, BK: 32, WM: 2, WN: 2, SGS },
  { BM: 128, BN: 64, BK: 32, WM: 4, WN: 2, SGS },
];
console.log(JSON.stringify(await run(tiles[0], 128, 128, 256, true)));
// prefill shapes of Qwen3-0.6B at 512 tokens (q/k/v, gate+up, down, lm_head) and a square one
for (const k of tiles) {
  for (const [Mm, Nn, Kk] of [[512, 4096, 1024], [512, 6144, 1024], [512, 1024, 3072], [512, 151936 - 151936 % 128, 1024], [4096, 4096, 4096]]) {
    try { console.log(JSON.stringify(await run(k, Mm, Nn, Kk, false))); } catch (e) { console.log('failed', JSON.stringify(k), e.message); }
  }
}
console.log(JSON.stringify(await run(tiles[1], 256, 256, 512, true)));
