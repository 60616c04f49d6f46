import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

// onnxruntime-web (the benchmark's peer) loads its wasm and glue from a URL at run time: serve them at /ort/
// in dev and copy them into the build, straight from node_modules (26 MB, never committed).
function ortAssets(): Plugin {
  const dist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm'));
  const files = ['ort-wasm-simd-threaded.asyncify.wasm', 'ort-wasm-simd-threaded.asyncify.mjs'];
  return {
    name: 'quantlab-ort-assets',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const f = files.find((x) => req.url?.endsWith(`/ort/${x}`));
        if (!f) return next();
        res.setHeader('Content-Type', f.endsWith('.wasm') ? 'application/wasm' : 'text/javascript');
        res.end(readFileSync(join(dist, f)));
      });
    },
    writeBundle(options) {
      const out = join(options.dir ?? 'dist', 'ort');
      mkdirSync(out, { recursive: true });
      for (const f of files) copyFileSync(join(dist, f), join(out, f));
    },
  };
}

// The lab: a static site. public/ (bundled models and data) is served as is.
export default defineConfig({
  plugins: [react(), ortAssets()],
  appType: 'mpa', // a missing file is a 404, not index.html: model downloads probe optional files
  server: { host: '127.0.0.1', port: 5173, strictPort: false },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true },
  build: { outDir: 'dist', target: 'es2022', chunkSizeWarningLimit: 8000 },
  worker: { format: 'es' },
});
