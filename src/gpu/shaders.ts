// The one shader loader. Every WGSL file in shaders/ is imported as text by Vite's glob import, which works
// the same in the browser bundle, in Vitest (Dawn) and in the Vite-built CLI: one code path for the text.
// Files hold no `enable` directives; the loader prepends those a variant asks for. Code that needs a feature
// sits between `// @if <feature>` and `// @endif` lines and is dropped when the variant does not ask for it
// (WGSL rejects an f16 type anywhere in a module without `enable f16`, even in an unused function).

const files = import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<
  string,
  string
>;

const byName = new Map<string, string>();
for (const [path, text] of Object.entries(files)) {
  byName.set(path.replace(/^.*\//, '').replace(/\.wgsl$/, ''), text);
}

export type ShaderFeature = 'subgroups' | 'f16';

export function shaderNames(): string[] {
  return [...byName.keys()].sort();
}

/** The WGSL text of shaders/<name>.wgsl, with `enable` lines for the requested features. */
export function shaderSource(name: string, features: readonly ShaderFeature[] = []): string {
  const text = byName.get(name);
  if (text === undefined) throw new Error(`No shader "${name}" in shaders/ (have: ${shaderNames().join(', ')})`);
  const enables = features.map((f) => `enable ${f};\n`).join('');
  return enables + keepFeatureBlocks(text, features, name);
}

/** Drops the `// @if <feature>` .. `// @endif` blocks of features not enabled (blank lines keep line numbers). */
function keepFeatureBlocks(text: string, features: readonly ShaderFeature[], name: string): string {
  let dropping: string | null = null;
  const lines = text.split('\n').map((line, i) => {
    const open = /^\s*\/\/ @if (\S+)\s*$/.exec(line);
    if (open) {
      if (dropping !== null) throw new Error(`shaders/${name}.wgsl:${i + 1}: nested "// @if" blocks are not supported`);
      dropping = features.includes(open[1] as ShaderFeature) ? '' : open[1];
      return '';
    }
    if (/^\s*\/\/ @endif\s*$/.test(line)) {
      if (dropping === null) throw new Error(`shaders/${name}.wgsl:${i + 1}: "// @endif" without "// @if"`);
      dropping = null;
      return '';
    }
    return dropping ? '' : line;
  });
  if (dropping !== null) throw new Error(`shaders/${name}.wgsl: "// @if" block not closed`);
  return lines.join('\n');
}
