#!/usr/bin/env bash
# `npm test`: every test of the lab, on a machine without a GPU (WebGPU on SwiftShader).
#   1. system packages (Chromium, Vulkan loader)   2. type check   3. unit + kernel tests (Vitest, Dawn)
#   4. production build   5. browser end-to-end tests (Playwright, Debian's Chromium)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== type check" >&2
npx tsc --noEmit -p .
npm run --silent build:cli   # the CLI tests run the built bundle
echo "== unit and kernel tests (Vitest, Dawn on SwiftShader)" >&2
npx vitest run
echo "== build" >&2
npx vite build --logLevel warn
echo "== browser tests (Playwright, Chromium on SwiftShader)" >&2
npx playwright test
