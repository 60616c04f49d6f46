/** What the benchmark needs of its peer: a MatMulNBits session and its call (onnxruntime-web, browser or Node). */
export interface OrtPeer {
  name: string;
  session(model: Uint8Array): Promise<{ run(x: Float32Array, M: number, K: number): Promise<Float32Array>; release(): Promise<void> }>;
}
