import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The lab: a static site. public/ (bundled models and data) is served as is.
export default defineConfig({
  plugins: [react()],
  appType: 'mpa', // a missing file is a 404, not index.html: model downloads probe optional files
  server: { host: '127.0.0.1', port: 5173, strictPort: false },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true },
  build: { outDir: 'dist', target: 'es2022', chunkSizeWarningLimit: 8000 },
  worker: { format: 'es' },
});
