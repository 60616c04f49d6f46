import { useEffect, useMemo, useRef, useState } from 'react';
import { BIT_WIDTHS } from '../../model/config';
import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Scatter, ScatterChart, Tooltip, XAxis, YAxis, ZAxis } from 'recharts';
import { aggregate, FACTOR_NAME, FIT_LEVELS, LEVELS, type FitLevel, fitAll, FORMULAS, FULL, type LawFit, outsideFit, type Point, predictLaw, predictLawInterval, runKey, significant, verdictCoef } from '../../fit/law';
import { formatP } from '../../fit/ols';
import { effectiveBits } from '../../fit/nls';
import { PUBLISHED, PUBLISHED_ABLATIONS, predictPublished, type PublishedFamily, publishedFor } from '../../fit/published';
import { findings } from '../../fit/findings';
import { saveFile } from '../browser';
import { APART_BITS, fitReport, fitRows, holdoutOf, inferenceLine, MAIN_BITS, olderLawFits, parseSize, publishedErrors, rowsOfBits, rowsOfSetting } from '../../fit/report';
import { ChartActions, type PointTrace, Surface3D, type SurfaceTrace } from '../charts';
import { useLab } from '../lab';
import { columnFormat, fmt, fmtN, Select } from '../widgets';

const BIT_COLORS: Record<number, string> = { 2: '#c53030', 3: '#d35400', 4: '#2f6fdb', 8: '#1f8a4c' };
const COEFS = ['alpha', 'beta', 'gamma', 'delta'] as const;
const FACTOR_OF = { alpha: 'N', beta: 'B', gamma: 'C', delta: 'G' } as const;
const SYMBOL = { alpha: 'α (N)', beta: 'β (B)', gamma: 'γ (C_b)', delta: 'δ (G)' } as const;
/** fitAll's errors ("KM f(N,B,C_b): ..."), the same reason said once for every level and formula it stopped. */
function groupErrors(errors: string[]): string {
  const by = new Map<string, { levels: Set<string>; formulas: Set<string> }>();
  for (const e of errors) {
    const m = /^(\S+) (\S+): (.*)$/.exec(e);
    if (!m) {
      by.set(e, { levels: new Set(), formulas: new Set() });
      continue;
    }
    const why = m[3].replace(/ at level [^:]+/, '');
    const g = by.get(why) ?? by.set(why, { levels: new Set(), formulas: new Set() }).get(why)!;
    g.levels.add(m[1]);
    g.formulas.add(m[2]);
  }
  return [...by].map(([why, g]) => (g.levels.size ? `${[...g.formulas].join(', ')} at ${[...g.levels].join(', ')}: ${why}` : why)).join('; ');
}

/** `n` values evenly from the least to the largest of `xs` (half a unit either side of a single value). */
function span(xs: number[], n: number): number[] {
  const v = xs.filter(Number.isFinite);
  let lo = Math.min(...v), hi = Math.max(...v);
  if (!(hi > lo)) (lo -= 0.5), (hi += 0.5);
  return Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}

/** Axis ticks of an accuracy chart, two decimals on every tick (not 0.34 beside 0.255). */
const tick = (v: number) => v.toFixed(2);

/** Recomputes the fits at most every 400 ms while results stream in. */
function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

/**
 * A chart control's value among `values`: the user's pick while the data hold it, else `preferred` if present,
 * else `fallback` (default: the first value). Defaults follow the data as results stream in or are imported.
 */
function usePick<T>(values: T[], preferred: T, fallback: T = values[0]): [T, (v: T) => void] {
  const [pick, setPick] = useState<T | null>(null);
  return [pick !== null && values.includes(pick) ? pick : values.includes(preferred) ? preferred : fallback, setPick];
}

function expsOf(f: LawFit): Partial<Record<'N' | 'B' | 'C' | 'G', number>> {
  const e: Partial<Record<'N' | 'B' | 'C' | 'G', number>> = {};
  for (const c of COEFS) if (f.coef[c]) e[FACTOR_OF[c]] = f.coef[c]!.est;
  return e;
}

export function FitPanel({ active }: { active: boolean }) {
  const { results } = useLab();
  const rows = useDebounced(results, 400);
  const [level, setLevel] = useState<FitLevel>('General');
  const [family, setFamily] = useState<PublishedFamily>('qwen3');
  const [holdout, setHoldout] = useState('');
  const [setting, setSetting] = useState(''); // '' = the setting with the most configurations
  const [bitsSpec, setBitsSpec] = useState('main');
  const [method, setMethod] = useState<'gptq' | 'rtn'>('gptq');
  const hasRtn = useMemo(() => rows.some((r) => r.method === 'rtn'), [rows]);
  const hasGptq = useMemo(() => rows.some((r) => r.method === 'gptq'), [rows]);
  const fitMethod = hasRtn && (method === 'rtn' || !hasGptq) ? 'rtn' : 'gptq';
  const { rows: ofSetting, settings, setting: settingChosen } = useMemo(() => {
    const all = fitRows(rows, fitMethod);
    try {
      return rowsOfSetting(all, setting || undefined);
    } catch {
      return rowsOfSetting(all); // the chosen setting's rows were cleared
    }
  }, [rows, setting, fitMethod]);
  const bitsPresent = useMemo(() => [...new Set(ofSetting.map((r) => r.bits))].sort((a, b) => a - b), [ofSetting]);
  const hasMain = bitsPresent.some((b) => MAIN_BITS.includes(b));
  const bitsOptions = [
    ...(hasMain ? [{ value: 'main', label: `${MAIN_BITS.join(', ')} (the study's main fit; ${APART_BITS.join(', ')}-bit apart)` }] : []),
    { value: 'all', label: 'all pooled' },
    ...(bitsPresent.length > 1 ? bitsPresent.map((b) => ({ value: String(b), label: b === 3 ? '3 only (the surface figure)' : APART_BITS.includes(b) ? `${b} only (fitted apart)` : `${b} only` })) : []),
  ];
  const bitsChosen = bitsOptions.some((o) => o.value === bitsSpec) ? bitsSpec : bitsOptions[0].value; // the default once the data lack the pick
  const fr = useMemo(() => rowsOfBits(ofSetting, bitsChosen), [ofSetting, bitsChosen]);
  const apartRows = useMemo(() => (bitsChosen === 'main' ? ofSetting.filter((r) => APART_BITS.includes(r.bits)) : []), [ofSetting, bitsChosen]);
  const apart = useMemo(() => (apartRows.length ? { bits: APART_BITS.join(','), ...fitAll(apartRows, { formulas: [FULL] }) } : undefined), [apartRows]);
  const frBits = useMemo(() => [...new Set(fr.map((r) => r.bits))], [fr]);
  const families = useMemo(() => [...new Set(fr.map((r) => r.family ?? ''))].filter(Boolean).sort(), [fr]);
  const models = useMemo(() => [...new Set(fr.map((r) => r.model))].sort((a, b) => fr.find((r) => r.model === a)!.n_params - fr.find((r) => r.model === b)!.n_params), [fr]);
  const { fits, errors } = useMemo(() => fitAll(fr, { holdout: holdoutOf(holdout) }), [fr, holdout]);
  const full = fits.find((f) => f.level === level && f.formula === FULL);
  const points = useMemo(() => aggregate(fr, level), [fr, level]);
  const older = useMemo(() => olderLawFits(fr, [level])[0], [fr, level]);
  const published = useMemo(() => publishedErrors(fr, family), [fr, family]);

  if (!fr.length) {
    return (
      <section className="card empty" data-testid="fit-empty">
        <h2>Fit</h2>
        <p>No quantized results yet. Run a sweep (Sweep tab), or import results there: the fit of −ln(Acc_adj) = A·N^α·(log₂B)^β·(log₂C_b)^γ·G^δ updates live as configurations finish.</p>
        <CostCalculator fit={null} />
      </section>
    );
  }
  return (
    <div className="grid two">
      <section className="card wide">
        <div className="controls">
          <Select label="Level" title="General (the mean of the three levels), or memorisation (KM), application (KA), reasoning (KR)" value={level} testId="fit-level"
            options={FIT_LEVELS.map((l) => ({ value: l, label: l }))} onChange={setLevel} />
          <Select label="Held out" testId="fit-holdout" title="Fit without this model or family and score the law on it (the study holds out its largest model, validation, and another family, generalisation)" value={holdout}
            options={[{ value: '', label: 'none' }, ...models.map((m) => ({ value: m, label: m })), ...(families.length > 1 ? families.map((f) => ({ value: `family:${f}`, label: `family ${f} (${new Set(fr.filter((r) => r.family === f).map((r) => r.model)).size} models)` })) : [])]} onChange={setHoldout} />
          {hasRtn && hasGptq && (
            <Select label="Method" testId="fit-method" title="Fit the law to the GPTQ configurations (the study) or to the round-to-nearest ones, to compare" value={fitMethod}
              options={[{ value: 'gptq', label: 'GPTQ' }, { value: 'rtn', label: 'RTN' }]} onChange={setMethod} />
          )}
          {bitsOptions.length > 1 && (
            <Select label="Bits" testId="fit-bits" title="Which bit-widths the law is fitted to: the study fits 3, 4 and 8 bits together and 2 bits apart (2-bit configurations collapse below ~4B parameters); its surface figure is a 3-bit-only fit"
              value={bitsChosen} options={bitsOptions} onChange={setBitsSpec} />
          )}
          {settings.length > 1 && (
            <Select label="Setting" testId="fit-setting" title="Configurations run with other zeros, act-order, Hessians, calibration length, dampening, static groups, calibration text or a quantized LM head are another experiment: the law is fitted to one setting at a time, as in the study, or to all pooled"
              value={setting} options={[{ value: '', label: `${settings[0].setting} (${settings[0].configurations}, most)` }, ...settings.slice(1).map((x) => ({ value: x.setting, label: `${x.setting} (${x.configurations})` })), { value: 'all', label: 'all settings pooled' }]} onChange={setSetting} />
          )}
          <Select label="Published law" title="Compare with the study's coefficients for this family" value={family}
            options={[{ value: 'qwen3', label: 'Qwen3 (245 configurations)' }, { value: 'llama3', label: 'Llama-3 (42 configurations)' }]} onChange={setFamily} />
        </div>
        <button className="ghost small" data-testid="save-fit" title="The fits, the choices above, the published law's errors and the findings, as quantlab fit --json --ablations prints them"
          onClick={() => saveFile(`fit-${fitMethod}-${bitsChosen}.json`, JSON.stringify(fitReport({ setting: settingChosen, settings, bits: bitsChosen, method: fitMethod, holdout: holdout || undefined, fits, errors, published, findings: findings(fits, family), apart }), null, 1), 'application/json')}>Save fit (JSON)</button>
        <p className="muted small">{fr.length} task rows of {new Set(fr.map(runKey)).size} {fitMethod === 'gptq' ? 'GPTQ' : 'RTN'} configurations over {models.length} model{models.length > 1 ? 's' : ''}. {errors.length ? `Not fitted: ${groupErrors(errors)}.` : ''}</p>
        {models.length === 1 && (
          <p className="note" data-testid="fit-one-model">
            N does not vary: every configuration is of one model ({models[0]}), so the law is fitted over B, C_b and G only and α (N) stays empty. Sweep several bundled
            models (Sweep tab, Models), or import the example sweep of the whole family, to fit how accuracy scales with N.
          </p>
        )}
        <p className="small" data-testid="fit-inference">{inferenceLine(fits)}</p>
      </section>
      <AblationTable fits={fits.filter((f) => f.level === level)} level={level} />
      <LevelTable fits={fits.filter((f) => f.formula === FULL)} family={family} bits={frBits} published={published} older={older} />
      <Findings fits={fits} family={family} />
      {apart && apart.fits.length > 0 && <LevelTable fits={apart.fits} family={family} bits={APART_BITS} published={[]} title={`${apart.bits}-bit, fitted apart (the study: they collapse on small models; it publishes no law for them)`} testId="fit-apart" compare={false} />}
      {/* the two scatter charts and the calculator share a row that they fill, whatever the width */}
      <div className="grid fill wide" data-testid="fit-charts">
        {full && active && <PredictedVsActual fit={full} />}
        {full && active && <Residuals fit={full} />}
        <CostCalculator fit={full ?? null} />
      </div>
      {full && active && <Trends fit={full} points={points} />}
      {full && active && <Surfaces fit={full} points={points} level={level} family={family} bits={frBits} />}
    </div>
  );
}

type Fmt = (x: number | null | undefined) => string;

function AblationTable({ fits, level }: { fits: LawFit[]; level: FitLevel }) {
  const pubs = Object.keys(FORMULAS).map((formula) => (level === 'General' ? PUBLISHED_ABLATIONS[formula] : undefined)).filter((p) => p !== undefined);
  const col = {
    A: columnFormat([...fits.map((f) => f.A), ...pubs.map((p) => p.A)]),
    ...Object.fromEntries(COEFS.map((c) => [c, columnFormat([...fits.flatMap((f) => [f.coef[c]?.est, f.coef[c]?.se]), ...pubs.map((p) => p[c])])])) as Record<(typeof COEFS)[number], Fmt>,
    log: columnFormat([...fits.map((f) => f.adj_r2_log), ...pubs.map((p) => p.adjR2Log)], 4),
    orig: columnFormat([...fits.map((f) => f.adj_r2_orig), ...pubs.map((p) => p.adjR2Orig)], 4),
    mae: columnFormat(fits.map((f) => f.mae_fit), 4),
  };
  return (
    <section className="card wide" data-testid="ablation-table">
      <h2>Ablations ({level})</h2>
      <div className="hscroll">
      <table className="small">
        <thead><tr><th>formula</th><th className="num">n</th><th className="num">A</th>{COEFS.map((c) => <th key={c} className="num">{SYMBOL[c]}</th>)}<th className="num">adj R² log</th><th className="num">adj R² orig</th><th className="num">MAE</th></tr></thead>
        <tbody>
          {Object.keys(FORMULAS).map((formula) => {
            const f = fits.find((x) => x.formula === formula);
            const pub = level === 'General' ? PUBLISHED_ABLATIONS[formula] : undefined;
            return [
              <tr key={formula} title={f?.notes.join('; ')}>
                <td>{formula}</td>
                {f ? (
                  <>
                    <td className="num">{f.n}{f.n_dropped ? ` (−${f.n_dropped})` : ''}</td>
                    <td className="num">{col.A(f.A)}</td>
                    {COEFS.map((c) => <td key={c} className="num">{f.coef[c] ? <Coef fit={f} name={c} f={col[c]} /> : '–'}</td>)}
                    <td className="num">{col.log(f.adj_r2_log)}</td><td className="num">{col.orig(f.adj_r2_orig)}</td><td className="num">{col.mae(f.mae_fit)}</td>
                  </>
                ) : <td colSpan={9} className="muted">not enough data</td>}
              </tr>,
              pub && (
                <tr key={`${formula}-pub`} className="muted">
                  <td>↳ published</td><td /><td className="num">{col.A(pub.A)}</td>
                  {COEFS.map((c) => <td key={c} className="num">{col[c](pub[c] ?? null)}</td>)}
                  <td className="num">{col.log(pub.adjR2Log)}</td><td className="num">{col.orig(pub.adjR2Orig)}</td><td />
                </tr>
              ),
            ];
          })}
        </tbody>
      </table>
      </div>
      <p className="muted small">± is the standard error the verdicts use; ★ marks an exponent whose 95% CI excludes zero by it. Hover a value for its OLS, cluster-robust (by model) and cluster-bootstrap errors, p and CIs.</p>
    </section>
  );
}

/** An exponent with the errors the verdicts use, and every kind of error in its tooltip. */
function Coef({ fit, name, f = fmt }: { fit: LawFit; name: (typeof COEFS)[number]; f?: Fmt }) {
  const c = fit.coef[name]!, r = fit.robust?.[name], b = fit.bootstrap?.[name], v = verdictCoef(fit, name);
  const ci = (x: { ci: [number, number] }) => `[${fmt(x.ci[0], 4)}, ${fmt(x.ci[1], 4)}]`;
  const title = [
    `OLS: SE ${fmt(c.se, 4)}, t ${fmt(c.t, 2)}, p ${formatP(c.p)}, 95% CI ${ci(c)}`,
    r ? `cluster-robust (${fit.clusters} models): SE ${fmt(r.se, 4)}, p ${formatP(r.p)}, 95% CI ${ci(r)}` : 'cluster-robust: needs 2 models',
    b ? `cluster bootstrap (${fit.bootstrapDraws} draws): SE ${fmt(b.se, 4)}, 95% CI ${ci(b)}` : 'cluster bootstrap: needs 3 models',
    `verdicts use: ${fit.inference === 'cluster' ? 'cluster-robust' : 'OLS'}`,
  ].join('\n');
  return (
    <span title={title}>
      {f(c.est)}<span className="muted"> ±{f(v?.se ?? c.se)}</span>{significant(v) && <span className="sig"> ★</span>}
    </span>
  );
}

const VERDICT_CHIP = { consistent: 'ok', 'not significant': 'warn', contradicted: 'bad', 'not fitted': '' } as const;

/** The study's cross-level findings (fit/findings.ts), checked on the user's per-level fits. */
function Findings({ fits, family }: { fits: LawFit[]; family: PublishedFamily }) {
  const rows = findings(fits, family);
  const label = family === 'qwen3' ? 'Qwen3' : 'Llama-3';
  const levels = LEVELS;
  const col = {
    published: columnFormat(rows.flatMap((f) => levels.map((l) => f.published[l]))),
    yours: columnFormat(rows.flatMap((f) => levels.map((l) => f.yours[l]?.est))),
    diff: columnFormat(rows.flatMap((f) => f.differences.flatMap((d) => [d.est, ...d.ci]))),
  };
  return (
    <section className="card wide" data-testid="findings">
      <h2>The study's findings, in your data</h2>
      <div className="hscroll">
      <table className="small">
        <thead><tr><th>finding</th><th>coefficient</th><th>{label} (published): KM / KA / KR</th><th>yours: KM / KA / KR</th><th>the study's level minus the others (95% CI)</th><th /></tr></thead>
        <tbody>
          {rows.map((f) => (
            <tr key={f.claim}>
              <td>{f.claim}</td>
              <td>{SYMBOL[f.coef]}</td>
              <td>{levels.map((l, i) => <span key={l}>{i ? ' / ' : ''}<span className={l === f.studyLevel ? `level-${l} strong` : ''}>{col.published(f.published[l])}</span></span>)}</td>
              <td>{levels.map((l, i) => <span key={l}>{i ? ' / ' : ''}<span className={l === f.yourLevel ? `level-${l} strong` : ''} title={f.yours[l] ? `95% CI [${fmt(f.yours[l]!.ci[0])}, ${fmt(f.yours[l]!.ci[1])}]` : undefined}>{f.yours[l] ? col.yours(f.yours[l]!.est) : '–'}</span></span>)}</td>
              <td>{f.differences.map((d, i) => <span key={d.other}>{i ? '; ' : ''}{f.studyLevel}−{d.other} {col.diff(d.est)} [{col.diff(d.ci[0])}, {col.diff(d.ci[1])}]</span>)}</td>
              <td><span className={`chip ${VERDICT_CHIP[f.verdict]}`} title={f.differences.map((d) => `${f.studyLevel} − ${d.other}: p ${formatP(d.p)}`).join('; ')}>{f.verdict}</span></td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      <p className="muted small">Coloured: the level where the coefficient is largest in the law's direction (more N, B, C_b help; larger G hurts), in the published {label} fit and in yours. The verdict tests the difference between the study's level and each other level ({rows[0]?.inference === 'cluster' ? 'cluster-robust errors, with the levels\' covariance: their configurations are the same models\'' : 'OLS errors, levels taken as independent: too few models for cluster-robust ones'}): consistent when the study's level is larger than both with 95% confidence, contradicted when another level is significantly larger, not significant otherwise. Small models that score near chance at a level cannot show its finding.</p>
    </section>
  );
}

function LevelTable({ fits, family, bits, published, older, title = 'Per level: your fit vs the study', testId = 'fit-table', compare = true }: { fits: LawFit[]; family: PublishedFamily; bits: number[]; published: { law: string; level: string; mae: number; n: number }[]; older?: { adj_r2?: number; error?: string }; title?: string; testId?: string; compare?: boolean }) {
  const pubs = compare ? FIT_LEVELS.map((l) => publishedFor(family, l, bits)).filter((p) => p !== undefined) : [];
  const col = {
    A: columnFormat([...fits.map((f) => f.A), ...pubs.map((p) => p.A)]),
    ...Object.fromEntries(COEFS.map((c) => [c, columnFormat([...fits.flatMap((f) => [f.coef[c]?.est, f.coef[c]?.se]), ...pubs.map((p) => p.exps[FACTOR_OF[c]])])])) as Record<(typeof COEFS)[number], Fmt>,
    orig: columnFormat([...fits.map((f) => f.adj_r2_orig), ...pubs.map((p) => p.adjR2Orig)], 4),
    mae: columnFormat([...fits.flatMap((f) => [f.mae_fit, f.mae_holdout]), ...published.map((p) => p.mae)], 4),
  };
  return (
    <section className="card wide" data-testid={testId}>
      <h2>{title}</h2>
      <div className="hscroll">
      <table className="small">
        <thead><tr><th>level</th><th>source</th><th className="num">A</th>{COEFS.map((c) => <th key={c} className="num">{SYMBOL[c]}</th>)}<th className="num">adj R² orig</th><th className="num">MAE</th></tr></thead>
        <tbody>
          {FIT_LEVELS.flatMap((level) => {
            const f = fits.find((x) => x.level === level);
            const pub = compare ? publishedFor(family, level, bits) : undefined;
            const perr = published.find((p) => p.level === level);
            return [
              <tr key={`${level}-fit`}>
                <th className={`level-${level}`}>{level}</th><td>your fit</td>
                {f ? (
                  <>
                    <td className="num">{col.A(f.A)}</td>
                    {COEFS.map((c) => <td key={c} className="num">{f.coef[c] ? <Coef fit={f} name={c} f={col[c]} /> : '–'}</td>)}
                    <td className="num">{col.orig(f.adj_r2_orig)}</td>
                    <td className="num">{col.mae(f.mae_fit)}{f.mae_holdout !== null ? <span className="muted" title="on the held-out configurations"> / {col.mae(f.mae_holdout)}</span> : null}</td>
                  </>
                ) : <td colSpan={7} className="muted">–</td>}
              </tr>,
              pub && (
                <tr key={`${level}-pub`} className="muted">
                  <td /><td>{pub.label}</td><td className="num">{col.A(pub.A)}</td>
                  {COEFS.map((c) => <td key={c} className="num">{col[c](pub.exps[FACTOR_OF[c]] ?? null)}</td>)}
                  <td className="num">{col.orig(pub.adjR2Orig ?? null)}</td>
                  <td className="num" title="the published law's error on your configurations">{perr ? col.mae(perr.mae) : '–'}</td>
                </tr>
              ),
            ];
          })}
        </tbody>
      </table>
      </div>
      {older && <p className="muted small">Older law P = k·N^α·(ln C_b)^β·G^γ·(ln B_eff)^δ by Levenberg–Marquardt on raw accuracy: {older.error ?? `adj R² ${fmt(older.adj_r2 ?? null, 4)}`}.</p>}
    </section>
  );
}

function PredictedVsActual({ fit }: { fit: LawFit }) {
  const ref = useRef<HTMLDivElement>(null);
  const row = (held: boolean) => (x: LawFit['points'][number]) => ({ actual: x.point.acc_adj, predicted: x.predicted, n: x.point.n_params, bits: x.point.bits, model: x.point.model, G: x.point.group_size, C: x.point.calib_size, held });
  const data = [...fit.points.map(row(false)), ...fit.holdoutPoints.map(row(true))];
  const bits = [...new Set(data.map((d) => d.bits))].sort();
  const top = Math.min(1, Math.ceil(Math.max(0.05, ...data.map((d) => Math.max(d.actual, d.predicted))) * 11) / 10);
  return (
    <section className="card" data-testid="scatter">
      <h2>Predicted vs actual Acc_adj ({fit.level}) <ChartActions target={ref} name={`predicted-vs-actual-${fit.level}`} data={() => data} /></h2>
      <div ref={ref} style={{ height: 300 }}>
        <ResponsiveContainer>
          <ScatterChart margin={{ top: 8, right: 16, bottom: 24, left: 8 }}>
            <CartesianGrid stroke="var(--line)" />
            <XAxis type="number" dataKey="actual" name="actual" domain={[0, top]} label={{ value: 'actual', position: 'bottom' }} stroke="var(--muted)" tickFormatter={tick} />
            <YAxis type="number" dataKey="predicted" name="predicted" domain={[0, top]} label={{ value: 'predicted', angle: -90, position: 'insideLeft' }} stroke="var(--muted)" tickFormatter={tick} />
            <ZAxis type="number" dataKey="n" range={[20, 160]} name="N" />
            <Tooltip formatter={(v: unknown) => (typeof v === 'number' ? fmt(v) : String(v))} />
            <Legend verticalAlign="top" wrapperStyle={{ paddingBottom: 10 }} />
            <ReferenceLine segment={[{ x: 0, y: 0 }, { x: top, y: top }]} stroke="var(--muted)" strokeDasharray="4 4" />
            {bits.map((b) => <Scatter key={b} name={`${b}-bit`} data={data.filter((d) => d.bits === b && !d.held)} fill={BIT_COLORS[b] ?? 'gray'} />)}
            {fit.holdoutPoints.length > 0 && <Scatter name="held out" data={data.filter((d) => d.held)} shape="diamond" fill="none" stroke="var(--fg)" />}
          </ScatterChart>
        </ResponsiveContainer>
      </div>
      <p className="muted small">Point size: N. Colour: bits{fit.holdoutPoints.length > 0 ? `; hollow diamonds: the ${fit.n_holdout} held-out configurations, predicted by the law fitted without them (MAE ${fmt(fit.mae_holdout!, 4)})` : ''}. On the dashed line the law is exact.</p>
    </section>
  );
}

function Residuals({ fit }: { fit: LawFit }) {
  const ref = useRef<HTMLDivElement>(null);
  const data = fit.points.map((x) => ({ predicted: x.predicted, residual: x.point.acc_adj - x.predicted, bits: x.point.bits }));
  return (
    <section className="card">
      <h2>Residuals <ChartActions target={ref} name={`residuals-${fit.level}`} data={() => data} /></h2>
      <div ref={ref} style={{ height: 300 }}>
        <ResponsiveContainer>
          <ScatterChart margin={{ top: 8, right: 16, bottom: 24, left: 8 }}>
            <CartesianGrid stroke="var(--line)" />
            <XAxis type="number" dataKey="predicted" domain={[0, 'auto']} label={{ value: 'predicted Acc_adj', position: 'bottom' }} stroke="var(--muted)" tickFormatter={tick} />
            <YAxis type="number" dataKey="residual" label={{ value: 'actual − predicted', angle: -90, position: 'insideLeft' }} stroke="var(--muted)" tickFormatter={tick} />
            <Tooltip formatter={(v: unknown) => (typeof v === 'number' ? fmt(v) : String(v))} />
            <ReferenceLine y={0} stroke="var(--muted)" />
            <Scatter data={data} fill="var(--ka)" />
          </ScatterChart>
        </ResponsiveContainer>
      </div>
    </section>
  );
}

function Trends({ fit, points }: { fit: LawFit; points: Point[] }) {
  const bitsAll = [...new Set(points.map((p) => p.bits))].sort();
  const Gs = [...new Set(points.map((p) => p.group_size))].sort((a, b) => a - b);
  const Cs = [...new Set(points.map((p) => p.calib_size))].sort((a, b) => a - b);
  const [bits, setBits] = usePick(bitsAll, 3);
  const [G, setG] = usePick(Gs, 128);
  const [C, setC] = usePick(Cs, 128, Cs[Cs.length - 1]);
  const models = [...new Set(points.map((p) => p.model))].sort((a, b) => points.find((p) => p.model === a)!.n_params - points.find((p) => p.model === b)!.n_params);
  const exps = expsOf(fit);
  const series = (axis: 'C' | 'G') => {
    const xs = axis === 'C' ? Cs : Gs;
    return xs.map((x) => {
      const row: Record<string, number> = { x };
      for (const m of models) {
        const p = points.find((q) => q.model === m && q.bits === bits && (axis === 'C' ? q.calib_size === x && q.group_size === G : q.group_size === x && q.calib_size === C));
        const n = points.find((q) => q.model === m)!.n_params;
        if (p) row[m] = p.acc_adj;
        row[`${m} law`] = predictLaw(fit.A, exps, { n_params: n, bits, calib_size: axis === 'C' ? x : C, group_size: axis === 'C' ? G : x });
      }
      return row;
    });
  };
  const colors = ['#2f6fdb', '#1f8a4c', '#d35400', '#8e44ad', '#c53030', '#2c3e50', '#b7791f', '#16a085'];
  const chart = (axis: 'C' | 'G', ref: React.RefObject<HTMLDivElement | null>) => {
    const data = series(axis);
    // round ticks (0.1 apart, 0.05 below 0.2) up to just above the largest value: labels that say what they mark
    const max = Math.max(0.05, ...data.flatMap((r) => Object.entries(r).filter(([k]) => k !== 'x').map(([, v]) => v)).filter(Number.isFinite));
    const step = max <= 0.2 ? 0.05 : 0.1;
    const yTicks = Array.from({ length: Math.ceil(max / step - 1e-9) + 1 }, (_, i) => Math.round(i * step * 100) / 100);
    return (
      <div>
        <h3>Acc_adj vs {axis === 'C' ? `C_b (G = ${G})` : `G (C_b = ${C})`}, {bits}-bit <ChartActions target={ref} name={`trend-${axis}-${fit.level}`} data={() => data} /></h3>
        <div ref={ref} style={{ height: 260 }}>
          <ResponsiveContainer>
            <LineChart data={data} margin={{ top: 24, right: 16, bottom: 24, left: 8 }}>
              <CartesianGrid stroke="var(--line)" />
              <XAxis dataKey="x" scale="log" type="number" domain={['dataMin', 'dataMax']} ticks={axis === 'C' ? Cs : Gs} label={{ value: axis === 'C' ? 'C_b' : 'G', position: 'bottom' }} stroke="var(--muted)" />
              <YAxis domain={[0, yTicks[yTicks.length - 1]]} ticks={yTicks} stroke="var(--muted)" tickFormatter={tick} />
              <Tooltip formatter={(v: unknown) => (typeof v === 'number' ? fmt(v) : String(v))} />
              {models.map((m, i) => <Line key={m} dataKey={m} stroke={colors[i % colors.length]} strokeOpacity={0} dot={{ r: 4, fill: colors[i % colors.length], stroke: colors[i % colors.length] }} isAnimationActive={false} connectNulls />)}
              {models.map((m, i) => <Line key={`${m} law`} dataKey={`${m} law`} stroke={colors[i % colors.length]} dot={false} strokeDasharray="5 3" isAnimationActive={false} legendType="none" />)}
              {/* room under the legend: the axis's top label sits above the plot */}
              <Legend verticalAlign="top" wrapperStyle={{ paddingBottom: 14 }} />
            </LineChart>
          </ResponsiveContainer>
        </div>
      </div>
    );
  };
  const r1 = useRef<HTMLDivElement>(null), r2 = useRef<HTMLDivElement>(null);
  return (
    <section className="card wide">
      <h2>Trends: measured (dots) and the fitted law (dashed), one colour per model size</h2>
      <div className="controls">
        <Select label="Bits" title="Bit-width of the trend lines" value={bits} options={bitsAll.map((b) => ({ value: b, label: `${b}-bit` }))} onChange={setBits} />
        <Select label="G (for the C_b chart)" title="Group size held fixed" value={G} options={Gs.map((g) => ({ value: g, label: String(g) }))} onChange={setG} />
        <Select label="C_b (for the G chart)" title="Calibration size held fixed" value={C} options={Cs.map((c) => ({ value: c, label: String(c) }))} onChange={setC} />
      </div>
      <div className="grid two">{chart('C', r1)}{chart('G', r2)}</div>
    </section>
  );
}

function Surfaces({ fit, points, level, family, bits: fitBits }: { fit: LawFit; points: Point[]; level: FitLevel; family: PublishedFamily; bits: number[] }) {
  const models = [...new Set(points.map((p) => p.model))];
  const ns = [...new Set(points.map((p) => p.n_params))].sort((a, b) => a - b);
  const bitsAll = [...new Set(points.map((p) => p.bits))].sort();
  const [n, setN] = usePick(ns, ns[ns.length - 1]);
  const [bits, setBits] = usePick(bitsAll, 3);
  const [showPublished, setShowPublished] = useState(false);
  const exps = expsOf(fit);
  const pub = publishedFor(family, level, fitBits);
  const surf1 = useMemo(() => {
    // the axes span the measured C_b and G (the law drawn where there are points to judge it by)
    const x = span(points.map((q) => Math.log2(q.calib_size)), 15);
    const y = span(points.map((q) => Math.log2(q.group_size)), 11);
    const z = (f: (c: number, g: number) => number) => y.map((g) => x.map((c) => f(2 ** c, 2 ** g)));
    const s: SurfaceTrace[] = [{ name: 'your fit', x, y, z: z((c, g) => predictLaw(fit.A, exps, { n_params: n, bits, calib_size: c, group_size: g })) }];
    if (showPublished && pub) s.push({ name: pub.label, x, y, z: z((c, g) => predictPublished(pub, { n_params: n, bits, calib_size: c, group_size: g })), opacity: 0.45, colorscale: 'Greys' });
    const pts = points.filter((p) => p.n_params === n && p.bits === bits);
    const p: PointTrace[] = [{ name: 'measured', x: pts.map((q) => Math.log2(q.calib_size)), y: pts.map((q) => Math.log2(q.group_size)), z: pts.map((q) => q.acc_adj), text: pts.map((q) => `${q.model} C_b=${q.calib_size} G=${q.group_size}`) }];
    return { s, p };
  }, [fit, n, bits, showPublished, pub, points, exps]);
  const Cs = [...new Set(points.map((p) => p.calib_size))], Gs = [...new Set(points.map((p) => p.group_size))];
  const [C, G] = [Cs.includes(128) ? 128 : Cs[0], Gs.includes(128) ? 128 : Gs[0]];
  const surf2 = useMemo(() => {
    const lo = Math.log10(ns[0]) - 0.2, hi = Math.log10(ns[ns.length - 1]) + 0.2;
    const x = Array.from({ length: 15 }, (_, i) => lo + ((hi - lo) * i) / 14);
    const y = span(points.map((q) => q.bits), 13);
    const z = (f: (nn: number, b: number) => number) => y.map((b) => x.map((ln) => f(10 ** ln, b)));
    const s: SurfaceTrace[] = [{ name: 'your fit', x, y, z: z((nn, b) => predictLaw(fit.A, exps, { n_params: nn, bits: b, calib_size: C, group_size: G })) }];
    if (showPublished && pub) s.push({ name: pub.label, x, y, z: z((nn, b) => predictPublished(pub, { n_params: nn, bits: b, calib_size: C, group_size: G })), opacity: 0.45, colorscale: 'Greys' });
    const pts = points.filter((p) => p.calib_size === C && p.group_size === G);
    const p: PointTrace[] = [{ name: 'measured', x: pts.map((q) => Math.log10(q.n_params)), y: pts.map((q) => q.bits), z: pts.map((q) => q.acc_adj), text: pts.map((q) => `${q.model} ${q.bits}-bit`) }];
    return { s, p };
  }, [fit, ns, C, G, showPublished, pub, points, exps]);
  return (
    <section className="card wide" data-testid="surfaces">
      <h2>The law as a surface ({level}){models.length === 1 ? ' — one model: N is fixed' : ''}</h2>
      <div className="controls">
        <Select label="N" title="Model size of the first surface" value={n} options={ns.map((v) => ({ value: v, label: `${fmtN(v)} (${[...new Set(points.filter((p) => p.n_params === v).map((p) => p.model))].join(', ')})` }))} onChange={setN} />
        <Select label="Bits" title="Bit-width of the first surface" value={bits} options={bitsAll.map((b) => ({ value: b, label: `${b}-bit` }))} onChange={setBits} />
        <label className="field row inline" title="Draw the study's published law as a second, grey surface">
          <input type="checkbox" checked={showPublished} onChange={(e) => setShowPublished(e.target.checked)} /> published law
        </label>
      </div>
      <div className="grid two">
        <div><h3>Acc_adj over (log₂ C_b, log₂ G) at N = {fmtN(n)}, {bits}-bit</h3><Surface3D surfaces={surf1.s} points={surf1.p} axes={['log2 C_b', 'log2 G', 'Acc_adj']} name={`surface-cb-g-${level}`} testId="surface" /></div>
        <div><h3>Acc_adj over (log₁₀ N, B) at C_b = {C}, G = {G}</h3><Surface3D surfaces={surf2.s} points={surf2.p} axes={['log10 N', 'bits', 'Acc_adj']} name={`surface-n-b-${level}`} /></div>
      </div>
    </section>
  );
}

/** "What would this cost?": memory at B and G, and the law's predicted Acc_adj for a model size. */
function CostCalculator({ fit }: { fit: LawFit | null }) {
  const [nText, setNText] = useState('8B');
  const [bits, setBits] = useState(3);
  const [G, setG] = useState(64);
  const [C, setC] = useState(128);
  const N = parseSize(nText);
  const beff = effectiveBits(bits, G);
  const pub = PUBLISHED.find((p) => p.id === 'qwen3-General')!;
  const config = { n_params: N, bits, calib_size: C, group_size: G };
  const mine = fit && Number.isFinite(N) && N > 0 ? predictLawInterval(fit, config) : null;
  const outside = mine && fit ? outsideFit(fit, config).map((o) => o.factor === 'N' ? `N ${fmtN(o.lo)}–${fmtN(o.hi)}` : `${FACTOR_NAME[o.factor]} ${o.lo}–${o.hi}`) : [];
  return (
    <section className="card" data-testid="calculator">
      <h2>What would this cost?</h2>
      <div className="controls">
        <label className="field" title="Non-embedding parameters, e.g. 8B, 600M, 74K">N<input value={nText} onChange={(e) => setNText(e.target.value)} aria-label="N" /></label>
        <Select label="Bits" title="Bit-width" value={bits} options={BIT_WIDTHS.map((b) => ({ value: b, label: `${b}-bit` }))} onChange={setBits} />
        <Select label="G" title="Group size" value={G} options={[32, 64, 128, 1024].map((g) => ({ value: g, label: String(g) }))} onChange={setG} />
        <Select label="C_b" title="Calibration sequences" value={C} options={[8, 32, 128, 1024].map((c) => ({ value: c, label: String(c) }))} onChange={setC} />
      </div>
      {Number.isFinite(N) && N > 0 ? (<>
        <table className="kv small">
          <tbody>
            <tr><th title="B + (16 + B)/G: an fp16 scale and a B-bit zero per group of G weights">bits per weight (B_eff)</th><td>{beff.toFixed(3)}</td></tr>
            <tr><th>weights at B_eff</th><td>{(N * beff / 8 / 2 ** 30).toFixed(2)} GiB (fp16: {(N * 2 / 2 ** 30).toFixed(2)} GiB)</td></tr>
            <tr><th>Acc_adj, published Qwen3 law</th><td>{fmt(predictPublished(pub, config))}</td></tr>
            <tr><th title="With the 95% prediction interval of one new measurement at this configuration (from the fit's residual variance and its coefficients' covariance)">Acc_adj, your fit</th><td>{mine ? <>{fmt(mine.acc_adj)} <span className="muted">(95% PI {fmt(mine.pi[0])}–{fmt(mine.pi[1])})</span></> : 'run a sweep first'}</td></tr>
          </tbody>
        </table>
        {outside.length > 0 && <p className="muted small" data-testid="extrapolation">Extrapolated: your fit saw {outside.join('; ')}. Its interval assumes the law holds out there.</p>}
      </>) : <p className="muted">Type a size like 8B or 600M.</p>}
    </section>
  );
}
