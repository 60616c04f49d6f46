// A linear layer as the forward pass sees it: y = x W^T (+ b), over `rows` rows. Dense float weights here (f32,
// or f16 widened in the kernels); GPTQ-packed weights (src/quant/packed.ts) implement the same interface, so the
// forward pass reads packed weights directly through the dequantizing kernels.
import type { Binding, CommandBatch, Gpu } from '../gpu/gpu';
import { f16ToF32 } from './safetensors';
import { gemvQkv, gemvSwiglu, INPUT_NORM_BINDINGS, INPUT_NORM_WORKGROUP_BYTES, type InputNorm, matmul, widenF16 } from './ops';

export interface Linear {
  readonly outFeatures: number;
  readonly inFeatures: number;
  /** Bytes of weight data read per full pass (for bandwidth figures). */
  readonly weightBytes: number;
  /** y = x W^T (+ b), or with `norm` (where takesInputNorm says so) y = norm(x) W^T (+ b). */
  encode(b: CommandBatch, x: Binding, y: Binding, rows: number, accumulate?: boolean, norm?: InputNorm): void;
  /** Whether encode applies an InputNorm itself for `rows` rows (one token on a GPU: the GEMV). */
  takesInputNorm?(rows: number): boolean;
  /**
   * y = silu(this(x)) * up(x) (an MLP's gate, up and SwiGLU) in one step, where this linear and `up` allow it
   * (and apply `norm`, if given); false, recording nothing, where they do not (the caller runs gate, up and
   * swiglu apart).
   */
  encodeGateUp?(b: CommandBatch, up: Linear, x: Binding, y: Binding, rows: number, norm?: InputNorm): boolean;
  /**
   * y_q, y_k, y_v = this(x), k(x), v(x) (an attention block's projections of one input) in one step, where the
   * three allow it (and apply `norm`, if given); false, recording nothing, where they do not (the caller
   * encodes them apart).
   */
  encodeQkv?(b: CommandBatch, k: Linear, v: Linear, x: Binding, y: { q: Binding; k: Binding; v: Binding }, rows: number, norm?: InputNorm): boolean;
  destroy(): void;
}

/** Whether this GPU's GEMVs can norm their own input: the norm's weight bound beside their buffers, its sum in workgroup memory. */
export const fusedNormFits = (gpu: Gpu) =>
  gpu.device.limits.maxStorageBuffersPerShaderStage >= INPUT_NORM_BINDINGS && gpu.device.limits.maxComputeWorkgroupStorageSize >= INPUT_NORM_WORKGROUP_BYTES;

/** q|k|v biases concatenated for the fused q/k/v GEMV, made once per q projection. */
const qkvBiases = new WeakMap<DenseLinear, GPUBuffer>();

export class DenseLinear implements Linear {
  constructor(
    private readonly gpu: Gpu,
    readonly weight: GPUBuffer, // [out, in], f32 or (f16) two halves per u32
    readonly outFeatures: number,
    readonly inFeatures: number,
    readonly bias?: GPUBuffer,
    readonly f16 = false,
  ) {}

  get weightBytes(): number {
    return this.outFeatures * this.inFeatures * (this.f16 ? 2 : 4);
  }

  encode(b: CommandBatch, x: Binding, y: Binding, rows: number, accumulate = false, norm?: InputNorm): void {
    matmul(b, x, this.weight, y, rows, this.outFeatures, this.inFeatures, { bias: this.bias, accumulate, empty: this.gpu.empty, wF16: this.f16, norm });
  }

  /** One token on a GPU: matmul takes the GEMV (in features % 4 == 0), which can bind the norm. */
  takesInputNorm(rows: number): boolean {
    return rows === 1 && !this.gpu.serialKernels && this.inFeatures % 4 === 0 && fusedNormFits(this.gpu);
  }

  encodeGateUp(b: CommandBatch, up: Linear, x: Binding, y: Binding, rows: number, norm?: InputNorm): boolean {
    // one token on a GPU (where matmul takes the GEMV), two bias-free weights of one shape and storage
    const ok = rows === 1 && !this.gpu.serialKernels && up instanceof DenseLinear && !this.bias && !up.bias && up.f16 === this.f16
      && up.outFeatures === this.outFeatures && up.inFeatures === this.inFeatures && this.inFeatures % 4 === 0 && (!norm || this.takesInputNorm(rows));
    if (ok) gemvSwiglu(b, x, this.weight, up.weight, y, this.outFeatures, this.inFeatures, this.f16, norm);
    return ok;
  }

  encodeQkv(b: CommandBatch, k: Linear, v: Linear, x: Binding, y: { q: Binding; k: Binding; v: Binding }, rows: number, norm?: InputNorm): boolean {
    // one token on a GPU, three float weights of one input, one storage, all with biases or none
    const ok = rows === 1 && !this.gpu.serialKernels && k instanceof DenseLinear && v instanceof DenseLinear
      && k.f16 === this.f16 && v.f16 === this.f16 && k.inFeatures === this.inFeatures && v.inFeatures === this.inFeatures
      && this.inFeatures % 4 === 0 && this.outFeatures % 2 === 0 && k.outFeatures % 2 === 0
      && Boolean(this.bias) === Boolean(k.bias) && Boolean(this.bias) === Boolean(v.bias) && (!norm || this.takesInputNorm(rows));
    if (!ok) return false;
    let bias: GPUBuffer | undefined;
    if (this.bias && k.bias && v.bias) {
      bias = qkvBiases.get(this);
      if (!bias) {
        const [nq, nk, nv] = [this.outFeatures, k.outFeatures, v.outFeatures];
        bias = this.gpu.buffer((nq + nk + nv) * 4, 'bias.qkv');
        const enc = this.gpu.batch('bias.qkv');
        enc.copy(this.bias, 0, bias, 0, nq * 4).copy(k.bias, 0, bias, nq * 4, nk * 4).copy(v.bias, 0, bias, (nq + nk) * 4, nv * 4);
        void enc.submit();
        qkvBiases.set(this, bias);
      }
    }
    gemvQkv(b, x, { q: this.weight, k: k.weight, v: v.weight }, y, { q: this.outFeatures, k: k.outFeatures, v: v.outFeatures }, this.inFeatures,
      { bias, empty: this.gpu.empty, wF16: this.f16, norm });
    return true;
  }

  /**
   * Rows [row, row + count) of W in f32 on the GPU for kernels that read f32 (the quantizers): the weight itself,
   * or a widened (or sliced) copy to destroy. A slice starts where a binding may: row x in_features x 2 bytes a
   * multiple of 256 (rows in 32s do, for in_features in 4s).
   */
  async f32Weight(row = 0, count = this.outFeatures): Promise<{ buffer: GPUBuffer; release(): void }> {
    const k = this.inFeatures, n = count * k;
    if (!this.f16 && row === 0 && count === this.outFeatures) return { buffer: this.weight, release: () => undefined };
    const buffer = this.gpu.buffer(n * 4, 'weight.f32');
    const b = this.gpu.batch('widen');
    if (this.f16) widenF16(b, row === 0 && count === this.outFeatures ? this.weight : { buffer: this.weight, offset: row * k * 2, size: n * 2 }, buffer, n);
    else b.copy(this.weight, row * k * 4, buffer, 0, n * 4);
    await b.submit();
    return { buffer, release: () => buffer.destroy() };
  }

  /** `count` rows of W from `row`, as f32 on the host (inspection: histograms). */
  async readRows(row: number, count = 1): Promise<Float32Array> {
    const k = this.inFeatures;
    if (!this.f16) return this.gpu.readF32(this.weight, count * k, row * k);
    return f16ToF32(new Uint16Array(await this.gpu.read(this.weight, count * k * 2, row * k * 2)));
  }

  destroy(): void {
    this.weight.destroy();
    this.bias?.destroy();
    qkvBiases.get(this)?.destroy();
  }
}
