import { join } from 'node:path';
import { HF_LINEAR } from '../../model/transformer';
import { formatProgress } from '../../progress';
import { type QuantizeField, quantizeProblems, withName } from '../../sweep/checks';
import { corpusTokens, drawCalibration } from '../../quant/calibration';
import { exportQuantized } from '../../quant/export';
import { type HeadResult, type LayerResult, phasesText, quantizeModel } from '../../quant/quantize-model';
import { type HeadSettings, headSettings, METHODS, MODES, QUANTIZE_DEFAULTS as D } from '../../quant/settings';
import { ZERO_FORMATS } from '../../quant/packed';
import { type Args, UsageError } from '../args';
import type { Command } from '../command';
import { log, memoryReport, printJson, readUserFile, reportProfile } from '../command';
import { KernelProfile } from '../../gpu/gpu';
import { DATA_DIR, nodeDataReader } from '../data';
import { checkReplaceable, writeFolder } from '../files';
import { cliGpu } from '../gpu-node';
import { loadForCli, WEIGHTS_USAGE } from '../load';

/** The options that set a quantized LM head's settings (quantize, sweep), as the checks' messages name them. */
export const HEAD_OPTIONS = '--lm-head-bits / --lm-head-group';

/** The option behind each field the shared checks name. */
const QUANTIZE_OPTION: Record<QuantizeField, string> = {
  point: '--bits / --group / --calib', calibration: '--calib', damp: '--damp', seqLen: '--seqlen', head: HEAD_OPTIONS,
};

/** The LM head's options (quantize, sweep). */
export const HEAD_USAGE = `[--lm-head (quantize the LM head too: ${D.lmHeadBits}-bit G=${D.lmHeadGroupSize} symmetric, as GPTQModel) [--lm-head-bits B] [--lm-head-group G]]`;

/** The LM head's settings the options ask for, or undefined where it stays float; --lm-head-bits or --lm-head-group alone imply --lm-head. */
export function headOptions(args: Args): HeadSettings | undefined {
  return headSettings({
    lmHead: args.flag('lm-head') || args.has('lm-head-bits') || args.has('lm-head-group'),
    lmHeadBits: args.num('lm-head-bits', D.lmHeadBits), lmHeadGroupSize: args.num('lm-head-group', D.lmHeadGroupSize),
  });
}

export const quantizeCommand: Command = {
  name: 'quantize',
  summary: 'quantize a model with GPTQ (or RTN) on the GPU and export it in the GPTQModel format',
  usage: `quantlab quantize --model PATH --bits ${D.bits} --group ${D.groupSize} --calib ${D.calib} [--seqlen L (default ${D.seqLen}, capped at the model's context)] [--sym|--asym] [--act-order|--no-act-order] [--static-groups] [--damp ${D.percdamp}] [--method ${METHODS.join('|')}] [--mode ${MODES.join('|')}] [--calib-text FILE] [--seed S (default ${D.seed})] [--format gptq|gptq_v2] ${HEAD_USAGE} [--data DIR (default public/data)] --out DIR [--json (the per-layer report on stdout; it is always saved as DIR/quantize-report.json)] [--profile (GPU time per kernel)] ${WEIGHTS_USAGE}`,
  flags: ['sym', 'asym', 'act-order', 'no-act-order', 'static-groups', 'lm-head', 'profile', 'f16', 'json'],
  async run(args) {
    // everything the user typed is checked before the model loads
    const bits = args.num('bits', D.bits);
    const groupSize = args.num('group', D.groupSize);
    const method = args.choice('method', METHODS, D.method);
    const count = args.num('calib', D.calib);
    const seqLenArg = args.num('seqlen', D.seqLen);
    const percdamp = args.num('damp', D.percdamp);
    const lmHead = headOptions(args);
    // the checks the Quantize tab runs too (src/sweep/checks.ts)
    const problem = quantizeProblems({ method, bits, groupSize, calib: count, percdamp, seqLen: seqLenArg, lmHead })[0];
    if (problem) throw new UsageError(withName(QUANTIZE_OPTION[problem.field], problem.problem));
    const seed = args.int('seed', D.seed);
    const opts = {
      // the flags turn a default off or on: their defaults are QUANTIZE_DEFAULTS' sym (on), act-order (on), static groups (off)
      method, bits, groupSize, sym: args.flag('asym') ? false : args.flag('sym') || D.sym, actOrder: method === 'gptq' && (args.flag('no-act-order') ? false : args.flag('act-order') || D.actOrder),
      staticGroups: args.flag('static-groups') || D.staticGroups, percdamp, mode: args.choice('mode', MODES, D.mode),
      format: args.has('format') ? args.choice('format', ZERO_FORMATS) : undefined, lmHead,
    };
    const out = args.str('out');
    // --out is replaced whole: only an earlier export (or an empty folder) may be there
    checkReplaceable(out, 'quantize_config.json', 'a quantized checkpoint');
    // the calibration text (GPTQ only): the user's file, or the bundled one (public/data/calib_dict.txt)
    const calibFile = args.optStr('calib-text');
    const calibText = method !== 'gptq' ? null
      : calibFile ? readUserFile(calibFile, '--calib-text').toString('utf8')
      : await nodeDataReader(args.str('data', DATA_DIR)).read(D.calibText);
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
    });
    const profile = gpu.profiler ? await reportProfile(gpu.profiler) : undefined;
    gpu.profiler = null;
    const files = await exportQuantized(gpu, ckpt, res.model, { ...opts, calibSize: calib?.count, seqLen });
    // the per-layer report is kept beside the checkpoint; the terminal gets a few lines unless --json
    const report = { model: ckpt.id, out, seconds: res.seconds, phases: res.phases, options: opts, calibration: res.calibration, layers: res.layers, ...(res.head ? { head: res.head } : {}), adapter: gpu.adapterName, memory: memoryReport(gpu), ...(profile ? { profile } : {}) };
    // whole or not at all: a process killed while writing leaves --out as it was
    writeFolder(out, [...files, { name: QUANTIZE_REPORT, data: new TextEncoder().encode(JSON.stringify(report, null, 1) + '\n') }]);
    if (args.flag('json')) printJson(report);
    else process.stdout.write(quantizeSummary(report, files.map((f) => f.name), out).join('\n') + '\n');
    gpu.destroy();
  },
};

/** The per-layer report's name in the output folder (loaders of the checkpoint ignore it). */
export const QUANTIZE_REPORT = 'quantize-report.json';

/** What a person wants to read after quantizing: what was done and how long it took, how wrong the layers came out, where it went. */
export function quantizeSummary(
  r: { model: string; seconds: number; phases?: { calibration: number; solve: number }; options: { method: string; bits: number; groupSize: number }; calibration: { count: number; seqLen: number } | null; layers: LayerResult[]; head?: HeadResult; adapter: string },
  files: string[],
  out: string,
): string[] {
  const o = r.options;
  const what = `${o.method.toUpperCase()} ${o.bits}-bit G=${o.groupSize === -1 ? 'channel' : o.groupSize}${r.calibration ? ` C_b=${r.calibration.count} (${r.calibration.seqLen} tokens each)` : ''}`;
  const measured = r.layers.filter((l) => Number.isFinite(l.reconError));
  const lines = [`${what} of ${r.model}: ${r.layers.length} linear layers in ${r.seconds.toFixed(1)} s${phasesText(r)} on ${r.adapter}`];
  if (measured.length) {
    const mean = measured.reduce((a, l) => a + l.reconError, 0) / measured.length;
    const worst = measured.reduce((a, l) => (l.reconError > a.reconError ? l : a));
    lines.push(`layer error ||WX - ŴX||² / ||WX||² on the calibration inputs: mean ${mean.toExponential(2)}, worst ${worst.reconError.toExponential(2)} (layer ${worst.layer} ${HF_LINEAR[worst.module]})`);
  } else {
    lines.push('layer error: not measured (round-to-nearest has no calibration inputs to measure it on)');
  }
  if (r.head) {
    const h = r.head;
    lines.push(`LM head (${h.rows} x ${h.cols}): ${h.method.toUpperCase()}, error ${Number.isFinite(h.reconError) ? h.reconError.toExponential(2) : 'not measured'}${h.fallback ? ` (fell back: ${h.fallback})` : ''}, ${h.seconds.toFixed(1)} s`);
  }
  const fell = r.layers.filter((l) => l.fallback);
  if (fell.length) lines.push(`${fell.length} layer${fell.length > 1 ? 's' : ''} fell back: ${fell.map((l) => `layer ${l.layer} ${l.module} (${l.fallback})`).join(', ')}`);
  lines.push(`wrote ${files.join(', ')} to ${out}`);
  lines.push(`per-layer report: ${join(out, QUANTIZE_REPORT)} (--json prints it here)`);
  return lines;
}
