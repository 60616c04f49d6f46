// The GEMMs on the GPU's matrix units (Gpu.matrixUnits: shaders/mma_tile.wgsl), checked on the device that runs
// them, against float64, before they are used: software adapters (SwiftShader, CI's) have no matrix units, so
// this check is where those kernels meet their reference. Dense f16 weights and 4-bit packed ones, one pass and
// split-K, on shapes with partial tiles; the reference multiplies the same f16-rounded inputs and weights.
import type { Gpu } from '../gpu/gpu';
import { matmul } from '../model/ops';
import { matmulRef, maxRelErr } from '../model/reference';
import { f16ToF32, f32ToF16 } from '../model/safetensors';
import { seededRandom } from '../random';
import { rtnQuantize } from './gptq';
import { destroyPacked, packWeights, qmatmul, readDequantized } from './packed';

export interface MatrixUnitCheck {
  /** What ran: "dense f16 70x130x96, split-K 2". */
  name: string;
  /** max |GPU - float64| / max(1, max |float64|). */
  maxRelErr: number;
}

export interface MatrixUnitReport {
  ok: boolean;
  checks: MatrixUnitCheck[];
}

/** Largest relative error accepted: the sums are f32 either way; only their order differs. */
export const MATRIX_UNIT_TOLERANCE = 1e-4;

/** Runs the matrix-unit GEMMs against float64 (Gpu.matrixUnits must be on); ok when every case is within tolerance. */
export async function checkMatrixUnits(gpu: Gpu): Promise<MatrixUnitReport> {
  if (!gpu.matrixUnits) throw new Error('checkMatrixUnits: this device does not use matrix units (Gpu.matrixUnits is off)');
  const rnd = seededRandom(7);
  const random = (n: number, scale = 1) => Float32Array.from({ length: n }, () => (rnd() * 2 - 1) * scale);
  const toHalf = (v: Float32Array) => f16ToF32(Uint16Array.from(v, (x) => f32ToF16(x)));
  const checks: MatrixUnitCheck[] = [];
  const compare = (name: string, got: Float32Array, want: Float64Array) => checks.push({ name, maxRelErr: maxRelErr(got, want) });
  // 70 rows and 130 outputs: a full and a partial tile each way; K = 96: three chunks, sliced unevenly by 2
  const [M, N, K] = [70, 130, 96];
  const x = random(M * K, 2), xh = toHalf(x);
  const wHalf = Uint16Array.from(random(N * K), (v) => f32ToF16(v));
  const bx = gpu.upload(x, 'mma.x'), bw = gpu.upload(wHalf, 'mma.w'), by = gpu.buffer(M * N * 4, 'mma.y');
  const bias = random(N), bb = gpu.upload(bias, 'mma.bias');
  try {
    const wRef = f16ToF32(wHalf);
    for (const splitK of [1, 2]) {
      const b = gpu.batch('mma.dense');
      matmul(b, bx, bw, by, M, N, K, { bias: bb, empty: gpu.empty, wF16: true, tiled: true, splitK });
      await b.submit();
      compare(`dense f16 ${M}x${N}x${K}, bias${splitK > 1 ? `, split-K ${splitK}` : ''}`, await gpu.readF32(by, M * N), matmulRef(xh, wRef, M, N, K, bias));
    }
    const W = gpu.upload(random(N * K, 0.3), 'mma.wq');
    const q = await rtnQuantize(gpu, W, N, K, { bits: 4, groupSize: 32, sym: false });
    W.destroy();
    const b = gpu.batch('mma.pack');
    const packed = packWeights(gpu, b, q, { descAct: false, format: 'gptq_v2' });
    await b.submit();
    for (const buf of [q.codes, q.scales, q.zeros]) buf.destroy();
    const wq = toHalf(await readDequantized(gpu, packed));
    // the packed GEMM on the matrix units whether or not this run puts it there (GpuOptions.matrixUnits 'all')
    const packedOn = gpu.packedOnMatrixUnits;
    gpu.packedOnMatrixUnits = true;
    try {
      for (const splitK of [1, 2]) {
        const b2 = gpu.batch('mma.packed');
        qmatmul(b2, packed, bx, by, M, { empty: gpu.empty, gemv: false, serial: false, splitK });
        await b2.submit();
        compare(`packed 4-bit G=32 ${M}x${N}x${K}${splitK > 1 ? `, split-K ${splitK}` : ''}`, await gpu.readF32(by, M * N), matmulRef(xh, wq, M, N, K));
      }
    } finally {
      gpu.packedOnMatrixUnits = packedOn;
    }
    destroyPacked(packed);
  } finally {
    for (const buf of [bx, bw, by, bb]) buf.destroy();
  }
  return { ok: checks.every((c) => c.maxRelErr < MATRIX_UNIT_TOLERANCE), checks };
}

/** checkMatrixUnits, a failure to run it reported as a failed check (its message as the case's name). */
function reportMatrixUnits(gpu: Gpu): Promise<MatrixUnitReport> {
  return checkMatrixUnits(gpu).catch((e: unknown) => ({ ok: false, checks: [{ name: `the check itself: ${e instanceof Error ? e.message : String(e)}`, maxRelErr: NaN }] }));
}

/** Where the device offers matrix units, their check whether or not this run uses them (quantlab gpu); else null. */
export async function checkOfferedMatrixUnits(gpu: Gpu): Promise<MatrixUnitReport | null> {
  if (!gpu.matrixUnitsOffered) return null;
  const used = gpu.matrixUnits;
  gpu.matrixUnits = true;
  try {
    return await reportMatrixUnits(gpu);
  } finally {
    gpu.matrixUnits = used;
  }
}

/**
 * Where the device offers matrix units: checks their GEMMs (checkMatrixUnits) and, should any case fail, turns
 * them off (the f32 GEMMs run instead) and says so through `warn`. Entry points call it once the device opens.
 */
export async function verifyMatrixUnits(gpu: Gpu, warn: (message: string) => void): Promise<MatrixUnitReport | null> {
  if (!gpu.matrixUnits) return null;
  const result = await reportMatrixUnits(gpu);
  applyMatrixUnitReport(gpu, result, warn);
  return result;
}

/** Turns off what a check found wrong: every GEMM on the matrix units, or only the packed ones (warning why). */
export function applyMatrixUnitReport(gpu: Gpu, result: MatrixUnitReport, warn: (message: string) => void): void {
  const failed = result.checks.filter((c) => !(c.maxRelErr < MATRIX_UNIT_TOLERANCE));
  if (failed.length) {
    // only packed cases off: the dense GEMMs (float weights) stay on the matrix units, the packed ones do not
    const denseOk = failed.every((c) => c.name.startsWith('packed'));
    const what = denseOk ? 'the packed GEMMs' : 'the GEMMs';
    gpu.matrixUnits = denseOk;
    gpu.packedOnMatrixUnits = false;
    const bad = failed.map((c) => `${c.name}: ${c.maxRelErr}`).join('; ');
    warn(`${what} on this GPU's matrix units differ from float64 (${bad}; tolerance ${MATRIX_UNIT_TOLERANCE}): using the f32 ones instead`);
  }
}
