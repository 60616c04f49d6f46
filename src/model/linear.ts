// A linear layer as the forward pass sees it: y = x W^T (+ b), over `rows` rows. Dense f32 weights here;
// GPTQ-packed weights (src/quant/packed-linear.ts) implement the same interface, so the forward pass reads
// packed weights directly through the dequantizing kernels.
import type { Binding, CommandBatch, Gpu } from '../gpu/gpu';
import { gemvSwiglu, matmul } from './ops';

export interface Linear {
  readonly outFeatures: number;
  readonly inFeatures: number;
  /** Bytes of weight data read per full pass (for bandwidth figures). */
  readonly weightBytes: number;
  encode(b: CommandBatch, x: Binding, y: Binding, rows: number, accumulate?: boolean): void;
  /**
   * y = silu(this(x)) * up(x) (an MLP's gate, up and SwiGLU) in one step, where this linear and `up` allow it;
   * false, recording nothing, where they do not (the caller runs gate, up and swiglu apart).
   */
  encodeGateUp?(b: CommandBatch, up: Linear, x: Binding, y: Binding, rows: number): boolean;
  destroy(): void;
}

export class DenseLinear implements Linear {
  constructor(
    private readonly gpu: Gpu,
    readonly weight: GPUBuffer, // [out, in] f32
    readonly outFeatures: number,
    readonly inFeatures: number,
    readonly bias?: GPUBuffer,
  ) {}

  get weightBytes(): number {
    return this.outFeatures * this.inFeatures * 4;
  }

  encode(b: CommandBatch, x: Binding, y: Binding, rows: number, accumulate = false): void {
    matmul(b, x, this.weight, y, rows, this.outFeatures, this.inFeatures, { bias: this.bias, accumulate, empty: this.gpu.empty });
  }

  encodeGateUp(b: CommandBatch, up: Linear, x: Binding, y: Binding, rows: number): boolean {
    // one token on a GPU (where matmul takes the GEMV), two bias-free weights of one shape
    const ok = rows === 1 && !this.gpu.serialKernels && up instanceof DenseLinear && !this.bias && !up.bias
      && up.outFeatures === this.outFeatures && up.inFeatures === this.inFeatures && this.inFeatures % 4 === 0;
    if (ok) gemvSwiglu(b, x, this.weight, up.weight, y, this.outFeatures, this.inFeatures);
    return ok;
  }

  destroy(): void {
    this.weight.destroy();
    this.bias?.destroy();
  }
}
