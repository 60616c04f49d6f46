#!/usr/bin/env bash
# On this machine, before a GPU visit: builds the three git-ignored folders a device run carries.
#   .devcarry   node, the Vulkan loader and Dawn for Node (../shared/device/prepare.sh)
#   .benchcarry onnxruntime-web's package.json and the dist files the bench imports, its 26 MB wasm xz'd
#   dist-cli    the CLI bundle (npm run build:cli)
#   .onnxcarry  the race against transformers.js, one xz'd module (tools/device/onnx_race_build.mjs)
#   .bundles    CLI bundles xz'd: this build's (dist-cli.mjs.xz) beside any older ones put there for A/B runs
#               (NAME.mjs.xz unpacks to NAME/quantlab.mjs on the GPU machine: tools/device/unpack_bundles.sh)
# Then: device run, carry [".devcarry", ".benchcarry", "dist-cli"], e.g. bash tools/device/bench_and_sweep.sh bench
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
[ -d node_modules/onnxruntime-web ] || npm install
bash ../shared/device/prepare.sh
ort=node_modules/onnxruntime-web
bc=.benchcarry/onnxruntime-web
mkdir -p $bc/dist
cp $ort/package.json $bc/
cp $ort/dist/ort.webgpu.bundle.min.mjs $ort/dist/ort-wasm-simd-threaded.asyncify.mjs $bc/dist/
wasm=$ort/dist/ort-wasm-simd-threaded.asyncify.wasm
if [ ! -s .benchcarry/ort-wasm-simd-threaded.asyncify.wasm.xz ] || [ $wasm -nt .benchcarry/ort-wasm-simd-threaded.asyncify.wasm.xz ]; then
  xz -T0 -9 -c $wasm > .benchcarry/ort-wasm-simd-threaded.asyncify.wasm.xz
fi
npm run -s build:cli > /dev/null
node tools/device/onnx_race_build.mjs > /dev/null
mkdir -p .bundles && xz -9 -c dist-cli/quantlab.mjs > .bundles/dist-cli.mjs.xz
du -sh .devcarry .benchcarry dist-cli .onnxcarry .bundles
tree=$(git ls-files -z | xargs -0 stat -c %s | awk '{s += $1} END {print s}')
carry=$(du -sb .devcarry .benchcarry dist-cli .onnxcarry | awk '{s += $1} END {print s}')
echo "the race's carry with the tree: $(( (tree + carry) / 1048576 )) MiB of 64"
visit=$(du -sb .devcarry .benchcarry .onnxcarry .bundles | awk '{s += $1} END {print s}')
echo "visit.sh's carry (.devcarry .benchcarry .onnxcarry .bundles) with the tree: $(( (tree + visit) / 1048576 )) MiB of 64"
echo "tracked: $(git ls-files -z | du -ch --files0-from=- | tail -1)"
