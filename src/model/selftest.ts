// A first kernel end to end, on whatever adapter the lab got: an f32 matmul on odd shapes against the
// float64 CPU reference. The header of the lab and the CLI's `gpu` check show its result.
import { matmul } from './ops';
import { matmulRef, maxRelErr } from './reference';
import type { Gpu } from '../gpu/gpu';

export interface SelfTest {
  ok: boolean;
  maxRelErr: number;
  shape: [number, number, number];
  ms: number;
}

export async function gpuSelfTest(gpu: Gpu): Promise<SelfTest> {
  const [M, N, K] = [37, 29, 68];
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const x = Float32Array.from({ length: M * K }, rnd), w = Float32Array.from({ length: N * K }, rnd);
  const t0 = performance.now();
  const bx = gpu.upload(x, 'selftest.x'), bw = gpu.upload(w, 'selftest.w'), by = gpu.buffer(M * N * 4, 'selftest.y');
  const b = gpu.batch('selftest');
  matmul(b, bx, bw, by, M, N, K, { empty: gpu.empty });
  await b.submit();
  const got = await gpu.readF32(by, M * N);
  const ms = performance.now() - t0;
  const err = maxRelErr(got, matmulRef(x, w, M, N, K));
  for (const buf of [bx, bw, by]) buf.destroy();
  return { ok: err < 1e-5, maxRelErr: err, shape: [M, N, K], ms };
}
