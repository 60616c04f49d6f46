// GPTQ's Hessian of one linear layer's input, accumulated on the GPU batch by batch (shaders/hessian.wgsl).
import { type Binding, type CommandBatch, type Gpu, Params } from '../gpu/gpu';

export class GpuHessian {
  readonly H: GPUBuffer;
  /** Sequences seen: the reference's running average counts sequences, not tokens. */
  nsamples = 0;

  constructor(gpu: Gpu, readonly cols: number, label = 'hessian') {
    this.H = gpu.buffer(cols * cols * 4, label);
  }

  /** x: [tokens, cols] holding `sequences` sequences. */
  add(b: CommandBatch, x: Binding, tokens: number, sequences: number): void {
    const decay = this.nsamples / (this.nsamples + sequences);
    this.nsamples += sequences;
    const n = Math.ceil(this.cols / 4);
    b.dispatch(
      { shader: 'hessian', entry: 'accumulate' },
      [x, this.H],
      [Math.ceil(n / 8), Math.ceil(n / 8)],
      new Params().u32(tokens, this.cols).f32(decay, 2 / this.nsamples),
    );
  }

  destroy(): void {
    this.H.destroy();
  }
}
