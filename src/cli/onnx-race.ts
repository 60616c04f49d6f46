// The lab against transformers.js on the same weights and GPU (tools/device/onnx_race.sh runs it): greedy decode
// speed (new tokens after a short prompt) and prefill time (a long prompt to its first token), each side in its
// own process. Bundled into one file with tools/device/onnx_race_build.mjs; not a CLI command.
//   node race.mjs make --shape qwen3-0.6b|llama-3.2-1b --out DIR   a GPTQ 4-bit G=128 checkpoint of random weights
//   node race.mjs lab --model GPTQ_DIR [--f16] [--prompt 8] [--decode 128] [--prefill 512] [--reps 3]
//   node race.mjs tjs --onnx ONNX_DIR [the same counts]
// lab / tjs print one JSON object: medians over --reps timed runs after a warm-up (warmUp: compiled, clocks up), and the first run's tokens.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Checkpoint } from '../model/checkpoint';
import { generationClock } from '../progress';
import { warmUp } from '../bench/bench';
import { loadModel } from '../quant/load';
import { Args } from './args';
import { openCliGpu } from './gpu-node';
import { dirFiles } from './files';
import { nodeTransformers, webgpuSessionOptions } from './transformers-node';

interface Counts {
  prompt: number;
  decode: number;
  prefill: number;
  reps: number;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** The k largest logits of a row as [token, logit] pairs, largest first. */
function topLogits(row: Float32Array, k = 20): [number, number][] {
  return Array.from(row.keys()).sort((a, b) => row[b] - row[a]).slice(0, k).map((i) => [i, row[i]]);
}

/** The same token ids on both sides: a fixed walk through the vocabulary. */
const promptIds = (n: number, vocab: number) => Array.from({ length: n }, (_, i) => (1000 + i * 7919) % vocab);

async function raceLab(model: string, f16: boolean, n: Counts) {
  const gpu = await openCliGpu(f16);
  const ckpt = await Checkpoint.open(dirFiles(model));
  const lab = (await loadModel(gpu, ckpt)).model;
  const c = lab.config, short = promptIds(n.prompt, c.vocab);
  const prefill = Math.min(n.prefill, c.maxPosition - 1), long = promptIds(prefill, c.vocab);
  await warmUp(() => lab.generate(short, 8, { eos: [] })); // pipelines compiled, buffers made, clocks up
  const rates: number[] = [];
  let tokens: number[] = [];
  for (let r = 0; r < n.reps; r++) {
    const clock = generationClock();
    const out = await lab.generate(short, n.decode, { eos: [], onToken: clock.onToken });
    if (r === 0) tokens = out;
    rates.push(clock.stats().decodeTokensPerSecond ?? NaN);
  }
  // the last prompt position's largest logits (the first: the prefill's token): whether both runtimes computed the long prompt alike
  const [all] = await lab.logits([long]);
  const prefillTop = topLogits(all.subarray((prefill - 1) * c.vocab, prefill * c.vocab));
  await warmUp(() => lab.generate(long, 1, { eos: [] }));
  const ms: number[] = [];
  for (let r = 0; r < n.reps; r++) {
    const t0 = performance.now();
    await lab.generate(long, 1, { eos: [] });
    ms.push(performance.now() - t0);
  }
  const res = { runtime: 'quantlab', model, adapter: gpu.adapterName, f16: gpu.f16Kernels, ...n, prefill_tokens: prefill, decode_tokens_per_second: median(rates), prefill_ms: median(ms), runs: { rates, ms }, tokens, prefill_top: prefillTop };
  lab.destroy();
  gpu.destroy();
  return res;
}

async function raceTjs(onnx: string, n: Counts) {
  const dir = resolve(onnx);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { num_hidden_layers: number; vocab_size: number; max_position_embeddings: number };
  const t = await nodeTransformers(dirname(dir));
  const model = await t.AutoModelForCausalLM.from_pretrained(basename(dir), { device: 'auto', session_options: webgpuSessionOptions(config.num_hidden_layers) } as never);
  const ids = (k: number) => {
    const p = promptIds(k, config.vocab_size);
    return { input_ids: new t.Tensor('int64', BigInt64Array.from(p.map(BigInt)), [1, k]), attention_mask: new t.Tensor('int64', new BigInt64Array(k).fill(1n), [1, k]) };
  };
  const generate = async (k: number, newTokens: number) => {
    const times: number[] = [];
    const streamer = { put: () => times.push(performance.now()), end: () => undefined };
    const out = (await model.generate({ ...ids(k), max_new_tokens: newTokens, eos_token_id: [], do_sample: false, streamer } as never)) as unknown as { tolist(): bigint[][] };
    return { times, tokens: out.tolist()[0].slice(k).map(Number) };
  };
  await warmUp(() => generate(n.prompt, 8));
  const rates: number[] = [];
  let tokens: number[] = [];
  for (let r = 0; r < n.reps; r++) {
    // times[0]: the prompt handed to the streamer; times[1]: the first new token
    const g = await generate(n.prompt, n.decode);
    if (r === 0) tokens = g.tokens;
    rates.push((g.times.length - 2) / ((g.times[g.times.length - 1] - g.times[1]) / 1000));
  }
  const prefill = Math.min(n.prefill, config.max_position_embeddings - 1);
  const { input_ids, attention_mask } = ids(prefill);
  const { logits } = await (model as unknown as (x: object) => Promise<{ logits: { data: Float32Array; dims: number[] } }>)({
    input_ids, attention_mask, num_logits_to_keep: new t.Tensor('int64', BigInt64Array.from([1n]), []),
  });
  const V = config.vocab_size;
  const prefillTop = topLogits(logits.data.subarray(logits.data.length - V));
  await warmUp(() => generate(prefill, 1));
  const ms: number[] = [];
  for (let r = 0; r < n.reps; r++) {
    const t0 = performance.now();
    await generate(prefill, 1);
    ms.push(performance.now() - t0);
  }
  await model.dispose();
  return { runtime: `transformers.js ${t.env.version} on onnxruntime-web ${t.env.backends.onnx.versions?.web ?? ''} (WebGPU EP)`, model: dir, ...n, prefill_tokens: prefill, decode_tokens_per_second: median(rates), prefill_ms: median(ms), runs: { rates, ms }, tokens, prefill_top: prefillTop };
}

async function main(argv: string[]) {
  const [what, ...rest] = argv;
  const args = new Args(rest, new Set(['f16']));
  const n: Counts = { prompt: args.int('prompt', 8, 1), decode: args.int('decode', 128, 2), prefill: args.int('prefill', 512, 1), reps: args.int('reps', 3, 1) };
  const res = what === 'lab' ? await raceLab(args.str('model'), args.flag('f16'), n) : what === 'tjs' ? await raceTjs(args.str('onnx'), n) : null;
  if (!res) throw new Error('usage: race.mjs lab|tjs ... (see src/cli/onnx-race.ts)');
  process.stdout.write(JSON.stringify(res) + '\n');
}

main(process.argv.slice(2)).then(
  () => process.exit(0), // a live Dawn instance keeps node from exiting on its own
  (e) => {
    process.stderr.write(`race: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
