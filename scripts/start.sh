#!/usr/bin/env bash
# `npm start`: serves the lab at http://localhost:5173 on the bundled default model. Open it in Chrome or Edge
# (on Linux with --enable-unsafe-webgpu if WebGPU is off). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "quantlab: open http://localhost:5173 in Chrome (WebGPU). Ctrl-C to stop." >&2
exec npx vite --host 127.0.0.1 --port 5173
