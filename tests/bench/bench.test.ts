// The benchmark harness on small shapes (SwiftShader: correctness, not speed): every contender, the lab's and
// onnxruntime-web's, computes what the float64 reference computes before it is timed.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type BenchReport, type BenchRow, benchMarkdown, benchSummary, parseBenchReport, ratioText, runBench, summaryRate, SMALL_SHAPES, warmUp } from '../../src/bench/bench';
import { matMulNBitsModel, nbitsRow } from '../../src/bench/onnx';
import { nodeOrtPeer } from '../../src/cli/ort-node';
import { testGpu } from '../helpers/gpu';

describe('kernel benchmark', () => {
  it('warmUp: one run, then runs back to back until the time is up (none more for a run longer than it)', async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    let runs = 0;
    const t0 = performance.now();
    await warmUp(async () => (runs++, sleep(10)), 60);
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(60);
    expect(runs).toBeGreaterThanOrEqual(2); // the first, then at least one in the time (six at 10 ms each, unloaded)
    runs = 0;
    await warmUp(async () => (runs++, sleep(30)), 0);
    expect(runs).toBe(1);
  });

  it('MatMulNBits models: B holds low nibble first, zero point 8', () => {
    const m = matMulNBitsModel(64, 4, 32, 4, 9);
    const row = nbitsRow(m, 1, 64);
    const byte = m.B[(1 * 2 + 0) * 16 + 0];
    expect(row[0]).toBeCloseTo(((byte & 15) - 8) * m.scales[2], 10);
    expect(row[1]).toBeCloseTo(((byte >> 4) - 8) * m.scales[2], 10);
    expect(m.bytes.length).toBeGreaterThan(m.weightBytes);
  });

  it('summary: the fastest passing default 4-bit kernel per shape and M, its ratios to fp32 (GPU) and the fastest ORT call', () => {
    const row = (contender: string, bits: number, gpuMicros: number | null, callMicros: number, over: Partial<BenchRow> = {}): BenchRow => ({
      shape: '8B gate/up', K: 4096, N: 14336, M: 1, contender, bits, block: 128, weightBytes: 1, gpuMicros, callMicros,
      gbps: null, ofProbe: gpuMicros && 10 / gpuMicros, ofRead: null, check: 'pass', maxErr: 0, ...over,
    });
    const report: BenchReport = {
      adapter: 'test', date: '2026-11-23', probeGBps: 3000, dispatchMicros: 2, notes: [], rows: [
        row('fp32 matmul', 32, 80, 900),
        row('quantlab 4-bit G=128 f32', 4, 20, 150),
        row('quantlab 4-bit G=128 f16', 4, 14, 110),
        row('quantlab 4-bit G=128 i8 GEMV alone', 4, 12, 100), // an experiment: never the headline
        row('quantlab 4-bit G=128 act-order f16', 4, 13, 100), // a variant: neither
        row('quantlab 2-bit G=128 f16', 2, 9, 90), // another bit width
        row('quantlab 4-bit G=128 f16 8x32', 4, 10, 100, { check: 'FAIL' }), // wrong: never picked
        row('onnxruntime-web MatMulNBits 4-bit block 32', 4, null, 2400),
        row('onnxruntime-web MatMulNBits 4-bit block 128', 4, null, 2200),
        row('fp32 matmul', 32, 700, 3000, { M: 128 }),
        row('quantlab 4-bit G=128', 4, 200, 1000, { M: 128 }),
        row('fp32 matmul', 32, 7, 90, { shape: 'no timestamps', gpuMicros: null }),
        row('quantlab 4-bit G=128', 4, null, 60, { shape: 'no timestamps' }),
        row('quantlab 4-bit G=128 f16', 4, null, 50, { shape: 'no timestamps' }),
      ],
    };
    const s = benchSummary(report);
    expect(s.map((x) => [x.shape, x.M, x.contender])).toEqual([
      ['8B gate/up', 1, 'quantlab 4-bit G=128 f16'], ['8B gate/up', 128, 'quantlab 4-bit G=128'], ['no timestamps', 1, 'quantlab 4-bit G=128 f16'],
    ]);
    expect(s[0].overFp32).toBeCloseTo(80 / 14, 12);
    expect(s[0].overOrt).toBeCloseTo(2200 / 110, 12);
    expect(s[1].overFp32).toBeCloseTo(3.5, 12);
    expect(s[1].overOrt).toBeNull();
    expect(s[2].overFp32).toBeNull();
    expect(benchMarkdown(report)).toContain('| 8B gate/up 4096x14336 | 1 | quantlab 4-bit G=128 f16 | 14.0 | 71% of probe | 5.7x | 20x |');
    expect(benchMarkdown(report)).toContain('| 8B gate/up 4096x14336 | 128 | quantlab 4-bit G=128 | 200.0 | 75.2 TFLOP/s | 3.5x | - |');
    expect([0.0312, 1, 9.96, 21.4, null].map((x) => ratioText(x))).toEqual(['0.031x', '1.0x', '10.0x', '21x', '-']);
  });

  it('opens a saved report (CLI --json or the tab\'s Save JSON); its summary is docs/performance.md\'s H100 table', () => {
    const text = readFileSync('bench/results/2026-11-23-h100-bench-fold.json', 'utf8');
    const cli = parseBenchReport(text, 'fold.json');
    const tab = parseBenchReport(JSON.stringify(JSON.parse(text).kernels), 'quantlab-bench.json');
    expect(tab).toEqual(cli);
    expect(cli.adapter).toContain('nvidia');
    const line = (shape: string, M: number) => benchSummary(cli).find((x) => x.shape === shape && x.M === M)!;
    // docs/performance.md (and the README's kernel table), M = 1: 8B gate/up 14.2 us f16, 70% of the probe, 20.5x ORT's call; fused 25.8 us, 18.1x
    expect(line('8B gate/up', 1)).toMatchObject({ contender: 'quantlab 4-bit G=128 f16' });
    expect(line('8B gate/up', 1).gpuMicros).toBeCloseTo(14.2, 1);
    expect(ratioText(line('8B gate/up', 1).ofProbe! * 100, '', '')).toBe('70');
    expect(line('8B gate/up', 1).overOrt!.toFixed(1)).toBe('20.5');
    expect(line('8B gate+up fused', 1)).toMatchObject({ contender: 'quantlab 4-bit G=128 gate+up+SwiGLU f16' });
    expect(line('8B gate+up fused', 1).gpuMicros).toBeCloseTo(25.8, 1);
    expect(line('8B gate+up fused', 1).overOrt!.toFixed(1)).toBe('18.1');
    // M = 128: 744 us, 3.6x ORT
    expect(line('8B gate/up', 128).gpuMicros).toBeCloseTo(744, 0);
    expect(line('8B gate/up', 128).overOrt).toBeCloseTo(3.6, 1);
    expect(summaryRate(line('8B gate/up', 128))).toBe('20.2 TFLOP/s'); // docs/performance.md: 20.2
    expect(() => parseBenchReport('{"gptq": []}', 'g.json')).toThrow(/g.json is not a kernel benchmark report.*only GPTQ layer timings/);
    expect(() => parseBenchReport('[1,2]', 'a.json')).toThrow(/a.json is not a kernel benchmark report.*Save JSON/);
    expect(() => parseBenchReport('{"probeGBps": 1, "rows": [{"shape": "s", "contender": "c", "K": 1, "N": 2}]}', 'm.json')).toThrow(/row 1 has no M/);
    expect(() => parseBenchReport('nope', 'n.json')).toThrow(/not JSON/);
  });

  it('docs/performance.md\'s H200 table is the H200 report\'s summary, row for row', () => {
    const report = parseBenchReport(readFileSync('bench/results/2026-12-04-h200-bench.json', 'utf8'), 'h200.json');
    const summary = benchMarkdown(report).split('\n').filter((l) => l.startsWith('| ') && (l.includes(' of probe |') || l.includes(' TFLOP/s |')));
    const doc = readFileSync('docs/performance.md', 'utf8');
    const start = doc.indexOf('\n## Kernels on an NVIDIA H200\n');
    expect(start).toBeGreaterThan(0);
    const section = doc.slice(start + 1, doc.indexOf('\n#', start + 2));
    const table = section.split('\n').filter((l) => /^\| \S.* \| (1|128) \|/.test(l));
    expect(table.length).toBe(16);
    expect(table).toEqual(summary.slice(0, table.length));
    expect(report.adapter).toContain('nvidia-h200');
  });

  it('the README\'s kernel table is the H100 and H200 reports\' summaries (8B gate/up)', () => {
    const readme = readFileSync('README.md', 'utf8');
    for (const [gpu, file] of [['H100', 'bench/results/2026-11-23-h100-bench-fold.json'], ['H200', 'bench/results/2026-12-04-h200-bench.json']]) {
      const summary = benchSummary(parseBenchReport(readFileSync(file, 'utf8'), file));
      const at = (M: number) => summary.find((x) => x.shape === '8B gate/up' && x.M === M)!;
      expect(readme).toContain(`| [${gpu}](${file}) | ${at(1).gpuMicros!.toFixed(1)} | ${summaryRate(at(1))} | ${ratioText(at(1).overOrt)} | ${summaryRate(at(128))} |`);
    }
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
