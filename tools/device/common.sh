# Sourced by the device scripts, from the repository root: everything they print also goes to $OUT/log.txt and
# the CLI is $Q; use_swiftshader sets up a dry run on a machine without a GPU, use_carried_ort the peer.
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
source tools/device/unpack_bundles.sh
Q="node dist-cli/quantlab.mjs"

# WebGPU on SwiftShader (the CPU Vulkan driver Chromium ships), the CLI built if it is not.
use_swiftshader() {
  export VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json} XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
  [ -f dist-cli/quantlab.mjs ] || npm run -s build:cli
}

# onnxruntime-web from .benchcarry (carried without its 26 MB wasm uncompressed), where the CLI finds it.
use_carried_ort() {
  ORT=/tmp/ortpkg/node_modules/onnxruntime-web
  mkdir -p $ORT/dist && cp .benchcarry/onnxruntime-web/package.json $ORT/ && cp .benchcarry/onnxruntime-web/dist/* $ORT/dist/
  [ -f $ORT/dist/ort-wasm-simd-threaded.asyncify.wasm ] || xz -dc .benchcarry/ort-wasm-simd-threaded.asyncify.wasm.xz > $ORT/dist/ort-wasm-simd-threaded.asyncify.wasm
  mkdir -p node_modules && ln -sfn $ORT node_modules/onnxruntime-web
  export QUANTLAB_ORT_DIR=$ORT/dist
}
