// Fit results in the shapes the CLI and the UI show: the JSON of `quantlab fit --json`, and a text table.
import { BIT_WIDTHS } from '../model/config';
import { aggregate, FIT_LEVELS, LEVELS, type FitLevel, type FitRow, type LawFit, MIN_CLUSTERS, type Point, runKey, significant, verdictCoef } from './law';
import { formatP } from './ols';
import { fitOlderLaw } from './nls';
import type { Finding } from './findings';
import { predictPublished, type PublishedFamily, publishedFor } from './published';
import { configId, type ResultRow, settingOf } from '../sweep/results';

/**
 * Configurations of one model, method, B and C_b (and setting, seed) that differ only in G and gave identical
 * results on everything measured, perplexity included, are one quantization counted twice: a group at least as
 * wide as every weight row quantizes the same, whatever its size (G = 128 and G = 1024 on a model 64 wide). Each
 * such set keeps its smallest G, with the others in `same_as_groups`. Without a perplexity row to compare, a
 * configuration is never merged: equal accuracies alone can be chance.
 */
export function mergeIdentical(rows: ResultRow[]): { rows: ResultRow[]; merged: { kept: ResultRow; same_as_groups: number[] }[] } {
  // configurations by their identity (every setting that changes a result); withoutG: the same with G left out
  const withoutG = (r: ResultRow) => configId({ ...r, group_size: 0 });
  const configs = new Map<string, ResultRow[]>();
  for (const r of rows) (configs.get(configId(r)) ?? configs.set(configId(r), []).get(configId(r))!).push(r);
  const bySignature = new Map<string, ResultRow[][]>();
  for (const rs of configs.values()) {
    if (rs[0].method === 'fp' || !rs.some((r) => r.perplexity !== null)) continue;
    const sig = rs.map((r) => `${r.task}:${r.acc}:${r.perplexity}:${r.items}`).sort().join(';');
    const key = `${withoutG(rs[0])}#${sig}`;
    (bySignature.get(key) ?? bySignature.set(key, []).get(key)!).push(rs);
  }
  const drop = new Set<ResultRow>();
  const same = new Map<ResultRow, number[]>();
  const merged: { kept: ResultRow; same_as_groups: number[] }[] = [];
  for (const group of bySignature.values()) {
    if (group.length < 2) continue;
    group.sort((a, b) => a[0].group_size - b[0].group_size);
    const others = group.slice(1).map((rs) => rs[0].group_size);
    for (const r of group[0]) same.set(r, others);
    for (const rs of group.slice(1)) for (const r of rs) drop.add(r);
    merged.push({ kept: group[0][0], same_as_groups: others });
  }
  return { rows: rows.filter((r) => !drop.has(r)).map((r) => (same.has(r) ? { ...r, same_as_groups: same.get(r) } : r)), merged };
}

/** Result rows the law can use: quantized, with an accuracy at a knowledge level; identical configurations merged. */
export function fitRows(rows: ResultRow[], method = 'gptq'): FitRow[] {
  return mergeIdentical(rows).rows
    .filter((r) => r.method === method && (LEVELS as string[]).includes(r.level) && r.acc !== null && r.acc_chance !== null)
    .map((r) => ({ ...r, level: r.level as FitRow['level'], acc: r.acc!, acc_chance: r.acc_chance!, setting: settingOf(r) }));
}

/** A parameter count as people write it: 8B, 600M, 74K, 1.5e9, 2361600 (NaN if it is none). */
export function parseSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d*)?(?:e\d+)?)\s*([kmb]?)\s*$/i.exec(s);
  if (!m) return NaN;
  return Number(m[1]) * ({ '': 1, k: 1e3, m: 1e6, b: 1e9 } as Record<string, number>)[m[2].toLowerCase()];
}

/** The study's main fit pools these bit-widths; the others (2 bits, which collapse below ~4B parameters) are fitted apart. */
export const MAIN_BITS = BIT_WIDTHS.filter((b) => b >= 3);
export const APART_BITS = BIT_WIDTHS.filter((b) => !MAIN_BITS.includes(b));

/**
 * The bit-widths a fit takes: 'main' (the study's main fit: MAIN_BITS), 'all', or a comma list ('3', '3,4,8');
 * its surface figure is a 3-bit-only fit.
 */
export function rowsOfBits<T extends { bits: number }>(rows: T[], spec = 'main'): T[] {
  if (spec === 'all') return rows;
  const bits = spec === 'main' ? MAIN_BITS : spec.split(',').map(Number);
  if (!bits.length || bits.some((b) => !BIT_WIDTHS.includes(b))) throw new Error(`bits "${spec}": give main (${MAIN_BITS.join(',')}, the study's main fit), all, or a comma list of ${BIT_WIDTHS.join(', ')}`);
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

/** The settings in these rows (src/sweep/results.ts settingOf) with their configuration counts, most configurations first. */
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
  apart?: { bits: string; fits: LawFit[]; errors: string[] };
}) {
  return {
    law: 'seed2025', method: r.method, setting: r.setting, settings: r.settings, bits: r.bits, holdout: r.holdout ?? null,
    inference: inferenceLine(r.fits), fits: r.fits.map(fitJson), errors: r.errors, published: r.published, findings: r.findings,
    ...(r.apart ? { apart: { bits: r.apart.bits, fits: r.apart.fits.map(fitJson), errors: r.apart.errors } } : {}),
  };
}

/** The line that says which errors the verdicts (significance marks, findings) use. */
export function inferenceLine(fits: LawFit[]): string {
  if (!fits.length) return '';
  const robust = fits.filter((f) => f.inference === 'cluster');
  const models = Math.max(...fits.map((f) => f.clusters));
  if (robust.length === fits.length) return `Verdicts use cluster-robust standard errors (clustered by model, ${models} models, CR1, t with G - 1 dof); OLS errors and a cluster bootstrap (models resampled) are shown beside them.`;
  if (!robust.length) return `Verdicts use OLS standard errors: ${models} model${models > 1 ? 's are' : ' is'} too few clusters for cluster-robust errors (${MIN_CLUSTERS} needed). OLS treats every configuration as an independent measurement, which configurations of one model are not: read significance with care.`;
  return `Verdicts use cluster-robust standard errors where a fit has at least ${MIN_CLUSTERS} models, OLS errors elsewhere (see each fit's notes).`;
}

export function fitJson(f: LawFit) {
  const pick = (c: { est: number; se: number; t: number; p: number; ci: [number, number] }) => ({ est: c.est, se: c.se, t: c.t, p: c.p, ci: c.ci });
  const coef: Record<string, unknown> = {}, robust: Record<string, unknown> = {}, bootstrap: Record<string, unknown> = {};
  for (const [k, c] of Object.entries(f.coef)) if (k !== 'lnA' && c) coef[k] = pick(c);
  for (const [k, c] of Object.entries(f.robust ?? {})) if (k !== 'lnA' && c) robust[k] = pick(c);
  for (const [k, c] of Object.entries(f.bootstrap ?? {})) if (k !== 'lnA' && c) bootstrap[k] = c;
  return {
    level: f.level, formula: f.formula, factors: f.factors, n: f.n, n_dropped: f.n_dropped, A: f.A, lnA: f.coef.lnA, coef,
    clusters: f.clusters, inference: f.inference, robust: f.robust ? robust : null, bootstrap: f.bootstrap ? bootstrap : null, bootstrap_draws: f.bootstrapDraws,
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
  const ci = (c: { ci: [number, number] }) => `[${fmt(c.ci[0], 4)}, ${fmt(c.ci[1], 4)}]`;
  for (const f of fits) {
    lines.push(`${f.level.padEnd(7)} ${f.formula.padEnd(13)} n=${f.n} (dropped ${f.n_dropped}) over ${f.clusters} model${f.clusters > 1 ? 's' : ''}  A=${fmt(f.A)}  adjR2 log ${fmt(f.adj_r2_log, 4)} orig ${fmt(f.adj_r2_orig, 4)}  MAE fit ${fmt(f.mae_fit, 4)}${f.mae_holdout !== null ? ` held-out ${fmt(f.mae_holdout, 4)} (n=${f.n_holdout})` : ''}`);
    for (const [k, c] of Object.entries(f.coef)) {
      if (k === 'lnA' || !c) continue;
      const name = k as keyof LawFit['coef'];
      const sig = significant(verdictCoef(f, name)) ? '*' : ' ';
      lines.push(`          ${k.padEnd(6)} ${fmt(c.est, 4).padStart(8)} ${sig} OLS ± ${fmt(c.se, 4)} p ${formatP(c.p)} CI ${ci(c)}`);
      const r = f.robust?.[name], b = f.bootstrap?.[name];
      if (r) lines.push(`                            cluster ± ${fmt(r.se, 4)} p ${formatP(r.p)} CI ${ci(r)}${b ? `   bootstrap ± ${fmt(b.se, 4)} CI ${ci(b)}` : ''}`);
    }
    for (const n of f.notes) lines.push(`          note: ${n}`);
  }
  lines.push(`(* = the 95% CI the verdicts use excludes zero) ${inferenceLine(fits)}`);
  return lines.join('\n');
}
