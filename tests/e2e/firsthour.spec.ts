// What a newcomer meets in the first hour, screen by screen, in Chromium on SwiftShader: each test is one
// stumble fixed (the lab without WebGPU, the results table, one perplexity for one model, importing over one's
// own results, screens that agree with the state, the Fit tab's charts, the Benchmark tab on a CPU adapter).
// Each runs on the smallest bundled model with a handful of items; the screens that changed are saved into
// test-results/firsthour/ (the repository keeps only the screenshots its documents show).
import { expect, type Page, test } from '@playwright/test';
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const EXAMPLE = 'examples/family-sweep-h100.jsonl.gz';
const H100_BENCH = 'bench/results/2026-11-23-h100-bench-fold.json';
const panel = (page: Page, name: string) => page.locator(`#panel-${name}`);
const tab = (page: Page, name: string) => page.getByRole('tab', { name });
/** The screen as PNG beside the test's other output. */
async function shot(page: Page, name: string, fullPage = false): Promise<void> {
  await page.screenshot({ path: `test-results/firsthour/${name}.png`, fullPage });
}

/** Console errors, failed requests and page errors: none are allowed. */
function watch(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
  return errors;
}

/** Opens the lab past the tour; with the GPU, waits for the bundled default model. */
async function open(page: Page, { gpu = true } = {}): Promise<void> {
  await page.goto('/');
  await page.getByTestId('tour-skip').click();
  if (gpu) await expect(page.getByTestId('model-info')).toContainText('qwen3-dict-74k');
}

/** The Sweep tab's import. */
async function importResults(page: Page, file: string): Promise<void> {
  await tab(page, 'Sweep').click();
  await page.getByTestId('import').setInputFiles(file);
}

test('without WebGPU the lab says what still works, and it does: import results and fit them, open a saved benchmark', async ({ page }) => {
  const errors = watch(page);
  await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
  await page.goto('/');
  // the tour does not claim a model loaded
  await expect(page.getByTestId('tour-body')).toContainText('does not expose WebGPU, so the lab has not loaded a model');
  await expect(page.getByTestId('tour-body')).not.toContainText('has loaded');
  await expect(page.getByTestId('without-gpu')).toContainText('Without WebGPU the Fit tab still works');
  await expect(page.getByTestId('model-empty')).toContainText('No model: this browser has no WebGPU');
  await expect(page.getByTestId('model-empty')).not.toContainText('Waiting for the GPU');
  await shot(page, 'no-webgpu');
  await page.getByTestId('tour-skip').click();
  for (const [t, what] of [['Quantize', 'Quantizing needs WebGPU'], ['Evaluate', 'Evaluating needs WebGPU']] as const) {
    await tab(page, t).click();
    await expect(panel(page, t).getByTestId('no-model')).toContainText(what);
  }
  // the Sweep tab cannot run, but imports; the Fit tab fits what was imported
  await importResults(page, EXAMPLE);
  await expect(page.getByTestId('sweep-no-gpu')).toBeVisible();
  await expect(page.getByTestId('run-sweep')).toBeDisabled();
  await expect(page.getByTestId('banner-info')).toContainText('3136 new result rows imported');
  await tab(page, 'Fit').click();
  await expect(page.getByTestId('fit-table').locator('tr', { hasText: 'your fit' }).first()).toContainText('9.553');
  // the Benchmark tab opens a saved report
  await tab(page, 'Benchmark').click();
  await expect(page.getByTestId('bench-no-gpu')).toBeVisible();
  await page.getByTestId('open-bench').setInputFiles(H100_BENCH);
  await expect(page.getByTestId('bench-results')).toContainText('opened from');
  expect(errors.filter((e) => !/WebGPU|navigator\.gpu/.test(e))).toEqual([]);
});

test('the results table: one row per configuration, a column per level, filters, a configuration\'s tasks on demand', async ({ page }) => {
  const errors = watch(page);
  await open(page, { gpu: false });
  await importResults(page, EXAMPLE);
  const table = page.getByTestId('results-table');
  // 3136 rows of 392 configurations: one table row each, the first 100 shown
  await expect(page.getByTestId('results-shown')).toContainText('392 configurations');
  await expect(table.getByTestId('result-config')).toHaveCount(100);
  await expect(table.locator('thead')).toContainText('KM');
  await expect(table.locator('thead')).toContainText('General');
  // narrowed to one model, GPTQ 4-bit, G = 128: one row per calibration size the file has
  const lines = gunzipSync(readFileSync(EXAMPLE)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
  const sizes = new Set(lines.filter((r) => r.model === 'qwen3-dict-74k' && r.method === 'gptq' && r.bits === 4 && r.group_size === 128).map((r) => r.calib_size));
  await page.getByTestId('filter-model').selectOption('qwen3-dict-74k');
  await page.getByTestId('filter-method').selectOption('gptq');
  await page.getByTestId('filter-bits').selectOption('4');
  await page.getByTestId('filter-group_size').selectOption('128');
  await expect(page.getByTestId('results-shown')).toContainText(`${sizes.size} of 392 configurations`);
  await expect(table.getByTestId('result-config')).toHaveCount(sizes.size);
  const row = table.locator('[data-config="qwen3-dict-74k GPTQ 4-bit G=128 C_b=32"]');
  // its levels are the means of its tasks' Acc_adj, General their mean (computed here from the file)
  const mine = lines.filter((r) => r.model === 'qwen3-dict-74k' && r.method === 'gptq' && r.bits === 4 && r.group_size === 128 && r.calib_size === 32);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const levels = ['KM', 'KA', 'KR'].map((l) => mean(mine.filter((r) => r.level === l).map((r) => r.acc_adj)));
  const cells = row.locator('td');
  for (const [i, v] of [...levels, mean(levels)].entries()) await expect(cells.nth(6 + i)).toHaveText(v.toFixed(3));
  // the perplexity with its windows
  await expect(cells.nth(10)).toHaveText(`${mine.find((r) => r.perplexity !== null).perplexity.toFixed(2)} (8)`);
  await row.click();
  await expect(table.getByTestId('result-task')).toHaveCount(mine.length);
  await shot(page, 'results-table');
  expect(errors).toEqual([]);
});

test('one perplexity for one model: Evaluate and the Sweep tab measure the float model on the same windows; 0 items is refused in both as the CLI refuses it', async ({ page }) => {
  test.setTimeout(240_000);
  const errors = watch(page);
  await open(page);
  // Evaluate: 0 items per task cannot run, with the CLI's words
  await tab(page, 'Evaluate').click();
  await page.getByTestId('eval-limit').fill('0');
  await expect(page.getByTestId('evaluate')).toBeDisabled();
  await expect(page.getByTestId('eval-problem')).toHaveText('Cannot evaluate: items per task must be a whole number >= 1 (got 0).');
  await shot(page, 'evaluate-zero-items');
  await page.getByTestId('eval-limit').fill('1');
  for (const box of await panel(page, 'Evaluate').locator('fieldset input[type=checkbox]').all()) await box.uncheck();
  await panel(page, 'Evaluate').getByLabel('perplexity').check();
  await page.getByTestId('evaluate').click();
  const pplRow = page.getByTestId('eval-results').locator('tr', { hasText: 'ppl_heldout_dict' });
  await expect(pplRow).toContainText('8 windows');
  const evaluated = (await pplRow.locator('td').nth(3).innerText()).trim();
  expect(evaluated).toMatch(/^\d+\.\d\d$/);

  // Sweep: 0 items per task cannot run either; then the float baseline and one RTN configuration, 1 item per task
  await tab(page, 'Sweep').click();
  await page.getByTestId('sweep-limit').fill('0');
  await expect(page.getByTestId('run-sweep')).toBeDisabled();
  await expect(page.getByTestId('sweep-problem')).toHaveText('Cannot run: items per task must be a whole number >= 1 (got 0).');
  await page.getByTestId('sweep-limit').fill('1');
  const sweep = panel(page, 'Sweep');
  await sweep.getByRole('group', { name: 'Bits B' }).getByLabel('3').uncheck();
  await sweep.getByRole('group', { name: 'Group size G' }).getByLabel('32').uncheck();
  await sweep.getByRole('group', { name: 'Calibration C_b' }).getByLabel('32').uncheck();
  await sweep.getByRole('group', { name: 'Methods' }).getByLabel('GPTQ').uncheck();
  await sweep.getByRole('group', { name: 'Methods' }).getByLabel('RTN').check();
  await expect(page.getByTestId('sweep-plan')).toContainText('2 configurations');
  await expect(page.getByTestId('sweep-plan')).toContainText('time estimated once the float baseline has run');
  await page.getByTestId('run-sweep').click();
  await expect(page.getByTestId('banner-info')).toContainText('Sweep finished: 2 configuration(s) run', { timeout: 200_000 });
  const table = page.getByTestId('results-table');
  const float = table.locator('[data-config="qwen3-dict-74k float baseline"]');
  // the same perplexity as Evaluate's, over the same 8 windows
  await expect(float.locator('td').nth(10)).toHaveText(`${evaluated} (8)`);
  // round-to-nearest is not labelled with a C_b it does not use
  await expect(table.locator('[data-config="qwen3-dict-74k RTN 4-bit G=128"]').locator('td').nth(5)).toHaveText('–');
  // the next plan is estimated from what this adapter just measured; GPTQ's calibration from the plan until timed here
  await sweep.getByRole('group', { name: 'Methods' }).getByLabel('GPTQ').check();
  await expect(page.getByTestId('sweep-plan')).toContainText(/about \d+ (s|min)/);
  await expect(page.getByTestId('sweep-plan')).toContainText('a first estimate');

  // a banner belongs to its tab: not over the Fit tab, whose name is not marked; back on Sweep it is there
  await tab(page, 'Fit').click();
  await expect(page.getByTestId('banner-info')).toHaveCount(0);
  await expect(tab(page, 'Sweep')).toContainText('●');
  await tab(page, 'Sweep').click();
  await expect(page.getByTestId('banner-info')).toContainText('Sweep finished');

  // importing the example sweep: it would replace the user's float baseline (1 item per task) with its own
  // (100): the lab says so first, and keeps the user's when asked
  await page.getByTestId('import').setInputFiles(EXAMPLE);
  const preview = page.getByTestId('import-preview');
  await expect(preview).toContainText('1 of your configurations');
  await expect(preview.locator('tbody tr')).toHaveCount(1);
  await expect(preview.locator('tbody tr')).toContainText('qwen3-dict-74k float baseline');
  await expect(preview.locator('tbody tr td').nth(2)).toHaveText('1');
  await expect(preview.locator('tbody tr td').nth(3)).toHaveText('50–100');
  await shot(page, 'import-preview');
  await page.getByTestId('import-keep').click();
  await expect(page.getByTestId('banner-info')).toContainText('yours kept');
  await expect(float.locator('td').nth(11)).toHaveText('1');
  await expect(float.locator('td').nth(10)).toHaveText(`${evaluated} (8)`);
  await expect(page.getByTestId('results-shown')).toContainText('393 configurations');
  expect(errors).toEqual([]);
});

test('screens agree with the state: the model card and both speed lines after quantizing, the Quantize tab\'s checks, its banner over its tab only', async ({ page }) => {
  test.setTimeout(240_000);
  const errors = watch(page);
  await open(page);
  await tab(page, 'Quantize').click();
  const q = panel(page, 'Quantize');
  await q.getByLabel('Damp').fill('0');
  await expect(page.getByTestId('quantize')).toBeDisabled();
  await expect(page.getByTestId('quantize-problem')).toHaveText('Cannot quantize: Damp must be a fraction between 0 and 1 (got 0).');
  await q.getByLabel('Damp').fill('0.05');
  await q.getByLabel('Calibration C_b').selectOption('8');
  await page.getByTestId('quantize').click();
  await expect(page.getByTestId('quantized-label')).toContainText('GPTQ 4-bit G=128 C_b=8', { timeout: 200_000 });
  await expect(page.getByTestId('banner-info')).toContainText('Evaluate and Generate now use the quantized model');
  // the Model tab: no banner from the Quantize tab over it; the card says which weights are active
  await tab(page, 'Model').click();
  await expect(page.getByTestId('banner-info')).toHaveCount(0);
  await expect(page.getByTestId('model-info').locator('tr', { hasText: 'quantized' })).toContainText('GPTQ 4-bit G=128 C_b=8, active: quantized in this session');
  // side by side: one speed line per model, each naming it
  await page.getByLabel('Model to generate with').selectOption('both');
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect(page.getByTestId('divergence')).toBeVisible({ timeout: 120_000 });
  const lines = page.getByTestId('generation-stats');
  await expect(lines).toHaveCount(2);
  await expect(lines.nth(0)).toContainText(/^float model: \d+ tokens? in/);
  await expect(lines.nth(1)).toContainText(/^quantized model \(GPTQ 4-bit G=128 C_b=8\): \d+ tokens? in/);
  await shot(page, 'model-quantized', true);
  expect(errors).toEqual([]);
});

test('the Benchmark tab on a CPU adapter says the benchmark is meant for GPUs, and a saved GPU report explains its shares above 100%', async ({ page }) => {
  const errors = watch(page);
  await open(page, { gpu: false });
  await tab(page, 'Benchmark').click();
  await expect(page.getByTestId('bench-software')).toContainText('the benchmark is meant for GPUs');
  await page.getByTestId('open-bench').setInputFiles(H100_BENCH);
  const report = JSON.parse(readFileSync(H100_BENCH, 'utf8')).kernels;
  // the report does hold shares above 100% of a same-size read
  expect(report.rows.some((r: { ofRead: number | null }) => (r.ofRead ?? 0) > 1)).toBe(true);
  await expect(page.getByTestId('bench-over-100')).toContainText('Above 100%');
  await shot(page, 'benchmark-cpu', true);
  expect(errors).toEqual([]);
});

test('the Fit tab: the surface spans the data, one number format per column, the chart cards fill their row, legends clear of the axes; one model says N does not vary', async ({ page }) => {
  test.setTimeout(180_000);
  const errors = watch(page);
  await open(page, { gpu: false });
  await importResults(page, EXAMPLE);
  await expect(page.getByTestId('banner-info')).toContainText('imported');
  await tab(page, 'Fit').click();
  await expect(page.getByTestId('fit-table')).toContainText('your fit');
  // the C_b x G surface's axes: the measured C_b and G, not 3..10
  const lines = gunzipSync(readFileSync(EXAMPLE)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.method === 'gptq' && [3, 4, 8].includes(r.bits));
  const log2 = (xs: number[]) => [Math.log2(Math.min(...xs)), Math.log2(Math.max(...xs))];
  const surface = page.getByTestId('surface').first();
  await expect(surface.locator('canvas').first()).toBeVisible({ timeout: 120_000 });
  const axes = await surface.evaluate((el) => {
    const s = (el as unknown as { data: { type: string; x: number[]; y: number[] }[] }).data.find((t) => t.type === 'surface')!;
    return { x: [s.x[0], s.x[s.x.length - 1]], y: [s.y[0], s.y[s.y.length - 1]] };
  });
  expect(axes.x).toEqual(log2(lines.map((r) => r.calib_size)));
  expect(axes.y).toEqual(log2(lines.map((r) => r.group_size)));
  // every number in a column of the ablation and level tables has the same decimals
  for (const id of ['ablation-table', 'fit-table', 'findings']) {
    const table = page.getByTestId(id).locator('table').first();
    const rows = await table.locator('tbody tr').all();
    const columns = new Map<number, Set<number>>();
    for (const tr of rows) {
      const cells = await tr.locator('th, td').allInnerTexts();
      cells.forEach((text, i) => {
        for (const m of text.matchAll(/-?\d+\.(\d+)(?!e)/g)) (columns.get(i) ?? columns.set(i, new Set()).get(i)!).add(m[1].length);
      });
    }
    for (const [i, decimals] of columns) expect([...decimals], `${id} column ${i}`).toHaveLength(1);
    await expect(table).not.toContainText(/\de-\d/);
  }
  // the two scatter cards and the calculator fill one row
  const row = (await page.getByTestId('fit-charts').boundingBox())!;
  const calc = (await page.getByTestId('calculator').boundingBox())!;
  const scatter = (await page.getByTestId('scatter').boundingBox())!;
  expect(Math.abs(calc.y - scatter.y)).toBeLessThan(2);
  expect(row.x + row.width - (calc.x + calc.width)).toBeLessThan(2);
  // the charts' legends (two rows of models on the trend charts) end above their axis's top label
  const charts = await page.locator('#panel-Fit .recharts-wrapper').filter({ has: page.locator('.recharts-legend-wrapper') }).all();
  expect(charts).toHaveLength(3);
  for (const chart of charts) {
    const bottom = async (l: import('@playwright/test').Locator) => { const b = (await l.boundingBox())!; return b.y + b.height; };
    const legend = Math.max(...(await Promise.all((await chart.locator('.recharts-legend-item').all()).map(bottom))));
    const ticks = await chart.locator('.recharts-yAxis-tick-labels .recharts-cartesian-axis-tick-value').all();
    expect(ticks.length).toBeGreaterThan(2);
    const top = Math.min(...(await Promise.all(ticks.map(async (t) => (await t.boundingBox())!.y))));
    expect(top).toBeGreaterThanOrEqual(legend);
  }
  await shot(page, 'fit-tab', true);

  // one model only: N does not vary, said plainly
  await tab(page, 'Sweep').click();
  await page.once('dialog', (d) => d.accept());
  await panel(page, 'Sweep').getByRole('button', { name: 'Clear' }).click();
  const one = lines.filter((r) => r.model === 'qwen3-dict-74k' && r.bits === 3 && r.group_size === 32 && [8, 32].includes(r.calib_size));
  const file = 'test-results/firsthour/one-model.jsonl';
  writeFileSync(file, one.map((r) => JSON.stringify(r)).join('\n') + '\n');
  await page.getByTestId('import').setInputFiles(file);
  await tab(page, 'Fit').click();
  await expect(page.getByTestId('fit-one-model')).toContainText('N does not vary: every configuration is of one model (qwen3-dict-74k)');
  // the fits it could not make say why once, N first
  await expect(panel(page, 'Fit')).toContainText(/Not fitted: f\(N,B,C_b\), f\(N,B,C_b,G\) at General, KM, KA, KR: N does not vary: every configuration is of one model size \(qwen3-dict-74k\).*; without it, 2 usable configurations cannot fit 2 coefficients: run more configurations or more model sizes\./);
  await shot(page, 'fit-one-model');
  expect(errors).toEqual([]);
});
