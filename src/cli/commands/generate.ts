import type { Command } from '../command';
import { log, printJson } from '../command';
import { cliGpu } from '../gpu-node';
import { loadForCli } from '../load';

export const generateCommand: Command = {
  name: 'generate',
  summary: 'greedy text generation with a KV cache',
  usage: 'quantlab generate --model PATH|ID (a GPTQ checkpoint, e.g. one written by quantize, runs packed) --prompt "..." [--max-tokens 64] [--steps-per-read N (decode steps chained on the GPU per readback; default 16, 1 on CPU adapters)] [--f16 (NVIDIA through Dawn: shader-f16, for the f16 decode GEMV)] [--json]',
  flags: ['json', 'f16'],
  async run(args) {
    const gpu = await cliGpu(args);
    const { model, tokenizer } = await loadForCli(gpu, args);
    const prompt = args.str('prompt');
    const ids = [...tokenizer.prefix, ...tokenizer.encode(prompt)];
    const stepsPerRead = args.has('steps-per-read') ? args.num('steps-per-read', 16) : undefined;
    const t0 = performance.now();
    // first-token latency (the prompt; pipelines compiled on first use) apart from the steady decode rate
    let tFirst = 0, tLast = 0;
    const onToken = () => ((tLast = performance.now()), (tFirst ||= tLast));
    const out = await model.generate(ids, args.num('max-tokens', 64), { eos: tokenizer.eosIds, stepsPerRead, onToken });
    const seconds = (performance.now() - t0) / 1000;
    const firstTokenSeconds = (tFirst - t0) / 1000;
    const decodeRate = out.length > 1 && tLast > tFirst ? (out.length - 1) / ((tLast - tFirst) / 1000) : null;
    const text = tokenizer.decode(out, true);
    if (args.flag('json')) printJson({ prompt, completion: text, tokens: out, seconds, tokens_per_second: out.length / seconds, first_token_seconds: firstTokenSeconds, decode_tokens_per_second: decodeRate });
    else {
      process.stdout.write(prompt + text + '\n');
      const rate = decodeRate === null ? '' : `; after the first token (${(firstTokenSeconds * 1000).toFixed(0)} ms) ${decodeRate.toFixed(1)} tokens/s`;
      log(`${out.length} tokens in ${seconds.toFixed(2)} s (${(out.length / seconds).toFixed(1)} tokens/s${rate}, ${gpu.adapterName})`);
    }
    gpu.destroy();
  },
};
