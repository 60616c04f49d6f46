import type { Command } from '../command';
import type { Transformer } from '../../model/transformer';
import { log, memoryReport, printJson, reportProfile } from '../command';
import { type Gpu, KernelProfile } from '../../gpu/gpu';
import { cliGpu } from '../gpu-node';
import { loadForCli, WEIGHTS_USAGE } from '../load';
import { UsageError } from '../args';
import { formatGenerationStats, generationClock } from '../../progress';
import { warmUp } from '../../bench/bench';

export const generateCommand: Command = {
  name: 'generate',
  summary: 'greedy text generation with a KV cache',
  usage: `quantlab generate --model PATH|ID (a GPTQ checkpoint, e.g. one written by quantize, runs packed) --prompt "..." [--max-tokens 64] [--steps-per-read N (decode steps chained on the GPU per readback; default 16, 1 on CPU adapters)] [--ignore-eos (all --max-tokens tokens: for timing decode)] [--warmup (generate untimed first, then again for half a second: pipelines compiled, caches warm, GPU clocks up)] [--profile (GPU time per kernel; each dispatch in its own pass)] [--record-steps (record each decode step anew instead of replaying one: A/B timings)] [--ablate (then the decode's GPU time without each of its kernels in turn: what each costs where it runs)] [--json] ${WEIGHTS_USAGE}`,
  flags: ['json', 'f16', 'ignore-eos', 'profile', 'warmup', 'record-steps', 'ablate'],
  async run(args) {
    const prompt = args.str('prompt');
    const maxTokens = args.int('max-tokens', 64, 1);
    const stepsPerRead = args.has('steps-per-read') ? args.int('steps-per-read', 16, 1) : undefined;
    const t0 = performance.now();
    const gpu = await cliGpu(args);
    const { model, tokenizer } = await loadForCli(gpu, args);
    const ids = [...tokenizer.prefix, ...tokenizer.encode(prompt)];
    const loadSeconds = (performance.now() - t0) / 1000;
    const eos = args.flag('ignore-eos') ? [] : tokenizer.eosIds;
    const replay = !args.flag('record-steps');
    if (args.flag('warmup')) await warmUp(() => model.generate(ids, maxTokens, { eos, stepsPerRead, replay }));
    if (args.flag('profile')) gpu.profiler = new KernelProfile();
    const clock = generationClock();
    const timing: { recordMs: number; steps: number; gpuMs?: number } = { recordMs: 0, steps: 0 };
    const out = await model.generate(ids, maxTokens, { eos, stepsPerRead, replay, onToken: clock.onToken, timing });
    const st = clock.stats();
    const text = tokenizer.decode(out, true);
    const profile = gpu.profiler ? await reportProfile(gpu.profiler) : undefined;
    gpu.profiler = null;
    const ablation = args.flag('ablate') ? await ablate(gpu, model, ids, maxTokens, { stepsPerRead, replay }) : undefined;
    if (args.flag('json')) {
      printJson({
        prompt, prompt_tokens: ids.length, completion: text, tokens: out, seconds: st.seconds, tokens_per_second: out.length / st.seconds,
        first_token_seconds: st.firstTokenSeconds, decode_tokens_per_second: st.decodeTokensPerSecond, load_seconds: loadSeconds,
        record_ms_per_step: timing.steps ? timing.recordMs / timing.steps : null,
        gpu_ms_per_step: timing.steps && timing.gpuMs !== undefined ? timing.gpuMs / timing.steps : null,
        memory: memoryReport(gpu), ...(profile ? { profile } : {}), ...(ablation ? { ablation } : {}),
      });
    } else {
      process.stdout.write(prompt + text + '\n');
      log(`${formatGenerationStats(st)} (${gpu.adapterName})`);
    }
    gpu.destroy();
  },
};

/**
 * The decode's GPU time a step (timestamps over the submitted chunks) with each of its kernels left out in turn
 * (Gpu.omitKernels; the tokens are then wrong and not reported): what a kernel costs where it runs, the gap
 * before the next dispatch included, which a pass per dispatch (--profile) cannot show. `floor`: every
 * dispatch left out (the copies and passes alone).
 */
async function ablate(gpu: Gpu, model: Transformer, ids: number[], maxTokens: number, opts: { stepsPerRead?: number; replay: boolean }) {
  if (!gpu.hasTimestamps) throw new UsageError(`--ablate needs timestamp queries, which ${gpu.adapterName} does not offer (quantlab gpu lists its features).`);
  // one decode step's dispatches: a generation of 3 steps less one of 2, each step recorded
  const count = async (steps: number) => {
    const counts = new Map<string, number>();
    gpu.dispatchCounts = counts;
    try {
      await model.generate(ids, steps, { eos: [], stepsPerRead: opts.stepsPerRead, replay: false });
    } finally {
      gpu.dispatchCounts = null;
    }
    return counts;
  };
  const two = await count(2), three = await count(3);
  const perStep = [...three].map(([kernel, n]) => ({ kernel, dispatches: n - (two.get(kernel) ?? 0) })).filter((r) => r.dispatches > 0);
  const stepMs = async (omit: Set<string> | null) => {
    gpu.omitKernels = omit;
    const timing: { recordMs: number; steps: number; gpuMs?: number } = { recordMs: 0, steps: 0 };
    try {
      await model.generate(ids, maxTokens, { eos: [], ...opts, timing });
    } finally {
      gpu.omitKernels = null;
    }
    return (timing.gpuMs ?? NaN) / timing.steps;
  };
  const base = await stepMs(null);
  const rows = [];
  for (const r of perStep) {
    const without = await stepMs(new Set([r.kernel]));
    rows.push({ ...r, ms_without: without, saving_ms: base - without, saving_share: (base - without) / base });
  }
  rows.sort((a, b) => b.saving_ms - a.saving_ms);
  const floor = await stepMs(new Set(perStep.map((r) => r.kernel)));
  const again = await stepMs(null);
  log(`GPU time a step: ${base.toFixed(3)} ms (again at the end: ${again.toFixed(3)}); without any dispatch: ${floor.toFixed(3)} ms. Without each kernel:`);
  for (const r of rows) log(`  ${(100 * r.saving_share).toFixed(1).padStart(5)}%  ${r.saving_ms.toFixed(3).padStart(7)} ms  ${String(r.dispatches).padStart(4)} x  ${r.kernel}`);
  return { base_ms: base, base_again_ms: again, floor_ms: floor, dispatches_per_step: perStep.reduce((a, r) => a + r.dispatches, 0), rows };
}
