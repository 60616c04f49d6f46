#!/usr/bin/env bash
# GPU machine, one call (under 10 minutes; run on 2026-12-07: bench/results/2026-12-07-h100-race-llama.txt and
# 2026-12-07-h100-prefill-clocks.txt, section 1):
#   1. prefill and decode of the Qwen3-0.6B shape: this build, the build before the matrix units (OLD) and the
#      build with the rewritten f32 tile (REV), f16, and this build on the matrix units (prefill_ab.sh)
#   2. the race against transformers.js at the Llama-3.2-1B shape (its export now in external data) and again
#      at Qwen3-0.6B's, with the prefill's top logits compared (onnx_race.sh)
# Before (on this machine): bash tools/device/prepare_carry.sh, with .bundles/dist-cli-prev.mjs.xz (commit 03a0b4f)
# and .bundles/dist-cli-rewrite.mjs.xz (commit 4f71a0f) put there (xz -9 of each one's npm run build:cli).
# device run, carry [".devcarry", ".benchcarry", ".onnxcarry", ".bundles"]: bash tools/device/visit.sh
# Writes into $OUT: ab.txt, race.txt, race.md, visit.tgz (everything else). Off the GPU (a dry run on SwiftShader):
#   DEVCARRY_ICD=/usr/lib/chromium/vk_swiftshader_icd.json AB_SHAPE=smollm2-135m LAYERS=1 PREFILL=16 TOKENS=3 DECODE=8 RACE_MODELS=qwen3-dict-74k bash tools/device/visit.sh
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/ab" "$OUT/race"
source tools/device/unpack_bundles.sh
OUT=$OUT/ab VARIANTS="old-f16 new-f16 rev-f16 new-mma" PROFILES="" BENCH=0 OLD=dist-cli-prev REV=dist-cli-rewrite \
  timeout ${AB_TIMEOUT:-230} bash tools/device/prefill_ab.sh "${AB_SHAPE:-qwen3-0.6b}" > "$OUT/ab.txt" 2>&1
grep -v "^warning" "$OUT/ab.txt" | tail -30
OUT=$OUT/race MODELS="${RACE_MODELS:-llama-3.2-1b qwen3-0.6b}" REPS=1 RACE_TIMEOUT=150 \
  timeout ${RACE_TOTAL:-330} bash tools/device/onnx_race.sh > "$OUT/race.txt" 2>&1
cp "$OUT/race/race.md" "$OUT/" 2> /dev/null; cat "$OUT/race.md" 2> /dev/null || tail -20 "$OUT/race.txt"
(cd "$OUT" && tar czf visit.tgz ab race 2> /dev/null && rm -rf ab race)
