// Fit results in the shapes the CLI and the UI show: the JSON of `quantlab fit --json`, and a text table.
import { BIT_WIDTHS } from '../model/config';
import { aggregate, FIT_LEVELS, type FitLevel, type FitRow, type LawFit, type Point, runKey } from './law';
import { fitOlderLaw } from './nls';
import type { Finding } from './findings';
import { predictPublished, type PublishedFamily, publishedFor } from './published';
import { type ResultRow, settingOf } from '../sweep/results';

/** Result rows the law can use: quantized, with an accuracy at a knowledge level. */
export function fitRows(rows: ResultRow[], method = 'gptq'): FitRow[] {
  return rows
    .filter((r) => r.method === method && ['KM', 'KA', 'KR'].includes(r.level) && r.acc !== null && r.acc_chance !== null)
    .map((r) => ({ ...r, level: r.level as FitRow['level'], acc: r.acc!, acc_chance: r.acc_chance!, setting: settingOf(r) }));
}

/** A parameter count as people write it: 8B, 600M, 74K, 1.5e9, 2361600 (NaN if it is none). */
export function parseSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d*)?(?:e\d+)?)\s*([kmb]?)\s*$/i.exec(s);
  if (!m) return NaN;
  return Number(m[1]) * ({ '': 1, k: 1e3, m: 1e6, b: 1e9 } as Record<string, number>)[m[2].toLowerCase()];
}

/**
 * The bit-widths a fit takes: 'all', or a comma list ('3', '3,4,8'). The study fits 3, 4 and 8 bits together
 * and 2 bits apart (2-bit configurations collapse below ~4B parameters); its surface figure is a 3-bit-only fit.
 */
export function rowsOfBits<T extends { bits: number }>(rows: T[], spec = 'all'): T[] {
  if (spec === 'all') return rows;
  const bits = spec.split(',').map(Number);
  if (!bits.length || bits.some((b) => !BIT_WIDTHS.includes(b))) throw new Error(`bits "${spec}": give all or a comma list of ${BIT_WIDTHS.join(', ')}`);
  return rows.filter((r) => bits.includes(r.bits));
}

/**
 * The configurations a fit holds out and scores (the study: its largest model, "validation", or another
 * family, "generalisation"): `family:NAME` for a family, else a model by name (or its last path part).
 */
export function holdoutOf(spec: string | undefined): ((p: Pick<Point, 'model' | 'family'>) => boolean) | undefined {
  if (!spec) return undefined;
  if (spec.startsWith('family:')) {
    const family = spec.slice('family:'.length);
    return (p) => p.family === family;
  }
  return (p) => p.model === spec || p.model.endsWith(`/${spec}`);
}

/** The settings in these rows (results.ts settingOf) with their configuration counts, most configurations first. */
export function settingsIn(rows: FitRow[]): { setting: string; configurations: number }[] {
  const configs = new Map<string, Set<string>>();
  for (const r of rows) {
    const s = r.setting ?? '';
    (configs.get(s) ?? configs.set(s, new Set()).get(s)!).add(runKey(r));
  }
  return [...configs].map(([setting, c]) => ({ setting, configurations: c.size })).sort((a, b) => b.configurations - a.configurations || a.setting.localeCompare(b.setting));
}

/**
 * The rows of one setting, as the study fits one: `setting` by name, 'all' for every setting pooled, or
 * (undefined) the setting with the most configurations. Unknown names are an error listing the ones present.
 */
export function rowsOfSetting(rows: FitRow[], setting?: string): { rows: FitRow[]; setting: string; settings: { setting: string; configurations: number }[] } {
  const settings = settingsIn(rows);
  const chosen = setting ?? settings[0]?.setting ?? 'all';
  if (chosen === 'all') return { rows, setting: chosen, settings };
  if (!settings.some((s) => s.setting === chosen)) {
    throw new Error(`no results in the setting "${chosen}"; the results hold: ${settings.map((s) => `"${s.setting}" (${s.configurations} configurations)`).join(', ')}, or "all"`);
  }
  return { rows: rows.filter((r) => (r.setting ?? '') === chosen), setting: chosen, settings };
}

/**
 * What `quantlab fit --json` prints and the Fit tab saves: the fits (fitJson each) with the choices that made
 * them, the published law's errors on the same configurations, and the study's findings.
 */
export function fitReport(r: {
  setting: string; settings: { setting: string; configurations: number }[]; bits: string; method: string; holdout?: string;
  fits: LawFit[]; errors: string[]; published?: ReturnType<typeof publishedErrors>; findings: Finding[];
}) {
  return { law: 'seed2025', method: r.method, setting: r.setting, settings: r.settings, bits: r.bits, holdout: r.holdout ?? null, fits: r.fits.map(fitJson), errors: r.errors, published: r.published, findings: r.findings };
}

export function fitJson(f: LawFit) {
  const coef: Record<string, unknown> = {};
  for (const [k, c] of Object.entries(f.coef)) if (k !== 'lnA' && c) coef[k] = { est: c.est, se: c.se, t: c.t, p: c.p, ci: c.ci };
  return {
    level: f.level, formula: f.formula, factors: f.factors, n: f.n, n_dropped: f.n_dropped, A: f.A, lnA: f.coef.lnA, coef,
    r2_log: f.r2_log, adj_r2_log: f.adj_r2_log, adj_r2_orig: f.adj_r2_orig, mae_fit: f.mae_fit, mae_holdout: f.mae_holdout,
    n_holdout: f.n_holdout, notes: f.notes,
  };
}

/** The published law of each family at each level, scored on the user's configurations. */
export function publishedErrors(rows: FitRow[], family: PublishedFamily) {
  return FIT_LEVELS.flatMap((level) => {
    const law = publishedFor(family, level, [...new Set(rows.map((r) => r.bits))]);
    const pts = aggregate(rows, level);
    if (!law || !pts.length) return [];
    const errs = pts.map((p) => Math.abs(p.acc_adj - predictPublished(law, p)));
    return [{ law: law.id, level, n: pts.length, mae: errs.reduce((a, b) => a + b, 0) / errs.length }];
  });
}

export function olderLawFits(rows: FitRow[], levels: FitLevel[]): ({ level: FitLevel; error?: string } & Partial<ReturnType<typeof fitOlderLaw>>)[] {
  return levels.flatMap((level): ({ level: FitLevel; error?: string } & Partial<ReturnType<typeof fitOlderLaw>>)[] => {
    const pts = aggregate(rows, level);
    if (pts.length < 7) return [];
    try {
      return [{ level, ...fitOlderLaw(pts) }];
    } catch (e) {
      return [{ level, error: (e as Error).message }];
    }
  });
}

const fmt = (x: number | null | undefined, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(2) : x.toFixed(d));

export function fitTable(fits: LawFit[]): string {
  const lines: string[] = [];
  for (const f of fits) {
    lines.push(`${f.level.padEnd(7)} ${f.formula.padEnd(13)} n=${f.n} (dropped ${f.n_dropped})  A=${fmt(f.A)}  adjR2 log ${fmt(f.adj_r2_log, 4)} orig ${fmt(f.adj_r2_orig, 4)}  MAE fit ${fmt(f.mae_fit, 4)}${f.mae_holdout !== null ? ` held-out ${fmt(f.mae_holdout, 4)} (n=${f.n_holdout})` : ''}`);
    for (const [k, c] of Object.entries(f.coef)) {
      if (k === 'lnA' || !c) continue;
      const sig = c.ci[0] > 0 || c.ci[1] < 0 ? '*' : ' ';
      lines.push(`          ${k.padEnd(6)} ${fmt(c.est, 4).padStart(8)} ± ${fmt(c.se, 4)}  t=${fmt(c.t, 2).padStart(7)}  p=${fmt(c.p, 4)}  95% CI [${fmt(c.ci[0], 4)}, ${fmt(c.ci[1], 4)}] ${sig}`);
    }
    for (const n of f.notes) lines.push(`          note: ${n}`);
  }
  lines.push('(* = the 95% CI excludes zero)');
  return lines.join('\n');
}
