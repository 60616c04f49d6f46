// The Quantize tab's "Export for transformers.js", in Chromium on SwiftShader: quantize the bundled model (GPTQ
// 4-bit), download the ONNX folder (zip), then load it with transformers.js in a page as a user would (its web
// build, onnxruntime-web's WebGPU EP, device 'webgpu', the dtype read from config.json) and generate: the same
// greedy text as the lab's own Generate with the quantized model.
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { TextTokenizer } from '../../src/model/tokenizer';
import { Checkpoint } from '../../src/model/checkpoint';
import { dirFiles } from '../../src/cli/files';

const PROMPT = 'dog (noun):';
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json', '.html': 'text/html', '.wasm': 'application/wasm' };

test('a quantized model exported for transformers.js generates in the page as in the lab', async ({ page, context }) => {
  test.setTimeout(900_000);
  const dir = mkdtempSync(join(tmpdir(), 'ql-onnx-e2e-'));
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto('/');
    await page.getByTestId('tour-skip').click();
    await page.getByRole('tab', { name: 'Quantize' }).click();
    await page.locator('#panel-Quantize').getByLabel('Calibration C_b').selectOption('8');
    await page.getByTestId('quantize').click();
    await expect(page.getByTestId('quantized-label')).toContainText('GPTQ 4-bit', { timeout: 300_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-onnx').click()]);
    const zip = join(dir, download.suggestedFilename());
    await download.saveAs(zip);
    execFileSync('python3', ['-m', 'zipfile', '-e', zip, join(dir, 'unzipped')]);
    const [folder] = readdirSync(join(dir, 'unzipped'));
    const model = join(dir, 'unzipped', folder);
    expect(readdirSync(model).sort()).toEqual(['config.json', 'generation_config.json', 'onnx', 'tokenizer.json', 'tokenizer_config.json']);
    expect(readdirSync(join(model, 'onnx'))).toEqual(['model_q4.onnx']);
    expect(JSON.parse(readFileSync(join(model, 'config.json'), 'utf8'))['transformers.js_config']).toEqual({ dtype: 'q4' });

    // the lab's greedy text with the quantized model
    await page.getByRole('tab', { name: 'Model' }).click();
    await expect(page.getByLabel('Model to generate with')).toHaveValue('quantized');
    await page.getByLabel('Prompt').fill(PROMPT);
    await page.getByRole('button', { name: 'Generate' }).click();
    await expect(page.getByTestId('generation-stats')).toContainText(/tokens? in/, { timeout: 120_000 });
    const labText = await page.getByTestId('completion').innerText();
    expect(labText.length).toBeGreaterThan(0);

    // transformers.js's web build, its onnxruntime-web and the exported folder, served beside the lab
    // the prompt's ids as the lab makes them (its tokenizer's prefix, then the text), from the bundled model's files
    const ckpt = await Checkpoint.open(dirFiles(join('public/models', folder.replace(/-gptq-.*$/, ''))));
    const tokenizer = await TextTokenizer.load(ckpt.files, ckpt.config);
    const ids = [...tokenizer.prefix, ...tokenizer.encode(PROMPT)];
    const roots: Record<string, string> = {
      '/tjs/lib/': 'node_modules/@huggingface/transformers/dist/',
      '/tjs/ort/': 'node_modules/onnxruntime-web/dist/',
      '/tjs/common/': 'node_modules/onnxruntime-common/dist/esm/',
      '/tjs/models/exported/': model,
    };
    await context.route('**/tjs/**', async (route) => {
      const path = new URL(route.request().url()).pathname;
      if (path === '/tjs/index.html') {
        const importmap = { imports: { 'onnxruntime-web/webgpu': '/tjs/ort/ort.webgpu.bundle.min.mjs', 'onnxruntime-common': '/tjs/common/index.js' } };
        return route.fulfill({ contentType: 'text/html', body: `<!doctype html><script type="importmap">${JSON.stringify(importmap)}</script><p>transformers.js check</p>` });
      }
      const prefix = Object.keys(roots).find((p) => path.startsWith(p));
      const file = prefix && normalize(join(roots[prefix], decodeURIComponent(path.slice(prefix.length))));
      if (!file || !existsSync(file)) return route.fulfill({ status: 404, body: 'not found' });
      return route.fulfill({ contentType: TYPES[extname(file)] ?? 'application/octet-stream', body: readFileSync(file) });
    });
    const tjs = await context.newPage();
    tjs.on('pageerror', (e) => errors.push(e.message));
    await tjs.goto('/tjs/index.html');
    const result = await tjs.evaluate(async (ids) => {
      const t = await import('/tjs/lib/transformers.web.js' as string);
      t.env.allowRemoteModels = false;
      t.env.allowLocalModels = true;
      t.env.localModelPath = '/tjs/models/';
      t.env.useWasmCache = false;
      t.env.backends.onnx.wasm.wasmPaths = { mjs: '/ort/ort-wasm-simd-threaded.asyncify.mjs', wasm: '/ort/ort-wasm-simd-threaded.asyncify.wasm' };
      const tok = await t.AutoTokenizer.from_pretrained('exported');
      const lm = await t.AutoModelForCausalLM.from_pretrained('exported', { device: 'webgpu' });
      const input = new t.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
      const mask = new t.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
      const out = await lm.generate({ input_ids: input, attention_mask: mask, max_new_tokens: 48, do_sample: false });
      const fresh = out.tolist()[0].slice(ids.length).map(Number);
      return { tokens: fresh, text: tok.decode(fresh, { skip_special_tokens: true }) as string, dtype: lm.sessions.model.config.dtype as string };
    }, ids);
    expect(result.dtype).toBe('q4');
    expect(result.tokens.length).toBeGreaterThan(4);
    expect(result.text.trim()).toBe(labText.trim());
    expect(errors).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
