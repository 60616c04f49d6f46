// One Dawn device per test file (vitest forks a process per file).
import { openNodeGpu } from '../../src/gpu/node';
import type { Gpu } from '../../src/gpu/gpu';

let gpu: Promise<Gpu> | null = null;
export function testGpu(): Promise<Gpu> {
  gpu ??= openNodeGpu();
  return gpu;
}

/** Runs `fn` with the f16 kernels available: the device's own, or emulated in f32 (Gpu.emulateF16) on SwiftShader. */
export async function withF16<T>(g: Gpu, fn: () => Promise<T>): Promise<T> {
  const was = g.emulateF16;
  g.emulateF16 = true;
  try {
    return await fn();
  } finally {
    g.emulateF16 = was;
  }
}

/** What the f16 kernels run as on this device, for assertion messages. */
export const f16Label = (g: Gpu) => (g.hasF16 ? 'f16' : 'f16 (emulated in f32)');

/** Seeded uniform(-1, 1) floats: tests are reproducible. */
export function randomF32(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** The kernel tests' error measure (one home: src/model/reference.ts). */
export { maxRelErr } from '../../src/model/reference';
