// The shared engine runs in the browser and in Node: it may import neither Node's modules nor the DOM. Only
// the entry adapters (src/gpu/node.ts, src/gpu/browser.ts) and the fronts (src/cli, src/ui) may.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.tsx?$/.test(f) ? [p] : [];
  });
}

const SHARED = ['gpu', 'model', 'quant', 'eval', 'sweep', 'fit', 'bench'].flatMap((d) => files(join('src', d)))
  .concat(['src/progress.ts', 'src/random.ts'])
  .filter((f) => !['src/gpu/node.ts', 'src/gpu/browser.ts'].includes(f));
const NODE_IMPORT = /from\s+['"](node:[^'"]+|fs|path|os|child_process|webgpu)['"]|import\(['"](node:|webgpu)/;
const DOM_USE = /\b(document|window|localStorage|indexedDB|navigator)\s*\./;

// ui, cli -> sweep, fit, bench -> eval, quant -> model -> gpu -> errors, version, progress, random: a module
// imports from its own layer and the layers below, never above (docs/architecture.md).
const LAYER: Record<string, number> = { ui: 4, cli: 4, sweep: 3, fit: 3, bench: 3, eval: 2, quant: 2, model: 1, gpu: 0 };
const layerOf = (f: string) => LAYER[f.split(/[\\/]/)[1]] ?? -1;

describe('architecture', () => {
  it('each layer imports only from its own layer and the layers below', () => {
    const upward: string[] = [];
    for (const f of files('src')) {
      for (const m of readFileSync(f, 'utf8').matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)) {
        const target = normalize(join(dirname(f), m[1]));
        if (layerOf(target) > layerOf(f)) upward.push(`${f} imports ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });
  it('the version written into results and exports is package.json\'s', async () => {
    const { LAB_VERSION } = await import('../src/version');
    expect(LAB_VERSION).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
  });

  it('has one folder per concern', () => {
    for (const d of ['gpu', 'model', 'quant', 'eval', 'sweep', 'fit', 'bench', 'ui', 'cli']) expect(statSync(join('src', d)).isDirectory()).toBe(true);
  });
  for (const f of SHARED) {
    it(`${f} imports no Node module and touches no DOM`, () => {
      const text = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      expect(text).not.toMatch(NODE_IMPORT);
      // messages may name navigator.gpu; code may not use it
      expect(text.replace(/'[^'\n]*'|"[^"\n]*"|`[^`]*`/g, "''")).not.toMatch(DOM_USE);
    });
  }
  it('the browser front imports no Node module; the CLI touches no DOM', () => {
    for (const f of files('src/ui')) expect(readFileSync(f, 'utf8'), f).not.toMatch(NODE_IMPORT);
    for (const f of files('src/cli')) expect(readFileSync(f, 'utf8').replace(/\/\/.*$/gm, ''), f).not.toMatch(/\b(document|window|localStorage|indexedDB)\s*\./);
  });
  it('every WGSL file is loaded through the one shader loader', () => {
    for (const f of files('src')) {
      const text = readFileSync(f, 'utf8');
      if (f !== join('src', 'gpu', 'shaders.ts')) expect(text, f).not.toMatch(/\.wgsl['"?]/);
    }
  });
});
