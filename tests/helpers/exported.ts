// An export's files (a GPTQ checkpoint written by the lab) as a model folder in memory, and a GPTQ checkpoint of
// mixed settings made from two exports, as GPTQModel writes one under `dynamic`.
import type { Gpu } from '../../src/gpu/gpu';
import type { Checkpoint } from '../../src/model/checkpoint';
import { encodeSafetensors, SafetensorsFile } from '../../src/model/safetensors';
import { blobFiles, bytesSource, type ModelFiles } from '../../src/model/source';
import type { Transformer } from '../../src/model/transformer';
import { exportQuantized } from '../../src/quant/export';
import { quantizeModel, type QuantizeOptions } from '../../src/quant/quantize-model';

type ExportFile = { name: string; data: Uint8Array };

export const memFiles = (id: string, files: ExportFile[]): ModelFiles => blobFiles(id, new Map(files.map((f) => [f.name, new Blob([f.data as Uint8Array<ArrayBuffer>])])));

async function tensors(files: ExportFile[]) {
  const st = await SafetensorsFile.open(bytesSource('m', files.find((f) => f.name === 'model.safetensors')!.data));
  return Promise.all(st.names.map(async (name) => ({ name, dtype: st.info(name).dtype, shape: st.info(name).shape, data: await st.bytes(name) })));
}

/** The float model `fp` (of `ckpt`) quantized round-to-nearest at `bits`, G = 32, symmetric, and exported. */
export async function rtnExport(gpu: Gpu, fp: Transformer, ckpt: Checkpoint, bits: number): Promise<ExportFile[]> {
  const opts: QuantizeOptions = { method: 'rtn', bits, groupSize: 32, sym: true, actOrder: false, reconError: false };
  const q = await quantizeModel(fp, null, opts);
  try {
    return await exportQuantized(gpu, ckpt, q.model, opts);
  } finally {
    q.model.destroy();
  }
}

/**
 * The tensors of `base`, those `take` names replaced by `other`'s (the same model at other settings), and
 * config.json's quantization_config.dynamic set to `dynamic`.
 */
export async function splicedExport(base: ExportFile[], other: ExportFile[], take: (tensor: string) => boolean, dynamic: Record<string, object>): Promise<ExportFile[]> {
  const weights = encodeSafetensors([...(await tensors(base)).filter((t) => !take(t.name)), ...(await tensors(other)).filter((t) => take(t.name))]);
  const config = JSON.parse(new TextDecoder().decode(base.find((f) => f.name === 'config.json')!.data));
  config.quantization_config.dynamic = dynamic;
  const replaced: Record<string, Uint8Array> = { 'model.safetensors': weights, 'config.json': new TextEncoder().encode(JSON.stringify(config)) };
  return base.map((f) => (replaced[f.name] ? { name: f.name, data: replaced[f.name] } : f));
}
