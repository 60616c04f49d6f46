import { totalParams } from '../../model/config';
import type { Command } from '../command';
import { printJson } from '../command';
import { openCheckpoint } from '../model';

export const infoCommand: Command = {
  name: 'info',
  summary: 'describe a checkpoint: architecture, shape, parameter counts (N as the study counts it)',
  usage: 'quantlab info --model PATH|NAME|URL|HF_ID',
  async run(args) {
    const ckpt = await openCheckpoint(args.str('model'));
    const c = ckpt.config;
    printJson({
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
      quantization: c.gptq,
    });
  },
};
