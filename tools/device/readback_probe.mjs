// Upload and readback costs vs size on this adapter: what a whole call (upload x, dispatch, read y) pays
// beyond the kernel. Run on the GPU machine: source .devcarry/env.sh && node tools/device/readback_probe.mjs
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = await gpu.requestAdapter();
const device = await adapter.requestDevice();
const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
for (const kb of [4, 16, 56, 64, 256, 1024, 4096, 7168]) {
  const size = kb * 1024;
  const src = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  const stage = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const reuse = [], fresh = [], write = [];
  const data = new Float32Array(size / 4);
  for (let i = 0; i < 15; i++) {
    let t0 = performance.now();
    device.queue.writeBuffer(src, 0, data);
    await device.queue.onSubmittedWorkDone();
    write.push(performance.now() - t0);
    t0 = performance.now();
    const e = device.createCommandEncoder(); e.copyBufferToBuffer(src, 0, stage, 0, size); device.queue.submit([e.finish()]);
    await stage.mapAsync(GPUMapMode.READ); stage.getMappedRange().slice(0); stage.unmap();
    reuse.push(performance.now() - t0);
    t0 = performance.now();
    const s2 = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const e2 = device.createCommandEncoder(); e2.copyBufferToBuffer(src, 0, s2, 0, size); device.queue.submit([e2.finish()]);
    await s2.mapAsync(GPUMapMode.READ); s2.getMappedRange().slice(0); s2.unmap(); s2.destroy();
    fresh.push(performance.now() - t0);
  }
  const wab = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    device.queue.writeBuffer(src, 0, data.buffer, data.byteOffset, data.byteLength); // ArrayBuffer + byte offsets
    await device.queue.onSubmittedWorkDone();
    wab.push(performance.now() - t0);
  }
  // uploads through a mapped staging buffer instead of writeBuffer: a reused MAP_WRITE buffer (mapAsync each
  // time), and a fresh one mapped at creation
  const wstage = device.createBuffer({ size, usage: GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC });
  const mapped = [], created = [], idle = [];
  for (let i = 0; i < 15; i++) {
    let t0 = performance.now();
    await wstage.mapAsync(GPUMapMode.WRITE);
    new Float32Array(wstage.getMappedRange()).set(data);
    wstage.unmap();
    let e = device.createCommandEncoder(); e.copyBufferToBuffer(wstage, 0, src, 0, size); device.queue.submit([e.finish()]);
    await device.queue.onSubmittedWorkDone();
    mapped.push(performance.now() - t0);
    t0 = performance.now();
    const s3 = device.createBuffer({ size, usage: GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
    new Float32Array(s3.getMappedRange()).set(data);
    s3.unmap();
    e = device.createCommandEncoder(); e.copyBufferToBuffer(s3, 0, src, 0, size); device.queue.submit([e.finish()]);
    await device.queue.onSubmittedWorkDone();
    s3.destroy();
    created.push(performance.now() - t0);
    t0 = performance.now();
    await device.queue.onSubmittedWorkDone();
    idle.push(performance.now() - t0);
  }
  console.log(`${kb} KB: write (ArrayBuffer) + wait ${med(wab).toFixed(3)} ms, write+wait ${med(write).toFixed(3)} ms, write via mapped staging ${med(mapped).toFixed(3)} ms, via mappedAtCreation ${med(created).toFixed(3)} ms, wait alone ${med(idle).toFixed(3)} ms, read (reused staging) ${med(reuse).toFixed(3)} ms, read (new staging) ${med(fresh).toFixed(3)} ms`);
}
process.exit(0);
