import { FACTOR_NAME, FIT_LEVELS, fitAll, FULL, outsideFit, predictLawInterval, type Level } from '../../fit/law';
import { findings } from '../../fit/findings';
import { formatP } from '../../fit/ols';
import { APART_BITS, fitReport, fitRows, fitTable, holdoutOf, MAIN_BITS, olderLawFits, parseSize, publishedErrors, rowsOfBits, rowsOfSetting } from '../../fit/report';
import { parseResults, resultsText } from '../../sweep/results';
import { asUsage, UsageError } from '../args';
import { METHODS } from '../../quant/quantize-model';
import { PUBLISHED_FAMILIES } from '../../fit/published';
import type { Command } from '../command';
import { printJson, readUserFile } from '../command';

export const fitCommand: Command = {
  name: 'fit',
  summary: 'fit the scaling law to sweep results (OLS, cluster-robust and cluster-bootstrap errors, adjusted R^2, MAE, ablations)',
  usage: `quantlab fit results.jsonl|results.csv|results.jsonl.gz [--level General,KM,KA,KR] [--ablations] [--holdout MODEL|family:NAME] [--law seed2025|seed2024] [--published qwen3|llama3] [--method gptq|rtn] [--setting NAME|all] [--bits main|all|3|3,4,8 (default main: ${MAIN_BITS.join(',')}, with ${APART_BITS.join(',')} bits fitted apart)] [--bootstrap DRAWS (default 999; 0: none)] [--predict N=8B,B=3,G=64,C=128] [--json]`,
  flags: ['ablations', 'json'],
  async run(args) {
    const file = args.positional[0];
    if (!file) throw new UsageError('give a results file (JSON Lines, JSON or CSV; gzipped or not)');
    const method = args.choice('method', METHODS, 'gptq');
    const levels = args.choices('level', FIT_LEVELS, FIT_LEVELS);
    const law = args.choice('law', ['seed2025', 'seed2024'] as const, 'seed2025');
    const published = args.has('published') ? args.choice('published', PUBLISHED_FAMILIES) : undefined;
    const all = fitRows(parseResults(await resultsText(readUserFile(file)), file), method);
    if (!all.length) throw new UsageError(`${file} has no quantized rows with task accuracies to fit`);
    // one setting at a time (sym, act-order, Hessians, seqlen), as the study fits: the largest unless named
    const chosen = asUsage(() => rowsOfSetting(all, args.optStr('setting')));
    const { setting, settings } = chosen;
    const bits = args.str('bits', 'main');
    const rows = asUsage(() => rowsOfBits(chosen.rows, bits));
    if (!rows.length) throw new UsageError(`no configurations with --bits ${bits} in ${file}: it holds ${[...new Set(chosen.rows.map((r) => r.bits))].sort().join(', ')}-bit ones; give --bits all or a list`);
    // the study's main fit leaves 2 bits out and fits them apart
    const apartRows = bits === 'main' ? chosen.rows.filter((r) => APART_BITS.includes(r.bits)) : [];
    if (settings.length > 1 && !args.flag('json')) {
      process.stdout.write(`fitting setting "${setting}"; the results hold ${settings.map((s) => `"${s.setting}" (${s.configurations} configurations)`).join(', ')}: --setting NAME or all\n`);
    }
    const holdout = holdoutOf(args.optStr('holdout'));
    if (holdout && !rows.some((r) => holdout({ model: r.model, family: r.family ?? '' }))) {
      const names = (f: (r: typeof rows[number]) => string) => [...new Set(rows.map(f))].join(', ');
      throw new UsageError(`--holdout ${args.str('holdout')} matches no configuration: models ${names((r) => r.model)}; families (family:NAME) ${names((r) => r.family ?? '')}`);
    }
    if (law === 'seed2024') {
      printJson({ law: 'seed2024', setting, settings, fits: olderLawFits(rows, levels) });
      return;
    }
    const fitOpts = { levels, formulas: args.flag('ablations') ? undefined : [FULL], holdout, bootstrap: args.has('bootstrap') ? args.int('bootstrap', undefined, 0) : undefined };
    const { fits, errors } = fitAll(rows, fitOpts);
    const apart = apartRows.length ? { bits: APART_BITS.join(','), ...fitAll(apartRows, { ...fitOpts, formulas: [FULL] }) } : undefined;
    const found = findings(fits, published ?? 'qwen3');
    const at = args.optStr('predict') === undefined ? null : parsePredict(args.str('predict'));
    const prediction = at && fits.filter((f) => f.formula === FULL).map((f) => ({ level: f.level, ...predictLawInterval(f, at), outside: outsideFit(f, at) }));
    if (args.flag('json')) {
      const report = fitReport({ setting, settings, bits, method, holdout: args.optStr('holdout'), fits, errors, published: published ? publishedErrors(rows, published) : undefined, findings: found, apart });
      printJson({ ...report, ...(at ? { at, prediction } : {}) });
    } else {
      process.stdout.write(`main fit: ${bits === 'main' ? `${MAIN_BITS.join(', ')} bits (the study's; --bits all pools every width)` : `--bits ${bits}`}\n`);
      process.stdout.write(fitTable(fits) + '\n');
      if (found.some((f) => f.verdict !== 'not fitted')) {
        process.stdout.write(`the study's findings (${published ?? 'qwen3'} levels), in these results, by a test of the study's level against each other level (${found[0].inference === 'cluster' ? 'cluster-robust' : 'OLS'} errors):\n`);
        for (const f of found) {
          const v = (l: Level) => (f.yours[l] ? f.yours[l]!.est.toFixed(3) : '-');
          const d = f.differences.map((x) => `${f.studyLevel}-${x.other} ${x.est.toFixed(3)} ± ${x.se.toFixed(3)} p ${formatP(x.p)}`).join(', ');
          process.stdout.write(`  ${f.verdict.padEnd(15)} ${f.claim} (${f.coef}: study ${f.studyLevel}; KM ${v('KM')} KA ${v('KA')} KR ${v('KR')}${d ? `; ${d}` : ''})\n`);
        }
      }
      if (apart) {
        process.stdout.write(`\n${apart.bits}-bit configurations, fitted apart (the study: they collapse on small models):\n${apart.fits.length ? fitTable(apart.fits) : '  none could be fitted'}\n`);
        for (const e of apart.errors) process.stdout.write(`could not fit ${apart.bits}-bit ${e}\n`);
      }
      for (const e of errors) process.stdout.write(`could not fit ${e}\n`);
      if (at && prediction) {
        process.stdout.write(`predicted at N=${at.n_params} B=${at.bits} G=${at.group_size} C_b=${at.calib_size} (95% CI of the law's mean; PI of one new measurement):\n`);
        for (const p of prediction) {
          const range = p.outside.map((o) => `${FACTOR_NAME[o.factor]} ${o.lo}-${o.hi}`).join(', ');
          process.stdout.write(`  ${p.level.padEnd(7)} Acc_adj ${p.acc_adj.toFixed(4)}  CI [${p.ci[0].toFixed(4)}, ${p.ci[1].toFixed(4)}]  PI [${p.pi[0].toFixed(4)}, ${p.pi[1].toFixed(4)}]${range ? `  extrapolated: the fit saw ${range}` : ''}\n`);
        }
      }
      if (published) for (const p of publishedErrors(rows, published)) process.stdout.write(`published ${p.law}: MAE ${p.mae.toFixed(4)} on ${p.n} configurations\n`);
    }
  },
};

/** `N=8B,B=3,G=64,C=128` (C_b may be written C_b) to a configuration. */
function parsePredict(spec: string): { n_params: number; bits: number; group_size: number; calib_size: number } {
  const kv = new Map(spec.split(',').map((part) => part.split('=').map((x) => x.trim()) as [string, string]));
  const num = (key: string, alt?: string) => {
    const v = kv.get(key) ?? (alt ? kv.get(alt) : undefined);
    const n = v === undefined ? NaN : key === 'N' ? parseSize(v) : Number(v);
    if (!(n > 0)) throw new UsageError(`--predict ${spec}: give N=<size, e.g. 8B>,B=<bits>,G=<group size>,C=<calibration sequences>; ${key} is missing or not a positive number`);
    return n;
  };
  return { n_params: num('N'), bits: num('B'), group_size: num('G'), calib_size: num('C', 'C_b') };
}
