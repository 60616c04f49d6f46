import { readFileSync } from 'node:fs';
import { FIT_LEVELS, type FitLevel, fitAll, FULL } from '../../fit/law';
import { fitJson, fitRows, fitTable, olderLawFits, publishedErrors } from '../../fit/report';
import { parseResults } from '../../sweep/results';
import { UsageError } from '../args';
import type { Command } from '../command';
import { printJson } from '../command';

export const fitCommand: Command = {
  name: 'fit',
  summary: 'fit the scaling law to sweep results (OLS with SE, t, p, CI, adjusted R^2, MAE, ablations)',
  usage: 'quantlab fit results.jsonl|results.csv [--level General,KM,KA,KR] [--ablations] [--holdout MODEL] [--law seed2025|seed2024] [--published qwen3|llama3] [--method gptq|rtn] [--json]',
  flags: ['ablations', 'json'],
  async run(args) {
    const file = args.positional[0];
    if (!file) throw new UsageError('give a results file (JSON Lines or CSV)');
    const rows = fitRows(parseResults(readFileSync(file, 'utf8'), file), args.str('method', 'gptq'));
    if (!rows.length) throw new UsageError(`${file} has no quantized rows with task accuracies to fit`);
    const levels = args.list('level', FIT_LEVELS) as FitLevel[];
    const holdout = args.optStr('holdout');
    const law = args.str('law', 'seed2025');
    if (law === 'seed2024') {
      printJson({ law: 'seed2024', fits: olderLawFits(rows, levels) });
      return;
    }
    const { fits, errors } = fitAll(rows, {
      levels,
      formulas: args.flag('ablations') ? undefined : [FULL],
      holdout: holdout ? (p) => p.model === holdout || p.model.endsWith(`/${holdout}`) || p.model.includes(holdout) : undefined,
    });
    const published = args.optStr('published') as 'qwen3' | 'llama3' | undefined;
    if (args.flag('json')) {
      printJson({ law: 'seed2025', fits: fits.map(fitJson), errors, published: published ? publishedErrors(rows, published) : undefined });
    } else {
      process.stdout.write(fitTable(fits) + '\n');
      for (const e of errors) process.stdout.write(`could not fit ${e}\n`);
      if (published) for (const p of publishedErrors(rows, published)) process.stdout.write(`published ${p.law}: MAE ${p.mae.toFixed(4)} on ${p.n} configurations\n`);
    }
  },
};
