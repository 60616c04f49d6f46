import { architecture } from '../../model/architectures';
import { type GptqConfig, moduleGptq, totalParams } from '../../model/config';
import { describePlan, planMemory } from '../../model/memory';
import { WEIGHT_FORMATS } from '../../model/weights';
import { modelMemory } from '../../quant/load';
import { formatBytes } from '../../progress';
import type { Command } from '../command';
import { printJson } from '../command';
import { openCheckpoint } from '../model';

const fmt = (n: number) => n.toLocaleString('en-US');

export const infoCommand: Command = {
  name: 'info',
  summary: 'describe a checkpoint: architecture, shape, N, storage, the GPU memory it will need (no GPU used)',
  usage: 'quantlab info --model PATH|NAME|URL|HF_ID [--weights auto|f16|f32 (the storage to plan for)] [--context N (KV cache positions to plan for; default min(context, 4096))] [--json]',
  flags: ['json'],
  async run(args) {
    const weights = args.choice('weights', WEIGHT_FORMATS, 'auto');
    const contextArg = args.has('context') ? args.int('context', undefined, 1) : undefined;
    const ckpt = await openCheckpoint(args.str('model'));
    const c = ckpt.config;
    const opts = modelMemory(ckpt, weights, contextArg ?? Math.min(c.maxPosition, 4096));
    const plan = planMemory(c, opts);
    const names = ckpt.tensorNames();
    const dtypes = [...new Set(names.map((n) => ckpt.info(n).dtype))].sort();
    const bytes = names.reduce((a, n) => a + ckpt.info(n).end - ckpt.info(n).begin, 0);
    const info = {
      model: ckpt.id,
      architecture: c.architecture,
      model_type: c.arch,
      layers: c.layers,
      hidden_size: c.hidden,
      intermediate_size: c.intermediate,
      heads: c.heads,
      kv_heads: c.kvHeads,
      head_dim: c.headDim,
      vocab: c.vocab,
      context: c.maxPosition,
      rope: c.rope,
      tied_embeddings: c.tied,
      n_params: totalParams(c),
      n_params_non_embedding: ckpt.nonEmbeddingParams,
      n_params_non_embedding_from_tensors: c.gptq ? null : ckpt.nonEmbeddingFromTensors(),
      dtypes,
      tensor_bytes: bytes,
      // dynamic's keys as written (a RegExp prints as {})
      quantization: c.gptq && { ...c.gptq, dynamic: Object.fromEntries(c.gptq.dynamic.map((r) => [r.key, r.skip ? {} : r.settings])) },
      memory: { weights: opts.weights, context: opts.context, gpu_bytes: plan.total, items: plan.items, largest_buffer: plan.largest },
    };
    if (args.flag('json')) return printJson(info);
    const lines = [
      `${ckpt.id}: ${c.architecture}, ${c.layers} layers, hidden ${c.hidden}, MLP ${c.intermediate}, ${c.heads} heads (${c.kvHeads} key/value) of ${c.headDim}, vocabulary ${fmt(c.vocab)}, context ${fmt(c.maxPosition)}`,
      `N = ${fmt(ckpt.nonEmbeddingParams)} non-embedding parameters (${fmt(totalParams(c))} in all); embeddings ${c.tied ? 'tied' : 'untied'}; rope ${c.rope.type} (theta ${c.rope.theta})`,
      `stored: ${dtypes.join(', ')}, ${formatBytes(bytes)} of tensors${c.gptq ? `; GPTQ ${c.gptq.bits}-bit, group ${c.gptq.groupSize}, act-order ${c.gptq.descAct ? 'on' : 'off'}, ${c.gptq.sym ? 'symmetric' : 'asymmetric'}${headText(c.gptq, architecture(c.arch).names.lmHead)}` : ''}`,
      `GPU memory to run it (${opts.packed ? 'packed layers, ' : ''}${opts.weights} float weights, ${fmt(opts.context)}-position KV cache):`,
      ...describePlan(plan).map((l) => `  ${l}`),
    ];
    process.stdout.write(lines.join('\n') + '\n');
  },
};

/** The quantized LM head's settings, where the checkpoint has one (GPTQModel's lm_head, its settings in dynamic). */
function headText(g: GptqConfig, module: string): string {
  const h = g.lmHead ? moduleGptq(g, module) : null;
  return h ? `; LM head ${h.bits}-bit, group ${h.groupSize}` : '';
}
