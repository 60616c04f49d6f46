// Resolves --model for the CLI: a checkpoint folder, the name of a bundled model (public/models/<name>),
// or a URL / Hugging Face id downloaded into ~/.cache/quantlab (src/model/hub.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Checkpoint } from '../model/checkpoint';
import { modelBaseUrl } from '../model/hub';
import type { ModelFiles } from '../model/source';
import { dirFiles } from './files';
import { labPath } from './package-root';

/** The bundled models (public/models of the lab's folder, wherever quantlab runs from). */
export const BUNDLED_MODELS_DIR = labPath('public/models');

/** The folder --model names here: a path as given, or a bundled model's; null for a URL or Hub id. */
function localModelDir(spec: string): string | null {
  if (existsSync(spec)) return spec;
  const bundled = join(BUNDLED_MODELS_DIR, spec);
  return existsSync(join(bundled, 'config.json')) ? bundled : null;
}

/** Refuses a --model that is neither a folder, a bundled model, a URL nor a Hub id, before anything runs. */
export function checkModelSpec(spec: string): void {
  if (localModelDir(spec) === null) modelBaseUrl(spec);
}

/** `weights: false`: a downloaded model's config and tokenizer only (a folder's files are read when opened anyway). */
export async function resolveModelFiles(spec: string, opts: { weights?: boolean } = {}): Promise<ModelFiles> {
  const dir = localModelDir(spec);
  if (dir !== null) return dirFiles(dir);
  const { nodeHubFiles } = await import('./hub-cache');
  return nodeHubFiles(spec, opts);
}

export async function openCheckpoint(spec: string): Promise<Checkpoint> {
  return Checkpoint.open(await resolveModelFiles(spec));
}
