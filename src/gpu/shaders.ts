// The one shader loader. Every WGSL file in shaders/ is imported as text by Vite's glob import, which works
// the same in the browser bundle, in Vitest (Dawn) and in the Vite-built CLI: one code path for the text.
// Files hold no `enable` directives; the loader prepends those a variant asks for. Code that needs a feature
// sits between `// @if <feature>` and `// @endif` lines (with an optional `// @else` branch for the variants
// without it) and is dropped when the variant does not ask for it (WGSL rejects an f16 type anywhere in a
// module without `enable f16`, even in an unused function).

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

/**
 * Keeps the `// @if <feature>` .. (`// @else` ..) `// @endif` branch that applies to the enabled features and
 * blanks the other (blank lines keep the file's line numbers in compile errors).
 */
function keepFeatureBlocks(text: string, features: readonly ShaderFeature[], name: string): string {
  // inside a block: whether its lines are kept; null outside
  let keep: boolean | null = null;
  let seenElse = false;
  const lines = text.split('\n').map((line, i) => {
    const where = `shaders/${name}.wgsl:${i + 1}`;
    const open = /^\s*\/\/ @if (\S+)\s*$/.exec(line);
    if (open) {
      if (keep !== null) throw new Error(`${where}: nested "// @if" blocks are not supported`);
      keep = features.includes(open[1] as ShaderFeature);
      seenElse = false;
      return '';
    }
    if (/^\s*\/\/ @else\s*$/.test(line)) {
      if (keep === null || seenElse) throw new Error(`${where}: "// @else" outside an "// @if" block`);
      keep = !keep;
      seenElse = true;
      return '';
    }
    if (/^\s*\/\/ @endif\s*$/.test(line)) {
      if (keep === null) throw new Error(`${where}: "// @endif" without "// @if"`);
      keep = null;
      return '';
    }
    return keep === false ? '' : line;
  });
  if (keep !== null) throw new Error(`shaders/${name}.wgsl: "// @if" block not closed`);
  return lines.join('\n');
}
