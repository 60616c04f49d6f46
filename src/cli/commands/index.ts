// The CLI's commands: adding one is one file here and one line below.
import type { Command } from '../command';
import { benchCommand } from './bench';
import { evalCommand } from './eval';
import { exportCommand } from './export';
import { fitCommand } from './fit';
import { generateCommand } from './generate';
import { gpuCommand } from './gpu';
import { infoCommand } from './info';
import { logitsCommand } from './logits';
import { mergeCommand } from './merge';
import { quantizeCommand } from './quantize';
import { sweepCommand } from './sweep';
import { synthCommand } from './synth';

export const COMMANDS: Command[] = [gpuCommand, infoCommand, logitsCommand, generateCommand, quantizeCommand, exportCommand, evalCommand, sweepCommand, mergeCommand, fitCommand, benchCommand, synthCommand];
