// Builds the Node CLI (src/cli/main.ts) into one ES module, dist-cli/quantlab.mjs, with every dependency
// bundled except the native WebGPU binding. Vite's glob import inlines shaders/*.wgsl, exactly as in the
// browser bundle. The same file runs on the GPU machine (tools/device/).
import { builtinModules } from 'node:module';
import { defineConfig } from 'vite';

export default defineConfig({
  publicDir: false, // the CLI reads public/ from the repository, it does not copy it
  build: {
    ssr: 'src/cli/main.ts',
    outDir: 'dist-cli',
    emptyOutDir: true,
    target: 'node20',
    minify: false,
    sourcemap: false,
    rollupOptions: {
      // onnxruntime-web stays external: it loads its 26 MB wasm next to its own module (the benchmark's peer)
      external: ['webgpu', /^onnxruntime-web/, ...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
      output: { entryFileNames: 'quantlab.mjs', format: 'es', codeSplitting: false },
    },
  },
  ssr: { noExternal: true, target: 'node' },
  logLevel: 'warn',
});
