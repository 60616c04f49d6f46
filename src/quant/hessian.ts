// GPTQ's Hessian of one linear layer's input, accumulated on the GPU batch by batch (shaders/hessian.wgsl).
import { type Binding, type CommandBatch, type Gpu, Params } from '../gpu/gpu';

export class GpuHessian {
  readonly H: GPUBuffer;
  /** Sequences seen: the reference's running average counts sequences, not tokens. */
  nsamples = 0;

  constructor(gpu: Gpu, readonly cols: number, label = 'hessian') {
    this.H = gpu.buffer(cols * cols * 4, label);
  }

  /** x: [tokens, cols] holding `sequences` sequences. `tiled` forces the kernel (default: tiled on GPUs). */
  add(b: CommandBatch, x: Binding, tokens: number, sequences: number, tiled?: boolean): void {
    const decay = this.nsamples / (this.nsamples + sequences);
    this.nsamples += sequences;
    const params = new Params().u32(tokens, this.cols).f32(decay, 2 / this.nsamples);
    if (this.cols % 4 === 0 && (tiled ?? !b.gpu.serialKernels)) {
      // GPUs: X^T X as a tiled GEMM over the upper tiles of H (symmetric)
      const t = Math.ceil(this.cols / 64);
      b.dispatch({ shader: 'hessian', entry: 'accumulate_tiled' }, [x, this.H], [t, t], params);
      return;
    }
    // CPU adapters (barriers are costly there): a 4 x 4 block of H per invocation straight from memory
    const n = Math.ceil(this.cols / 4);
    b.dispatch({ shader: 'hessian', entry: 'accumulate' }, [x, this.H], [Math.ceil(n / 8), Math.ceil(n / 8)], params);
  }

  destroy(): void {
    this.H.destroy();
  }
}
