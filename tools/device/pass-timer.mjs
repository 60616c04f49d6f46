// What tools/device/read_ceiling.mjs and rowmajor_gemv.mjs share: a Dawn device with timestamps (and, where the
// adapter offers them, subgroups and shader-f16 behind the NVIDIA toggle), and the pass timer: one compute
// pass of n dispatches rotating through bind groups, timestamps around it, 10 passes of warm-up (clocks), the
// median of 7, in us per dispatch. quantlab bench times its kernels the same way (src/bench/bench.ts).
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

export async function timedDevice(features = []) {
  const { create, globals } = await import(pathToFileURL(createRequire(process.cwd() + '/').resolve('webgpu')).href);
  Object.assign(globalThis, globals);
  const gpu = create(['disable-dawn-features=timestamp_quantization', 'enable-dawn-features=vulkan_enable_f16_on_nvidia']);
  globalThis.keepDawn = gpu; // Dawn aborts if this object is collected while a device lives
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  const granted = ['timestamp-query', ...features].filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({
    requiredFeatures: granted,
    requiredLimits: {
      maxStorageBufferBindingSize: 2 ** 30, maxBufferSize: 2 ** 30,
      maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupSizeX: adapter.limits.maxComputeWorkgroupSizeX,
    },
  });
  device.addEventListener('uncapturederror', (e) => { console.error(e.error.message); process.exit(1); });
  const qs = device.createQuerySet({ type: 'timestamp', count: 2 });
  const resolve = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const readback = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

  /** us per dispatch of `pipeline` over `groups` workgroups, dispatch i bound to bindGroups[i % length]. */
  async function passTime(pipeline, groups, bindGroups, n) {
    const once = async () => {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass({ timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
      pass.setPipeline(pipeline);
      for (let i = 0; i < n; i++) { pass.setBindGroup(0, bindGroups[i % bindGroups.length]); pass.dispatchWorkgroups(groups); }
      pass.end();
      enc.resolveQuerySet(qs, 0, 2, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, readback, 0, 16);
      device.queue.submit([enc.finish()]);
      await readback.mapAsync(GPUMapMode.READ);
      const t = new BigUint64Array(readback.getMappedRange().slice(0));
      readback.unmap();
      return Number(t[1] - t[0]) / 1e3 / n;
    };
    for (let i = 0; i < 10; i++) await once();
    const ts = [];
    for (let i = 0; i < 7; i++) ts.push(await once());
    return median(ts);
  }
  /** Copies of an n4-vec4 buffer spanning ROTATE_MIB (L2 cannot serve them), and dispatches per pass: PASS_MB of reads, every copy read. */
  function rotation(n4, passBytes = n4 * 16) {
    const copies = Math.max(2, Math.ceil((Number(process.env.ROTATE_MIB ?? 512) * 2 ** 20) / (n4 * 16)));
    const bufs = Array.from({ length: copies }, () => device.createBuffer({ size: n4 * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST }));
    return { bufs, n: Math.max(copies, Math.ceil(Number(process.env.PASS_MB ?? 12000) / (passBytes / 1e6))) };
  }
  return { adapter, device, features: granted, passTime, rotation };
}

/**
 * Plain read kernels over `src` (n4 vec4s, the pipeline constant N4), with a sink their result never reaches:
 * `grid`, a grid-stride loop (the bench's read probe, `grid8`: 8 loads per invocation), and `block`,
 * straight-line reads of R vec4 per invocation, each workgroup reading one contiguous block (R * WG * 16 bytes).
 */
export const readKernels = (wg, r) => `
@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> sink: array<f32>;
override N4: u32;
@compute @workgroup_size(${wg})
fn grid(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  var acc = vec4<f32>(0.0);
  for (var i = gid.x; i < N4; i += nwg.x * ${wg}u) { acc += src[i]; }
  if (acc.x == 1234.5678) { sink[gid.x] = acc.y + acc.z + acc.w; }
}
@compute @workgroup_size(${wg})
fn block(@builtin(workgroup_id) w: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  var acc = vec4<f32>(0.0);
  for (var j = 0u; j < ${r}u; j++) { acc += src[min((w.x * ${r}u + j) * ${wg}u + l.x, N4 - 1u)]; }
  if (acc.x == 1234.5678) { sink[l.x] = acc.y + acc.z + acc.w; }
}`;
