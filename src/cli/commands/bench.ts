import { writeFileSync } from 'node:fs';
import { BIT_WIDTHS } from '../../model/config';
import { type BenchShape, benchMarkdown, parseBenchReport, runBench, SHAPES, SMALL_SHAPES } from '../../bench/bench';
import { gptqTiming } from '../../bench/gptq-bench';
import type { GemvKernel, GemvShape } from '../../quant/packed';
import { formatProgress } from '../../progress';
import { UsageError } from '../args';
import { quantPointProblem } from '../../sweep/grid';
import type { Command } from '../command';
import { log, printJson, readUserFile } from '../command';
import { cliGpu } from '../gpu-node';
import { nodeOrtPeer } from '../ort-node';

function parseGemvShape(s: string): GemvShape | undefined {
  if (s === 'auto') return undefined;
  const [xw, ks] = s.split('x').map(Number);
  if (!(xw > 0 && ks > 0) || xw * ks > 1024) throw new UsageError(`--gemv: "${s}" is not a workgroup shape XWxKSLICES (e.g. 32x16, at most 1024 invocations) or auto`);
  return [xw, ks];
}

/** --shapes: full, small, or K x N pairs (the named shapes where they match, e.g. 4096x14336). */
function parseShapes(s: string): BenchShape[] {
  if (s === 'full') return SHAPES;
  if (s === 'small') return SMALL_SHAPES;
  return s.split(',').map((one) => {
    const [K, N] = one.split('x').map(Number);
    if (!(Number.isInteger(K) && Number.isInteger(N) && K > 0 && N > 0 && K % 32 === 0)) {
      throw new UsageError(`--shapes: "${one}" is not full, small or KxN (in x out features, K a multiple of 32, e.g. 4096x14336)`);
    }
    return [...SHAPES, ...SMALL_SHAPES].find((x) => x.K === K && x.N === N) ?? { label: 'custom', K, N };
  });
}

function parseGemvKernel(s: string): GemvKernel {
  if (s !== 'f32' && s !== 'f16') throw new UsageError(`--gemv-kernels: "${s}" is not a GEMV kernel (f32 or f16; f16 needs shader-f16, on NVIDIA with --f16)`);
  return s;
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'benchmark the packed matmul kernels against fp32, onnxruntime-web MatMulNBits and a read probe; GPTQ layer times',
  usage: 'quantlab bench [--shapes full|small|KxN,... (e.g. 4096x14336)] [--batches 1,128] [--bits 2,3,4,8] [--group 128] [--rotate-mib 512] [--gemv auto,8x32,16x32 (GEMV workgroup shapes XWxKSLICES to compare; auto = the default)] [--gemv-kernels f32,f16] [--f16 (Dawn: shader-f16 on NVIDIA)] [--no-subgroups (sums in workgroup memory only, as without subgroups)] [--split-k 1,0 (GEMM slices to compare, 0 = auto)] [--act-order (also with a permuted input)] [--i8-experiment (also the 4-bit GEMV on an int8 input)] [--no-ort] [--gptq 1024x1024,4096x4096,11008x4096] [--json] [--out FILE] | quantlab bench --report FILE (a saved report: its summary and rows, nothing run)',
  flags: ['no-ort', 'json', 'f16', 'act-order', 'no-subgroups', 'i8-experiment'],
  async run(args) {
    const saved = args.optStr('report');
    if (saved) {
      // a report from elsewhere (--out of another run, the Benchmark tab's Save JSON): printed, no GPU needed
      const report = parseBenchReport(readUserFile(saved, '--report').toString('utf8'), saved);
      if (args.flag('json')) printJson(report);
      else process.stdout.write(benchMarkdown(report) + '\n');
      return;
    }
    // everything the user typed is checked before the GPU opens
    const shapesArg = args.str('shapes', 'full');
    const shapes = shapesArg === 'none' ? null : parseShapes(shapesArg);
    const groupSize = args.num('group', 128);
    const bits = args.ints('bits', [...BIT_WIDTHS]);
    for (const b of bits) {
      const problem = quantPointProblem(b, groupSize, 0);
      if (problem) throw new UsageError(`--bits / --group: ${problem}`);
    }
    const options = {
      batches: args.ints('batches', [1, 128], 1),
      bits,
      groupSize,
      rotateBytes: args.int('rotate-mib', 512, 1) * 2 ** 20,
      actOrder: args.flag('act-order'),
      i8: args.flag('i8-experiment'),
      splitKs: args.has('split-k') ? args.ints('split-k') : undefined,
      gemvKernels: args.has('gemv-kernels') ? args.str('gemv-kernels', '').split(',').map(parseGemvKernel) : undefined,
      gemvShapes: args.has('gemv') ? args.str('gemv', '').split(',').map(parseGemvShape) : undefined,
    };
    const gptqShapes = (args.optStr('gptq')?.split(',') ?? []).map((one) => {
      const [rows, cols] = one.split('x').map(Number);
      if (!(Number.isInteger(rows) && Number.isInteger(cols) && rows > 0 && cols > 0)) throw new UsageError(`--gptq: "${one}" is not ROWSxCOLS (e.g. 4096x4096)`);
      return [rows, cols] as const;
    });
    const gpu = await cliGpu(args);
    if (args.flag('no-subgroups')) gpu.subgroupReduce = false;
    const out: Record<string, unknown> = { adapter: gpu.adapter };
    if (gptqShapes.length) {
      const timings = [];
      for (const [rows, cols] of gptqShapes) {
        log(`GPTQ ${rows}x${cols} ...`);
        const t = await gptqTiming(gpu, rows, cols);
        log(`  ${t.seconds.toFixed(3)} s (runs ${t.all.map((x) => x.toFixed(3)).join(', ')})`);
        timings.push(t);
      }
      out.gptq = timings;
    }
    if (shapes) {
      const report = await runBench(gpu, {
        ...options,
        shapes,
        ort: args.flag('no-ort') ? null : await nodeOrtPeer(),
        onProgress: (p) => log(formatProgress(p)),
      });
      out.kernels = report;
      if (!args.flag('json')) process.stdout.write(benchMarkdown(report) + '\n');
    }
    const path = args.optStr('out');
    if (path) writeFileSync(path, JSON.stringify(out, null, 1));
    if (args.flag('json')) printJson(out);
    gpu.destroy();
  },
};
