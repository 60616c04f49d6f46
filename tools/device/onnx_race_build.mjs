// Builds .onnxcarry/ (git-ignored) for tools/device/onnx_race.sh: src/cli/onnx-race.ts and everything it imports
// (the lab, transformers.js) in one ES module, race.mjs. webgpu and onnxruntime-web stay external (the device
// run finds them through .devcarry and .benchcarry). transformers.js's Node build imports sharp (images, unused
// here: a stub) and requires onnxruntime-node at run time (unused: the race hands it onnxruntime-web; a stub
// package beside race.mjs). The bundle travels xz'd (race.mjs.xz, ~1/4 the size: the device run's carry is at
// most 64 MiB); onnx_race.sh unpacks it.   node tools/device/onnx_race_build.mjs
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build } from 'vite';

const out = '.onnxcarry';
const stub = join(out, 'stub');
mkdirSync(stub, { recursive: true });
writeFileSync(join(stub, 'sharp.mjs'), 'export default function sharp() { throw new Error("sharp is not carried to the GPU machine"); }\n');
await build({
  configFile: false,
  publicDir: false,
  logLevel: 'warn',
  resolve: { alias: { sharp: join(process.cwd(), stub, 'sharp.mjs') } },
  build: {
    ssr: 'src/cli/onnx-race.ts',
    outDir: out,
    emptyOutDir: false,
    target: 'node20',
    minify: false,
    rollupOptions: {
      external: ['webgpu', /^onnxruntime-web/, ...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
      output: { entryFileNames: 'race.mjs', format: 'es', codeSplitting: false },
    },
  },
  ssr: { noExternal: true, target: 'node' },
});
const ortNode = join(out, 'node_modules', 'onnxruntime-node');
mkdirSync(ortNode, { recursive: true });
writeFileSync(join(ortNode, 'package.json'), JSON.stringify({ name: 'onnxruntime-node', version: '0.0.0-stub', main: 'index.js' }) + '\n');
writeFileSync(join(ortNode, 'index.js'), 'module.exports = {};\n');
execFileSync('xz', ['-9', '-f', '-T0', join(out, 'race.mjs')]); // race.mjs -> race.mjs.xz
rmSync(join(out, 'race.mjs'), { force: true });
console.log(`${out}/race.mjs.xz built`);
