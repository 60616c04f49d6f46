// Planning a sweep without a GPU or weights: a model's config and tokenizer are all a configuration's identity
// and its planned items need, so a shard's dry run and merge's grid check download no weights.
import { plannedItems } from '../eval/run';
import { suiteForModel } from '../eval/tasks';
import { type ModelConfig, nonEmbeddingParams, parseConfig } from '../model/config';
import { readText } from '../model/source';
import { TextTokenizer } from '../model/tokenizer';
import { configKey, describeConfig, evalOptions, planSweep, type SweepOptions } from '../sweep/engine';
import type { ExpectedConfig } from '../sweep/shard';
import { nodeDataReader } from './data';
import { resolveModelFiles } from './model';

export interface ModelHead {
  config: ModelConfig;
  rawConfig: Record<string, unknown>;
  nonEmbeddingParams: number;
  tokenizer: TextTokenizer;
}

/** A model's config and tokenizer: from its folder, or downloaded alone (a Hub model's weights are not fetched). */
export async function modelHead(spec: string): Promise<ModelHead> {
  const files = await resolveModelFiles(spec, { weights: false });
  const rawConfig = JSON.parse(await readText(files, 'config.json')) as Record<string, unknown>;
  const config = parseConfig(rawConfig, `${spec}/config.json`);
  return { config, rawConfig, nonEmbeddingParams: nonEmbeddingParams(config), tokenizer: await TextTokenizer.load(files, config) };
}

/** Every configuration of a sweep with its identity and the items each task is to be scored on (data: the data folder). */
export async function plannedGrid(opts: SweepOptions, dataDir: string): Promise<ExpectedConfig[]> {
  const data = nodeDataReader(dataDir);
  const plan = planSweep(opts);
  const planned: ExpectedConfig[] = [];
  for (const m of opts.models) {
    const head = await modelHead(m.id);
    const tasks = await plannedItems(head.tokenizer, data, evalOptions(opts, opts.suite ?? suiteForModel(head.rawConfig).suite), head.config.maxPosition);
    for (const c of plan.filter((p) => p.model === m)) planned.push({ key: configKey(opts, c, head), label: describeConfig(c, opts), tasks });
  }
  return planned;
}
