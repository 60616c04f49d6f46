// The one shader loader. Every WGSL file in shaders/ is imported as text by Vite's glob import, which works
// the same in the browser bundle, in Vitest (Dawn) and in the Vite-built CLI: one code path for the text.
// Files hold no `enable` directives; the loader prepends those a variant asks for. Code that needs a feature
// sits between `// @if <feature>` and `// @endif` lines (with an optional `// @else` branch for the variants
// without it) and is dropped when the variant does not ask for it (WGSL rejects an f16 type anywhere in a
// module without `enable f16`, even in an unused function). The same blocks select variants by a define
// (KernelSpec.defines, e.g. `weights_f16`: the storage type of a binding), which adds no `enable` line. `// @clone SUFFIX name ...` copies functions
// onto other bindings (see cloneFunctions). `// @include NAME` adds another file's declarations (see includeFiles).

const files = import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<
  string,
  string
>;

const byName = new Map<string, string>();
for (const [path, text] of Object.entries(files)) {
  byName.set(path.replace(/^.*\//, '').replace(/\.wgsl$/, ''), text);
}

export type ShaderFeature = 'subgroups' | 'f16' | 'subgroup_matrix';

/**
 * The directives each feature puts in front of a module. subgroup_matrix (the matrix units; Dawn's experimental
 * extension) is used with f16 and subgroups; its uniformity analysis is stricter than its kernels need (they call
 * it in workgroup-uniform control flow).
 */
const DIRECTIVES: Record<ShaderFeature, string> = {
  subgroups: 'enable subgroups;\n',
  f16: 'enable f16;\n',
  subgroup_matrix: 'enable chromium_experimental_subgroup_matrix;\ndiagnostic(off, chromium_experimental.subgroup_matrix_uniformity);\n',
};

export function shaderNames(): string[] {
  return [...byName.keys()].sort();
}

/** The WGSL text of shaders/<name>.wgsl, with `enable` lines for the requested features and the defines' blocks. */
export function shaderSource(name: string, features: readonly ShaderFeature[] = [], defines: readonly string[] = []): string {
  const text = byName.get(name);
  if (text === undefined) throw new Error(`No shader "${name}" in shaders/ (have: ${shaderNames().join(', ')})`);
  return expandShader(text, features, name, defines);
}

/** A shader file's text as compiled: `enable` lines for the features, feature and define blocks resolved, clones added. */
export function expandShader(text: string, features: readonly ShaderFeature[], name: string, defines: readonly string[] = []): string {
  const enables = features.map((f) => DIRECTIVES[f]).join('');
  return enables + cloneFunctions(includeFiles(text, [...features, ...defines], name, [name], new Set([name])), name);
}

/**
 * `// @include NAME` appends shaders/NAME.wgsl (its blocks resolved, its own includes followed) after the file's
 * last line: a kernel kept apart from the family whose bindings and readers it uses (WGSL declarations may
 * come in any order, and a module may declare entry points and bindings that the compiled one does not use).
 * The file keeps its line numbers in compile errors; the included text follows a `// ---- shaders/NAME.wgsl` line.
 * Its `// @clone` lines apply to the whole text. A file reached by two paths is added once (`added`).
 */
function includeFiles(text: string, features: readonly string[], name: string, path: readonly string[], done: Set<string>): string {
  const added: string[] = [];
  const lines = keepFeatureBlocks(text, features, name).split('\n').map((line, i) => {
    const m = /^\s*\/\/ @include (\w+)\s*$/.exec(line);
    if (!m) return line;
    const other = byName.get(m[1]);
    if (other === undefined) throw new Error(`shaders/${name}.wgsl:${i + 1}: "// @include" names "${m[1]}", which shaders/ does not have`);
    if (path.includes(m[1])) throw new Error(`shaders/${name}.wgsl:${i + 1}: "// @include ${m[1]}" leads back to itself (${[...path, m[1]].join(' -> ')})`);
    if (done.has(m[1])) return '';
    done.add(m[1]);
    added.push(`// ---- shaders/${m[1]}.wgsl\n${includeFiles(other, features, m[1], [...path, m[1]], done)}`);
    return '';
  });
  return [...lines, ...added].join('\n');
}

/**
 * A shader-f16 variant's text with its half-precision arithmetic done in f32, for adapters without shader-f16
 * (Gpu.emulateF16: the tests of the f16 kernels' indexing and decoding on SwiftShader). The kernels build f16
 * values only by bitcasting u32s to pairs (`bitcast<vec2<f16>>(u)`, here `unpack2x16float(u)`: the same values)
 * and converting f32s (other bitcasts to f16 types are refused; f16 bit patterns must not be read back as
 * integers, which the text cannot check); every f16 type becomes f32, so products and sums are more precise
 * than on a real f16 adapter.
 */
export function emulateF16(text: string, name: string): string {
  if (/bitcast<(f16|vec[34]<f16>)>/.test(text)) {
    throw new Error(`shaders/${name}.wgsl: only bitcast<vec2<f16>>(u32) can be emulated in f32`);
  }
  return text.replace(/^enable f16;\n/m, '').replace(/bitcast<vec2<f16>>\(/g, 'unpack2x16float(').replace(/\bf16\b/g, 'f32');
}

/**
 * `// @clone SUFFIX a b c ...` appends a copy of each listed function (from `fn a(` at the start of a line to
 * the first `}` that starts a line) in which every listed name, bindings and functions alike, takes the suffix:
 * one reader written once and run on other bindings (WGSL cannot pass a storage binding to a function). The
 * copies follow the file's last line, so compile errors keep pointing at the file's own lines. A function that
 * several lines copy with the same suffix is added once.
 */
function cloneFunctions(text: string, name: string): string {
  const lines = text.split('\n');
  const clones: string[] = [];
  for (const [i, line] of lines.entries()) {
    const m = /^\s*\/\/ @clone (\w+)((?: +\w+)+)\s*$/.exec(line);
    if (!m) continue;
    lines[i] = '';
    const body = lines.join('\n');
    const suffix = m[1], names = m[2].trim().split(/ +/);
    const rename = new RegExp(`\\b(${names.join('|')})\\b`, 'g');
    for (const n of names) {
      if (!new RegExp(`\\b${n}\\b`).test(body)) throw new Error(`shaders/${name}.wgsl:${i + 1}: "// @clone" names "${n}", which the shader does not have`);
      const start = body.search(new RegExp(`^fn ${n}\\(`, 'm'));
      if (start < 0) continue; // a binding (or a constant): renamed in the copies only
      const end = body.indexOf('\n}', start);
      if (end < 0) throw new Error(`shaders/${name}.wgsl: fn ${n} has no closing "}" at the start of a line`);
      const copy = body.slice(start, end + 2).replace(rename, `$1${suffix}`);
      // a function two lines copy (a file's and one it includes) must come out the same: it is added once
      const before = clones.find((c) => c.startsWith(`fn ${n}${suffix}(`));
      if (before === undefined) clones.push(copy);
      else if (before !== copy) throw new Error(`shaders/${name}.wgsl: two "// @clone ${suffix}" lines (its own or an included file's) copy fn ${n} differently: list the names it uses alike in both`);
    }
  }
  const out = lines.join('\n');
  return clones.length ? `${out}\n${clones.join('\n\n')}\n` : out;
}

/**
 * Keeps the `// @if <feature>` .. (`// @else` ..) `// @endif` branch that applies to the enabled features and
 * blanks the other (blank lines keep the file's line numbers in compile errors).
 */
function keepFeatureBlocks(text: string, features: readonly string[], name: string): string {
  // inside a block: whether its lines are kept; null outside
  let keep: boolean | null = null;
  let seenElse = false;
  const lines = text.split('\n').map((line, i) => {
    const where = `shaders/${name}.wgsl:${i + 1}`;
    const open = /^\s*\/\/ @if (\S+)\s*$/.exec(line);
    if (open) {
      if (keep !== null) throw new Error(`${where}: nested "// @if" blocks are not supported`);
      keep = features.includes(open[1]);
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
