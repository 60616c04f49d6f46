// transformers.js in Node on the web's runtime: onnxruntime-web's WebGPU EP on Dawn (src/cli/ort-node.ts), handed
// to transformers.js through the hook it reads first (globalThis[Symbol.for('onnxruntime')]), instead of the
// onnxruntime-node it would pick in Node. For the export's tests and the race against the lab; no command
// imports it (transformers.js is a dev dependency).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type * as Ort from 'onnxruntime-web/webgpu';
import { nodeOrt } from './ort-node';

type Transformers = typeof import('@huggingface/transformers');

/**
 * Session options transformers.js gives a browser's WebGPU decoder, which it leaves out when the runtime is
 * injected (it then knows no device names): the WebGPU EP, and the KV cache kept on the GPU between steps.
 */
export function webgpuSessionOptions(layers: number): Ort.InferenceSession.SessionOptions {
  const preferredOutputLocation: Record<string, 'gpu-buffer'> = {};
  for (let l = 0; l < layers; l++) for (const kv of ['key', 'value']) preferredOutputLocation[`present.${l}.${kv}`] = 'gpu-buffer';
  return { executionProviders: ['webgpu'], preferredOutputLocation };
}

let loaded: Promise<Transformers> | null = null;

/**
 * transformers.js, its models read from `localModelPath` (no downloads). In Node it hands onnxruntime a file
 * path, which onnxruntime-web cannot open: the session factory reads the file, and its external data files
 * (<file>_data, <file>_data_1, ...) as a browser would fetch them.
 */
export function nodeTransformers(localModelPath: string): Promise<Transformers> {
  loaded ??= (async () => {
    const { ort, wasmDir } = await nodeOrt();
    ort.env.wasm.wasmPaths = wasmDir;
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'error';
    const create = ort.InferenceSession.create.bind(ort.InferenceSession) as (m: Uint8Array, o?: Ort.InferenceSession.SessionOptions) => Promise<Ort.InferenceSession>;
    const InferenceSession = {
      create: (model: string | Uint8Array, options: Ort.InferenceSession.SessionOptions = {}) => {
        if (typeof model !== 'string') return create(model, options);
        const dir = dirname(model), name = basename(model);
        const externalData = existsSync(dir)
          ? readdirSync(dir).filter((f) => f.startsWith(`${name}_data`)).map((f) => ({ path: f, data: new Uint8Array(readFileSync(join(dir, f))) }))
          : [];
        return create(new Uint8Array(readFileSync(model)), externalData.length ? { ...options, externalData } : options);
      },
    };
    (globalThis as Record<symbol, unknown>)[Symbol.for('onnxruntime')] = { ...ort, InferenceSession };
    return import('@huggingface/transformers');
  })();
  return loaded.then((t) => {
    t.env.allowRemoteModels = false;
    t.env.allowLocalModels = true;
    t.env.localModelPath = localModelPath.endsWith('/') ? localModelPath : `${localModelPath}/`;
    return t;
  });
}
