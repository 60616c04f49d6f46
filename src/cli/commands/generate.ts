import type { Command } from '../command';
import { log, memoryReport, printJson, reportProfile } from '../command';
import { KernelProfile } from '../../gpu/gpu';
import { cliGpu } from '../gpu-node';
import { loadForCli, WEIGHTS_USAGE } from '../load';
import { formatGenerationStats, generationClock } from '../../progress';

export const generateCommand: Command = {
  name: 'generate',
  summary: 'greedy text generation with a KV cache',
  usage: `quantlab generate --model PATH|ID (a GPTQ checkpoint, e.g. one written by quantize, runs packed) --prompt "..." [--max-tokens 64] [--steps-per-read N (decode steps chained on the GPU per readback; default 16, 1 on CPU adapters)] [--ignore-eos (all --max-tokens tokens: for timing decode)] [--warmup (generate once untimed first: pipelines compiled, caches warm)] [--profile (GPU time per kernel; each dispatch in its own pass)] [--record-steps (record each decode step anew instead of replaying one: A/B timings)] [--json] ${WEIGHTS_USAGE}`,
  flags: ['json', 'f16', 'ignore-eos', 'profile', 'warmup', 'record-steps'],
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
    if (args.flag('warmup')) await model.generate(ids, maxTokens, { eos, stepsPerRead, replay });
    if (args.flag('profile')) gpu.profiler = new KernelProfile();
    const clock = generationClock();
    const timing: { recordMs: number; steps: number; gpuMs?: number } = { recordMs: 0, steps: 0 };
    const out = await model.generate(ids, maxTokens, { eos, stepsPerRead, replay, onToken: clock.onToken, timing });
    const st = clock.stats();
    const text = tokenizer.decode(out, true);
    const profile = gpu.profiler ? await reportProfile(gpu.profiler) : undefined;
    if (args.flag('json')) {
      printJson({
        prompt, prompt_tokens: ids.length, completion: text, tokens: out, seconds: st.seconds, tokens_per_second: out.length / st.seconds,
        first_token_seconds: st.firstTokenSeconds, decode_tokens_per_second: st.decodeTokensPerSecond, load_seconds: loadSeconds,
        record_ms_per_step: timing.steps ? timing.recordMs / timing.steps : null,
        gpu_ms_per_step: timing.steps && timing.gpuMs !== undefined ? timing.gpuMs / timing.steps : null,
        memory: memoryReport(gpu), ...(profile ? { profile } : {}),
      });
    } else {
      process.stdout.write(prompt + text + '\n');
      log(`${formatGenerationStats(st)} (${gpu.adapterName})`);
    }
    gpu.destroy();
  },
};
