// The one shader loader. Every WGSL file in shaders/ is imported as text by Vite's glob import, which works
// the same in the browser bundle, in Vitest (Dawn) and in the Vite-built CLI: one code path for the text.
// Files hold no `enable` directives; the loader prepends those a variant asks for.

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
  return enables + text;
}
