// onnxruntime-web's WebGPU execution provider as the benchmark's peer. Shared by both fronts: each imports
// onnxruntime-web itself (src/ui/ort-browser.ts, src/cli/ort-node.ts) and says where its wasm files are.
import type * as Ort from 'onnxruntime-web/webgpu';

/** What the benchmark needs of its peer: a MatMulNBits session and its call (onnxruntime-web, browser or Node). */
export interface OrtPeer {
  name: string;
  session(model: Uint8Array): Promise<{ run(x: Float32Array, M: number, K: number): Promise<Float32Array>; release(): Promise<void> }>;
}

/** The peer over an imported onnxruntime-web: one thread, quiet, WebGPU EP; input A [M, K], output Y. */
export function ortPeer(ort: typeof Ort, wasmPaths: Ort.Env.WasmPrefixOrFilePaths): OrtPeer {
  ort.env.wasm.wasmPaths = wasmPaths;
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  return {
    name: `onnxruntime-web ${ort.env.versions?.web ?? ''}`.trim(),
    async session(model) {
      const s = await ort.InferenceSession.create(model, { executionProviders: ['webgpu'] });
      return {
        async run(x, M, K) {
          const out = await s.run({ A: new ort.Tensor('float32', x, [M, K]) });
          return out.Y.data as Float32Array;
        },
        release: () => s.release(),
      };
    },
  };
}
