// How fast can ONE dispatch read B bytes? Several plain read kernels at the sizes of the 8B GEMVs (30.5 MB:
// one 4-bit 14336 x 4096 matrix with scales and zeros; 61 MB: gate + up), timed as quantlab bench times its
// kernels: one compute pass of n dispatches rotating through copies spanning >= 512 MiB (L2 cannot serve them),
// every dispatch writing the same sink (so Dawn puts a barrier between them, as between dependent kernels),
// timestamps around the pass, median of 7 passes. The bench's read probe is `grid8` over 256 MiB.
//   source .devcarry/env.sh && node tools/device/read_ceiling.mjs [MB,MB,...]
// (a quick run on a CPU adapter: PROBE_MB=1 ROTATE_MIB=2 PASS_MB=4 node tools/device/read_ceiling.mjs 0.5)
import { readKernels, timedDevice } from './pass-timer.mjs';

const sizesMB = (process.argv[2] ?? '30.5,61,256').split(',').map(Number);
const { adapter, device, passTime: timeGroups, rotation } = await timedDevice();
const U = GPUBufferUsage;
const code = readKernels;

// The packed GEMV's loads alone, on a 4-bit matrix of ROWS packed rows x QUADS column quads (qweight as vec4s):
// an XW x KS workgroup, invocation (quad, K slice) walking its 32-column chunks (4 words each) R chunks at a
// time; DEP = 1 makes each round's addresses depend on the last round's data, as the real kernel's decode does
// between rounds. What the GEMV's structure costs with no arithmetic at all.
const gemvCode = (xw, ks, r, dep) => `
@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> sink: array<f32>;
override QUADS: u32;
override ROWS: u32;
@compute @workgroup_size(${xw}, ${ks})
fn gemv(@builtin(workgroup_id) w: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let q = w.x * ${xw}u + l.x;
  let chunks = ROWS / 4u;
  var acc = vec4<f32>(0.0);
  var bump = 0u;
  for (var c0 = l.y; c0 < chunks; c0 += ${ks * r}u) {
    var words: array<vec4<f32>, ${4 * r}>;
    for (var j = 0u; j < ${r}u; j++) {
      let c = min(c0 + j * ${ks}u, chunks - 1u);
      for (var k = 0u; k < 4u; k++) { words[4u * j + k] = src[(4u * c + k + bump) * QUADS + q]; }
    }
    for (var k = 0u; k < ${4 * r}u; k++) { acc += words[k]; }
    ${dep ? 'bump = select(0u, 1u, acc.x == 1234.5678);' : ''}
  }
  if (acc.x == 1234.5678) { sink[l.x] = acc.y + acc.z + acc.w; }
}`;

const sink = device.createBuffer({ size: 4 * 1024 * 1024, usage: U.STORAGE });
/** us per dispatch, each dispatch reading one of `bufs` (rotating) into the shared sink. */
async function passTime(pipeline, groups, bufs, n) {
  const bgs = bufs.map((b) => device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: b } }, { binding: 1, resource: { buffer: sink } }] }));
  return timeGroups(pipeline, groups, bgs, n);
}

const probe = { MB: Number(process.env.PROBE_MB ?? 256) };
const results = [];
for (const MB of [probe.MB, ...sizesMB.filter((m) => m !== probe.MB)]) {
  const n4 = Math.ceil((MB * 1e6) / 16);
  const { bufs, n } = rotation(n4);
  const variants = [['grid8 (the probe)', 256, 8, 'grid', Math.ceil(n4 / 256 / 8)]];
  for (const r of [1, 2, 4, 8, 16]) for (const wg of [256, 512, 1024].filter((w) => w <= device.limits.maxComputeInvocationsPerWorkgroup)) variants.push([`block ${wg}x${r}`, wg, r, 'block', Math.ceil(n4 / wg / r)]);
  for (const k of [4, 8, 16]) variants.push([`persistent ${132 * k}x256`, 256, 1, 'grid', 132 * k]);
  for (const [name, wg, r, entry, groups] of variants) {
    if (groups > 65535) continue;
    const module = device.createShaderModule({ code: code(wg, r) });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: entry, constants: { N4: n4 } } });
    const us = await passTime(pipeline, groups, bufs, n);
    results.push({ MB, name, groups, us, GBps: (n4 * 16) / us / 1e3 });
  }
  bufs.forEach((b) => b.destroy());
}
// the GEMV-shaped loads at the 8B gate/up (512 packed rows x 3584 quads) and down (1792 x 1024) shapes
if (!process.env.NO_GEMV) {
  for (const [label, rows, quads, shapes] of [
    ['gate/up 4096x14336', 512, 3584, [[16, 32], [8, 32], [16, 16]]],
    ['down 14336x4096', 1792, 1024, [[4, 128], [4, 64], [8, 32]]],
  ]) {
    const n4 = rows * quads;
    const { bufs, n } = rotation(n4);
    const MB = (n4 * 16) / 1e6;
    const plain = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: code(256, 1) }), entryPoint: 'block', constants: { N4: n4 } } });
    let us = await passTime(plain, Math.ceil(n4 / 256), bufs, n);
    results.push({ MB, name: `${label} plain block 256x1`, groups: Math.ceil(n4 / 256), us, GBps: (n4 * 16) / us / 1e3 });
    for (const [xw, ks] of shapes) {
      for (const [r, dep] of [[2, 1], [2, 0], [1, 1], [4, 0]]) {
        if (rows / 4 / ks < r || xw * ks > device.limits.maxComputeInvocationsPerWorkgroup) continue;
        const module = device.createShaderModule({ code: gemvCode(xw, ks, r, dep) });
        const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'gemv', constants: { QUADS: quads, ROWS: rows } } });
        us = await passTime(pipeline, quads / xw, bufs, n);
        results.push({ MB, name: `${label} gemv ${xw}x${ks} ${r} chunk${r > 1 ? 's' : ''}/round${dep ? ', dependent' : ''}`, groups: quads / xw, us, GBps: (n4 * 16) / us / 1e3 });
      }
    }
    bufs.forEach((b) => b.destroy());
  }
}
const probeGBps = results.find((r) => r.MB === probe.MB && r.name.startsWith('grid8')).GBps;
console.log(`${adapter.info.description}; probe (grid8, ${probe.MB} MB) ${probeGBps.toFixed(0)} GB/s`);
for (const r of results) console.log(`${String(r.MB).padStart(5)} MB  ${r.name.padEnd(52)} ${String(r.groups).padStart(6)} groups  ${r.us.toFixed(2).padStart(8)} us  ${r.GBps.toFixed(0).padStart(5)} GB/s  ${((100 * r.GBps) / probeGBps).toFixed(1)}% of probe`);
console.log(JSON.stringify({ date: new Date().toISOString(), adapter: adapter.info.description, probeGBps, results }));
