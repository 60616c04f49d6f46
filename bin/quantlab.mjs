#!/usr/bin/env node
// `npx quantlab ...` from the repository: runs the CLI bundle that `npm install` builds (npm run build:cli).
import { existsSync } from 'node:fs';

const bundle = new URL('../dist-cli/quantlab.mjs', import.meta.url);
if (!existsSync(bundle)) {
  console.error('quantlab: the CLI is not built yet. Run `npm install` (or `npm run build:cli`) in the project folder.');
  process.exit(2);
}
await import(bundle.href);
