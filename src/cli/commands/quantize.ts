import { formatProgress } from '../../progress';
import { quantPointProblem } from '../../sweep/grid';
import { corpusTokens, drawCalibration } from '../../quant/calibration';
import { exportQuantized } from '../../quant/export';
import { METHODS, MODES, quantizeModel } from '../../quant/quantize-model';
import { ZERO_FORMATS } from '../../quant/packed';
import { UsageError } from '../args';
import type { Command } from '../command';
import { log, memoryReport, printJson, readUserFile, reportProfile } from '../command';
import { KernelProfile } from '../../gpu/gpu';
import { nodeDataReader } from '../data';
import { checkReplaceable, writeFolder } from '../files';
import { cliGpu } from '../gpu-node';
import { loadForCli, WEIGHTS_USAGE } from '../load';

export const quantizeCommand: Command = {
  name: 'quantize',
  summary: 'quantize a model with GPTQ (or RTN) on the GPU and export it in the GPTQModel format',
  usage: `quantlab quantize --model PATH --bits 4 --group 128 --calib 128 [--seqlen L] [--sym|--asym] [--act-order|--no-act-order] [--static-groups] [--damp 0.05] [--method gptq|rtn] [--mode sequential|shared] [--calib-text FILE] [--seed S] [--format gptq|gptq_v2] [--data DIR (default public/data)] --out DIR [--profile (GPU time per kernel)] ${WEIGHTS_USAGE}`,
  flags: ['sym', 'asym', 'act-order', 'no-act-order', 'static-groups', 'profile', 'f16'],
  async run(args) {
    // everything the user typed is checked before the model loads
    const bits = args.num('bits', 4);
    const groupSize = args.num('group', 128);
    const method = args.choice('method', METHODS, 'gptq');
    const count = args.num('calib', 128);
    const problem = quantPointProblem(bits, groupSize, count);
    if (problem) throw new UsageError(`--bits / --group / --calib: ${problem}`);
    if (method === 'gptq' && count < 1) throw new UsageError('--calib: GPTQ needs at least 1 calibration sequence (or --method rtn, which takes none)');
    const seqLenArg = args.int('seqlen', 2048, 1);
    const seed = args.int('seed', 0);
    const percdamp = args.fraction('damp', 0.05);
    const opts = {
      method, bits, groupSize, sym: !args.flag('asym'), actOrder: method === 'gptq' && !args.flag('no-act-order'),
      staticGroups: args.flag('static-groups'), percdamp, mode: args.choice('mode', MODES, 'sequential'),
      format: args.has('format') ? args.choice('format', ZERO_FORMATS) : undefined,
    };
    const out = args.str('out');
    // --out is replaced whole: only an earlier export (or an empty folder) may be there
    checkReplaceable(out, 'quantize_config.json', 'a quantized checkpoint');
    // the calibration text (GPTQ only): the user's file, or the bundled one (public/data/calib_dict.txt)
    const calibFile = args.optStr('calib-text');
    const calibText = method !== 'gptq' ? null
      : calibFile ? readUserFile(calibFile, '--calib-text').toString('utf8')
      : await nodeDataReader(args.str('data', 'public/data')).read('calib_dict.txt');
    const gpu = await cliGpu(args);
    const { ckpt, tokenizer, model } = await loadForCli(gpu, args);
    const seqLen = Math.min(seqLenArg, model.config.maxPosition);
    const calib = calibText === null ? null : drawCalibration(corpusTokens(tokenizer, calibText), count, seqLen, seed, tokenizer.prefix);
    let last = 0;
    if (args.flag('profile')) gpu.profiler = new KernelProfile();
    const res = await quantizeModel(model, calib, opts, {
      onProgress: (p) => {
        if (Date.now() - last > 300) (last = Date.now()), log(formatProgress(p));
      },
      onLayer: (r) => log(`  layer ${r.layer} ${r.module.padEnd(4)} ${r.rows}x${r.cols} loss ${r.loss.toFixed(4)} recon ${r.reconError.toExponential(2)} damp ${r.dampPercent ?? '-'}${r.fallback ? ` fallback ${r.fallback}` : ''} ${r.seconds.toFixed(3)} s`),
    });
    const profile = gpu.profiler ? await reportProfile(gpu.profiler) : undefined;
    gpu.profiler = null;
    const files = await exportQuantized(gpu, ckpt, res.model, { ...opts, calibSize: calib?.count, seqLen });
    // whole or not at all: a process killed while writing leaves --out as it was
    writeFolder(out, files);
    log(`quantized in ${res.seconds.toFixed(1)} s; wrote ${files.map((f) => f.name).join(', ')} to ${out}`);
    printJson({ model: ckpt.id, out, seconds: res.seconds, options: opts, calibration: res.calibration, layers: res.layers, adapter: gpu.adapterName, memory: memoryReport(gpu), ...(profile ? { profile } : {}) });
    gpu.destroy();
  },
};
