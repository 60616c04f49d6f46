// Errors the GPU can raise, grouped by what the user can do about it. Every message ends with the action.
import { QuantlabError } from '../errors';

/** navigator.gpu is missing: the browser has no WebGPU, or the page is not a secure context. */
export class WebGPUUnavailableError extends QuantlabError {
  constructor(where: 'browser' | 'node') {
    super(
      where === 'browser'
        ? 'This browser does not expose WebGPU (navigator.gpu is undefined).'
        : 'The Node WebGPU binding (npm "webgpu", Dawn) could not be loaded.',
      where === 'browser'
        ? 'Use Chrome or Edge 113+ (on Linux start it with --enable-unsafe-webgpu), and open the lab from http://localhost or https.'
        : 'Run "npm install" in the project, on Linux x64/arm64, macOS or Windows.',
    );
  }
}

/** WebGPU exists but no adapter was offered. */
export class NoAdapterError extends QuantlabError {
  constructor(hint: string) {
    super('WebGPU is available but no GPU adapter was found.', hint);
  }
}

/** The device was lost: driver reset, GPU out of memory, tab in the background too long, or destroy(). */
export class DeviceLostError extends QuantlabError {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(
      `The GPU device was lost (${reason || 'unknown'}${message ? `: ${message}` : ''}).`,
      'This often means the GPU ran out of memory: try a smaller model, a shorter sequence length or fewer calibration sequences, then reload. Saved sweep results are kept and the sweep resumes.',
    );
    this.reason = reason;
  }
}

/** A shader failed to compile or a pipeline/bind group did not validate: a bug in quantlab, or an adapter limit. */
export class GpuValidationError extends QuantlabError {
  constructor(readonly shader: string, readonly entry: string, detail: string) {
    super(
      `WebGPU rejected shader "${shader}" entry "${entry}": ${detail}.`,
      'This is a quantlab bug or an adapter limit it did not check: please report it with the adapter shown in the header.',
    );
  }
}

/** An allocation did not fit. */
export class GpuOutOfMemoryError extends QuantlabError {
  constructor(what: string, bytes: number) {
    super(
      `Out of GPU memory while allocating ${what} (${(bytes / 2 ** 20).toFixed(1)} MiB).`,
      'Close other GPU-heavy tabs or programs, or use a smaller model, batch or sequence length.',
    );
  }
}

/** A buffer larger than the adapter allows in one binding. */
export class GpuLimitError extends QuantlabError {
  constructor(what: string, bytes: number, limit: number) {
    super(
      `${what} needs ${(bytes / 2 ** 20).toFixed(1)} MiB in one buffer, above this adapter's limit of ${(limit / 2 ** 20).toFixed(1)} MiB.`,
      'Use a smaller model or batch, or a GPU/browser with larger buffer limits.',
    );
  }
}
