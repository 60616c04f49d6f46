// Per-layer GPTQ time on the GPU for layer shapes of real models, as the benchmark beside the PyTorch
// reference (tools/golden/gptq_time.py): Hessian from 8192 random tokens, 4-bit, G = 128, damp 0.01.
import { type Gpu, grid, Params } from '../gpu/gpu';
import { destroyQuantized, gptqQuantize } from '../quant/gptq';
import { GpuHessian } from '../quant/hessian';

export interface GptqTiming {
  rows: number;
  cols: number;
  seconds: number;
  all: number[];
}

export async function gptqTiming(gpu: Gpu, rows: number, cols: number, tokens = 8192, repeats = 3): Promise<GptqTiming> {
  const fill = (buf: GPUBuffer, n: number, seed: number, lo: number, hi: number) => {
    const b = gpu.batch('fill');
    b.dispatch({ shader: 'bench', entry: 'fill_f32' }, { 1: buf }, grid(n, 256), new Params().u32(n, seed).f32(lo, hi));
    return b.submit();
  };
  const W = gpu.buffer(rows * cols * 4, 'W');
  await fill(W, rows * cols, 1, -0.03, 0.03);
  const H = new GpuHessian(gpu, cols);
  const chunk = Math.max(1, Math.floor((64 * 2 ** 20) / (cols * 4)));
  const X = gpu.buffer(Math.min(tokens, chunk) * cols * 4, 'X');
  for (let t = 0; t < tokens; t += chunk) {
    const n = Math.min(chunk, tokens - t);
    await fill(X, n * cols, 10 + t, -1, 1);
    const b = gpu.batch('hessian');
    H.add(b, X, n, 1);
    await b.submit();
  }
  await gpu.flush();
  const all: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    const { q } = await gptqQuantize(gpu, W, H.H, rows, cols, { bits: 4, groupSize: 128, sym: true, actOrder: false, percdamp: 0.01 });
    await gpu.flush();
    all.push((performance.now() - t0) / 1000);
    destroyQuantized(q);
  }
  for (const x of [W, X]) x.destroy();
  H.destroy();
  return { rows, cols, seconds: [...all].sort((a, b) => a - b)[Math.floor(all.length / 2)], all };
}
