import { expect, test } from '@playwright/test';

test('the lab opens on the bundled model, shows the adapter, and its first kernel is correct', async ({ page }) => {
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
  await page.goto('/');
  await page.getByTestId('tour-skip').click(); // the guided tour opens on a first visit
  await expect(page.getByTestId('adapter')).toContainText(/swiftshader|google/i);
  await expect(page.getByTestId('selftest')).toHaveAttribute('data-ok', 'true');
  // The bundled default model loads by itself and generates text.
  await expect(page.getByTestId('model-info')).toContainText('qwen3-dict-74k');
  await expect(page.getByTestId('model-info')).toContainText('74,112');
  await expect(page.getByLabel('Bundled model', { exact: true })).toHaveValue('qwen3-dict-74k');
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect(page.getByTestId('generation')).toHaveAttribute('data-busy', 'false');
  await expect(page.getByTestId('completion')).toContainText(/\w{3,}/);
  await expect(page.getByTestId('generation-stats')).toContainText(/^\d+ tokens? in [\d.]+ s, first token \d+ ms/);
  await page.screenshot({ path: 'test-results/model-panel.png', fullPage: true });
  expect(errors).toEqual([]);
});
