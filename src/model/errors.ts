import { QuantlabError } from '../errors';
import { supportedArchitectures } from './architectures';

/** A file of a checkpoint is unreadable or inconsistent. Names the file and what is wrong with it. */
export class CheckpointError extends QuantlabError {
  constructor(readonly file: string, problem: string, action = 'Re-download or re-export the checkpoint; nothing was loaded.') {
    super(`${file}: ${problem}.`, action);
  }
}

/** The config names an architecture or a feature the lab does not run. */
export class UnsupportedModelError extends QuantlabError {
  constructor(problem: string) {
    super(problem, `quantlab runs ${supportedArchitectures()} checkpoints (Hugging Face layout); pick one of those.`);
  }
}
