// onnxruntime-web's WebGPU execution provider in the browser: the benchmark's peer. Its wasm is served at
// ort/ (vite.config.ts copies it from node_modules), and loaded only when the benchmark runs.
import type { OrtPeer } from '../bench/onnx-peer';

export async function browserOrtPeer(): Promise<OrtPeer> {
  const ort = await import('onnxruntime-web/webgpu');
  const base = new URL('ort/', document.baseURI).href;
  ort.env.wasm.wasmPaths = { mjs: `${base}ort-wasm-simd-threaded.asyncify.mjs`, wasm: `${base}ort-wasm-simd-threaded.asyncify.wasm` };
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
