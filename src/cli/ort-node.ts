// onnxruntime-web's WebGPU execution provider in Node, on Dawn: the benchmark's peer. onnxruntime-web expects
// navigator.gpu, and its wasm memory is a SharedArrayBuffer, which Dawn for Node's writeBuffer rejects
// ("Invalid argument"): views of it are copied into plain buffers first.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import type * as Ort from 'onnxruntime-web/webgpu';
import { type OrtPeer, ortPeer } from '../bench/onnx-peer';
import { nodeGpuApi } from '../gpu/node';

let patched = false;
function patchWriteBuffer(): void {
  if (patched) return;
  patched = true;
  const orig = GPUQueue.prototype.writeBuffer;
  GPUQueue.prototype.writeBuffer = function (this: GPUQueue, buf: GPUBuffer, off: number, data: BufferSource | SharedArrayBuffer, dOff?: number, size?: number) {
    const view = data as ArrayBufferView;
    if (view.buffer instanceof SharedArrayBuffer) {
      const bpe = (view as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
      const start = view.byteOffset + (dOff ?? 0) * bpe;
      const len = size !== undefined ? size * bpe : view.byteLength - (dOff ?? 0) * bpe;
      return orig.call(this, buf, off, new Uint8Array(view.buffer, start, len).slice());
    }
    return orig.call(this, buf, off, data as BufferSource, dOff, size);
  } as typeof GPUQueue.prototype.writeBuffer;
}

/** Where onnxruntime-web's wasm files are: $QUANTLAB_ORT_DIR, or the installed package's dist/. */
function wasmDir(): string {
  if (process.env.QUANTLAB_ORT_DIR) return process.env.QUANTLAB_ORT_DIR;
  const req = createRequire(join(process.cwd(), 'package.json'));
  return dirname(req.resolve('onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm'));
}

/** onnxruntime-web with its WebGPU EP on Dawn, its wasm located: what the benchmark's peer and the ONNX export's
 *  checks run on. */
export async function nodeOrt(): Promise<{ ort: typeof Ort; wasmDir: string }> {
  const api = await nodeGpuApi();
  if (!(globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: api }, configurable: true, writable: true });
  }
  patchWriteBuffer();
  const ort = await import('onnxruntime-web/webgpu');
  const dir = wasmDir();
  if (!existsSync(join(dir, 'ort-wasm-simd-threaded.asyncify.wasm'))) throw new Error(`onnxruntime-web's wasm is not in ${dir} (set QUANTLAB_ORT_DIR)`);
  return { ort, wasmDir: dir.endsWith('/') ? dir : `${dir}/` };
}

export async function nodeOrtPeer(): Promise<OrtPeer> {
  const { ort, wasmDir } = await nodeOrt();
  return ortPeer(ort, wasmDir);
}
