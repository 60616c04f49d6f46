// A real-shape checkpoint in the lab, in Chromium on SwiftShader: a SmolLM2-135M slice (full width, heads and
// 49K vocabulary; 1 layer, 64 MB of bf16), written by the synth writer in this process, is picked as a folder in
// the Model tab, generates, is quantized (GPTQ 4-bit, G = 128, act-order: K = 576 leaves a last group of 64),
// and the quantized model is evaluated on one item of the real-model suite. No console errors are allowed.
import { expect, test } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFolder } from '../../src/cli/files';
import { syntheticCheckpoint } from '../../src/model/synthetic';

test('a real-shape slice: load from a folder, generate, quantize, evaluate', async ({ page }) => {
  test.setTimeout(360_000);
  const root = mkdtempSync(join(tmpdir(), 'quantlab-e2e-slice-'));
  const dir = join(root, 'smollm2-135m-1layer');
  writeFolder(dir, syntheticCheckpoint({ shape: 'smollm2-135m', layers: 1 }));
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
  try {
    await page.goto('/');
    await page.getByTestId('tour-skip').click();
    // the bundled default model loads first; then the folder replaces it
    await expect(page.getByTestId('model-info')).toContainText('74,112');
    await page.getByLabel('Model folder').setInputFiles(dir);
    const info = page.getByTestId('model-info');
    await expect(info).toContainText('smollm2-135m-1layer');
    for (const [k, v] of [['architecture', 'LlamaForCausalLM'], ['hidden size', '576'], ['heads / KV heads', '9 / 3'], ['vocabulary', '49152'], ['N (non-embedding)', '3,540,672'], ['quantized', 'no (float weights)']]) {
      await expect(info.locator('tr', { hasText: k })).toContainText(v);
    }

    // greedy generation with the float model (random weights: the tokens, not the text, are the point)
    await page.getByRole('button', { name: 'Generate' }).click();
    await expect(page.getByTestId('generation')).toHaveAttribute('data-busy', 'false', { timeout: 120_000 });
    await expect(page.getByTestId('generation-stats')).toContainText(/^\d+ tokens? in [\d.]+ s/);

    // GPTQ 4-bit G=128 act-order with the smallest calibration (8 sequences of 32 tokens): every linear solved
    await page.getByRole('tab', { name: 'Quantize' }).click();
    await page.getByLabel('Calibration C_b').selectOption('8');
    await page.getByLabel('Sequence length').fill('32');
    await page.getByTestId('quantize').click();
    await expect(page.getByTestId('quantized-label')).toContainText('GPTQ 4-bit G=128 C_b=8', { timeout: 240_000 });
    const cells = page.getByTestId('heatmap').locator('td[title*="error"]');
    await expect(cells).toHaveCount(7);
    await expect(cells.first()).toHaveAttribute('title', /^self_attn\.q_proj 576x576: error \d/);

    // the quantized model on one item of the real-model suite (perplexity's 2048-token windows are too slow here)
    await page.getByRole('tab', { name: 'Evaluate' }).click();
    await expect(page.getByRole('heading', { name: /Evaluate the quantized model \(GPTQ 4-bit G=128 C_b=8\)/ })).toBeVisible();
    await expect(page.getByLabel('Suite')).toHaveValue('real');
    for (const t of ['perplexity', 'openbookqa', 'gsm8k']) await page.getByRole('checkbox', { name: t }).uncheck();
    await expect(page.getByRole('checkbox', { name: 'nq_open' })).toBeChecked();
    await page.getByTestId('eval-limit').fill('1');
    await page.getByTestId('evaluate').click();
    await expect(page.getByTestId('eval-results')).toContainText('nq_open', { timeout: 180_000 });
    await expect(page.getByTestId('eval-levels')).toContainText('General');
    await page.screenshot({ path: 'test-results/screens/realsize-evaluate.png', fullPage: true });
    expect(errors).toEqual([]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
