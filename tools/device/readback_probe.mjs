// Readback cost vs size on this adapter (why whole calls with >= 57 KB outputs cost ~1 ms on the H100).
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = await gpu.requestAdapter();
const device = await adapter.requestDevice();
const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
for (const kb of [4, 16, 32, 48, 56, 60, 64, 72, 112, 256, 1024]) {
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
  console.log(`${kb} KB: write+wait ${med(write).toFixed(3)} ms, read (reused staging) ${med(reuse).toFixed(3)} ms, read (new staging) ${med(fresh).toFixed(3)} ms`);
}
process.exit(0);
