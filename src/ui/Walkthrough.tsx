// A short guided tour, in plain words, for students and demos. Skippable; reopened from the header's "?".
import { useEffect, useRef } from 'react';
import { useLab } from './lab';
import { fmtN } from './widgets';

export interface TourStep {
  tab: string;
  title: string;
  body: string;
}

export const TOUR: TourStep[] = [
  { tab: 'Model', title: 'A small language model, on your GPU', body: 'Everything that follows runs on your own GPU through WebGPU: nothing leaves the browser. Type a prompt under Generate to see what the model knows.' },
  { tab: 'Quantize', title: 'B: bits per weight', body: 'Each weight is a 32- or 16-bit number. Quantization stores it in B bits (2, 3, 4 or 8): 2^B levels, evenly spaced. Fewer bits make the model smaller and faster to read, and less accurate.' },
  { tab: 'Quantize', title: 'G: group size, and C_b: calibration', body: 'Weights are quantized in groups of G columns, each group with its own scale and zero point: smaller G fits the levels more tightly, at the cost of storing more scales. GPTQ goes further than rounding: it runs C_b calibration sequences through the model, measures each layer\'s inputs (the Hessian H = 2XᵀX/n), and when it rounds a weight it pushes the error onto the weights not yet rounded, where the inputs say it hurts least. The heatmap shows how much of each layer\'s output that leaves wrong.' },
  { tab: 'Evaluate', title: 'Three kinds of knowledge', body: 'The mini benchmarks ask what the model memorised (KM: "A poodle is a kind of …"), whether it can apply it to new words (KA), and whether it can chain two facts (KR). Scores are chance-adjusted: Acc_adj = (acc − chance)/(1 − chance), so 0 is guessing and 1 is perfect.' },
  { tab: 'Sweep', title: 'A sweep', body: 'A sweep quantizes and evaluates every combination of B, G and C_b you pick, over models of several sizes N. "Quick demo" runs 8 configurations of the bundled model in minutes. Results are saved in this browser as they finish: reload the page and they are still here; run again and finished configurations are skipped.' },
  { tab: 'Fit', title: 'The scaling law', body: 'The study behind the lab found that −ln(Acc_adj) = A·N^α·(log₂B)^β·(log₂C_b)^γ·G^δ. The Fit tab fits it to your results as they arrive: the exponents with their uncertainty beside the published ones, predicted vs actual accuracy (on the dashed line the law is exact), trends with C_b and G, and the law as a 3D surface you can rotate. The calculator predicts a model you have not run, like an 8B model at 3 bits.' },
  { tab: 'Benchmark', title: 'How fast are the kernels?', body: 'The benchmark times the lab\'s packed-weight matmul against plain fp32 and onnxruntime-web, as a share of what this GPU can read per second. That is what makes a quantized model worth running.' },
];

/** The first step as things stand: a model loaded, still loading, or no WebGPU to load one with. */
function firstStep(state: { gpuError: boolean; loaded: { name: string; arch: string; n: number } | null }): string {
  if (state.gpuError) return 'This browser does not expose WebGPU, so the lab has not loaded a model, and the steps about quantizing, evaluating and sweeping describe what needs it. What works here: import results in the Sweep tab and fit the scaling law to them in the Fit tab; the Benchmark tab opens saved reports.';
  if (!state.loaded) return `The lab is loading its smallest bundled model, a Qwen3 with 74 thousand parameters trained on a dictionary and WordNet (the Model tab shows its progress). ${TOUR[0].body}`;
  return `The lab has loaded ${state.loaded.name}, a ${state.loaded.arch} model with N = ${fmtN(state.loaded.n)} non-embedding parameters. ${TOUR[0].body}`;
}

export function Walkthrough({ step, setStep, onTab, onClose }: { step: number; setStep(n: number): void; onTab(tab: string): void; onClose(): void }) {
  const { gpuError, loaded } = useLab();
  const s = TOUR[step];
  const body = step === 0 ? firstStep({ gpuError: gpuError !== null, loaded: loaded && { name: loaded.name, arch: loaded.ckpt.config.arch, n: loaded.ckpt.nonEmbeddingParams } }) : s.body;
  const next = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    onTab(s.tab);
    next.current?.focus();
  }, [s, onTab]);
  return (
    <div className="tour" role="dialog" aria-modal="false" aria-labelledby="tour-title" data-testid="tour"
      onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <div className="tour-step muted small">Step {step + 1} of {TOUR.length}</div>
      <h2 id="tour-title">{step === 0 && gpuError ? 'A small language model, on your GPU — once it has WebGPU' : s.title}</h2>
      <p data-testid="tour-body">{body}</p>
      <div className="controls">
        <button className="ghost" onClick={onClose} data-testid="tour-skip">Skip the tour</button>
        {step > 0 && <button className="ghost" onClick={() => setStep(step - 1)}>Back</button>}
        {step < TOUR.length - 1 ? <button ref={next} onClick={() => setStep(step + 1)}>Next</button> : <button ref={next} onClick={onClose}>Start exploring</button>}
      </div>
    </div>
  );
}
