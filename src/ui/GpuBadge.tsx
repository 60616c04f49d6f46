import { formatBytes } from '../progress';
import { useLab } from './lab';

export function GpuBadge() {
  const { gpu, gpuError, selfTest } = useLab();
  if (gpuError) return <div className="badge bad" data-testid="adapter">no WebGPU</div>;
  if (!gpu) return <div className="badge" data-testid="adapter">opening GPU…</div>;
  const a = gpu.adapter;
  const title = [
    `vendor: ${a.vendor}`, `architecture: ${a.architecture}`, `device: ${a.device}`, `description: ${a.description}`,
    `features: ${a.features.join(', ')}`,
    ...Object.entries(a.limits).map(([k, v]) => `${k}: ${v}`),
  ].join('\n');
  return (
    <div className="badge" title={title} data-testid="adapter">
      <span className="adapter-name">{[a.vendor, a.architecture].filter(Boolean).join(' ') || a.description}</span>
      {a.isFallbackAdapter && <span className="chip warn" title="A CPU (software) adapter: correct but slow">software</span>}
      {gpu.hasSubgroups && <span className="chip">subgroups</span>}
      {gpu.hasF16 && <span className="chip">f16</span>}
      {gpu.hasTimestamps && <span className="chip">timestamps</span>}
      <span className="chip">buffer {formatBytes(a.limits.maxStorageBufferBindingSize)}</span>
      {selfTest && (
        <span className={selfTest.ok ? 'chip ok' : 'chip bad'} data-testid="selftest" data-ok={selfTest.ok}
          title={`f32 matmul ${selfTest.shape.join('x')} vs float64 CPU: max rel. error ${selfTest.maxRelErr.toExponential(1)}`}>
          {selfTest.ok ? 'kernels ✓' : 'kernels ✗'}
        </span>
      )}
    </div>
  );
}
