import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { exportOnnx, onnxExportProblem, OnnxExportError } from '../../quant/onnx/export';
import { UsageError } from '../args';
import type { Command } from '../command';
import { log, printJson } from '../command';
import { openCheckpoint } from '../model';

export const exportCommand: Command = {
  name: 'export',
  summary: 'export a float or GPTQ checkpoint as an ONNX folder that transformers.js (onnxruntime-web, WebGPU) loads',
  usage: 'quantlab export --model PATH|ID (a float checkpoint, or a GPTQ one such as quantize writes) --format onnx --out DIR (a new folder) [--accuracy-level 0|4 (MatMulNBits: 0 multiplies in f32 as the lab does; 4 lets the WebGPU EP round activations to int8)]',
  async run(args) {
    args.choice('format', ['onnx'] as const);
    const out = resolve(args.str('out'));
    const accuracyLevel = Number(args.choice('accuracy-level', ['0', '4'] as const, '0')) as 0 | 4;
    if (existsSync(out) && readdirSync(out).length > 0) throw new UsageError(`--out: ${out} exists and is not empty; name a new folder (nothing was written)`);
    const ckpt = await openCheckpoint(args.str('model'));
    const problem = onnxExportProblem(ckpt.config);
    if (problem) throw new OnnxExportError(ckpt.id, problem);
    const t0 = performance.now();
    const res = await exportOnnx(ckpt, { accuracyLevel });
    for (const n of res.notes) log(`note: ${n}`);
    // written whole or not at all: a sibling folder, renamed into place once every file is in it
    const tmp = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
    try {
      for (const f of res.files) {
        mkdirSync(dirname(join(tmp, f.name)), { recursive: true });
        writeFileSync(join(tmp, f.name), f.data);
      }
      if (existsSync(out)) rmdirSync(out); // empty, checked above
      renameSync(tmp, out);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    const bytes = res.files.reduce((s, f) => s + f.data.byteLength, 0);
    log(`wrote ${res.files.length} files (${(bytes / 2 ** 20).toFixed(1)} MiB) to ${out} in ${((performance.now() - t0) / 1000).toFixed(1)} s; transformers.js loads it with dtype "${res.dtype}" (${res.modelFile})`);
    printJson({ model: ckpt.id, out, format: 'onnx', dtype: res.dtype, model_file: res.modelFile, files: res.files.map((f) => ({ name: f.name, bytes: f.data.byteLength })), notes: res.notes });
  },
};
