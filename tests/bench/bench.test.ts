// The benchmark harness on small shapes (SwiftShader: correctness, not speed): every contender, the lab's and
// onnxruntime-web's, computes what the float64 reference computes before it is timed.
import { describe, expect, it } from 'vitest';
import { benchMarkdown, runBench, SMALL_SHAPES } from '../../src/bench/bench';
import { matMulNBitsModel, nbitsRow } from '../../src/bench/onnx';
import { nodeOrtPeer } from '../../src/cli/ort-node';
import { testGpu } from '../helpers/gpu';

describe('kernel benchmark', () => {
  it('MatMulNBits models: B holds low nibble first, zero point 8', () => {
    const m = matMulNBitsModel(64, 4, 32, 4, 9);
    const row = nbitsRow(m, 1, 64);
    const byte = m.B[(1 * 2 + 0) * 16 + 0];
    expect(row[0]).toBeCloseTo(((byte & 15) - 8) * m.scales[2], 10);
    expect(row[1]).toBeCloseTo(((byte >> 4) - 8) * m.scales[2], 10);
    expect(m.bytes.length).toBeGreaterThan(m.weightBytes);
  });

  it('runs every contender on small shapes and checks each against float64', async () => {
    const gpu = await testGpu();
    const report = await runBench(gpu, {
      shapes: SMALL_SHAPES.slice(0, 1), batches: [1, 4], bits: [3, 4], rotateBytes: 2 ** 20, repeats: 2, dispatches: 2,
      ort: await nodeOrtPeer(), ortBlocks: [32],
    });
    const contenders = new Set(report.rows.map((r) => r.contender));
    expect([...contenders]).toEqual(['fp32 matmul', 'quantlab 3-bit G=128', 'quantlab 4-bit G=128', 'onnxruntime-web MatMulNBits 4-bit block 32']);
    expect(report.notes).toEqual([]);
    for (const r of report.rows) {
      expect(r.check, `${r.contender} M=${r.M}: ${r.maxErr}`).toBe('pass');
      expect(r.callMicros).toBeGreaterThan(0);
      if (!r.contender.startsWith('onnx')) expect(r.gpuMicros).toBeGreaterThan(0);
    }
    expect(report.probeGBps).toBeGreaterThan(0);
    expect(benchMarkdown(report)).toMatch(/\| small square 256x256 \| 1 \| quantlab 4-bit G=128 \|/);
  });

  it('the fused gate+up row also runs gate, up and SwiGLU in one GEMV over two matrices (fp32 and packed), checked against float64; the int8-input experiment beside them', async () => {
    const gpu = await testGpu();
    const report = await runBench(gpu, { shapes: SMALL_SHAPES.slice(1), batches: [1], bits: [4], rotateBytes: 2 ** 20, repeats: 2, dispatches: 2, actOrder: true, i8: true });
    expect(report.rows.map((r) => `${r.M} ${r.contender}`)).toEqual([
      '1 fp32 matmul', '1 fp32 gate+up+SwiGLU', '1 quantlab 4-bit G=128', '1 quantlab 4-bit G=128 gate+up+SwiGLU', '1 quantlab 4-bit G=128 i8', '1 quantlab 4-bit G=128 i8 GEMV alone',
      '1 quantlab 4-bit G=128 gate+up+SwiGLU i8', '1 quantlab 4-bit G=128 gate+up+SwiGLU i8 GEMV alone',
      '1 quantlab 4-bit G=128 act-order', '1 quantlab 4-bit G=128 act-order gate+up+SwiGLU',
    ]);
    for (const r of report.rows) expect(r.check, `${r.contender} M=${r.M}: ${r.maxErr}`).toBe('pass');
    const [one, fused] = report.rows.slice(2, 4);
    expect(fused.weightBytes).toBe(one.weightBytes); // the same bytes, as two matrices of half the rows
  });
});
