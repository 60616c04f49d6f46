// onnxruntime-web's WebGPU execution provider in the browser: the benchmark's peer. Its wasm is served at
// ort/ (vite.config.ts copies it from node_modules), and loaded only when the benchmark runs.
import { type OrtPeer, ortPeer } from '../bench/onnx-peer';

export async function browserOrtPeer(): Promise<OrtPeer> {
  const ort = await import('onnxruntime-web/webgpu');
  const base = new URL('ort/', document.baseURI).href;
  return ortPeer(ort, { mjs: `${base}ort-wasm-simd-threaded.asyncify.mjs`, wasm: `${base}ort-wasm-simd-threaded.asyncify.wasm` });
}
