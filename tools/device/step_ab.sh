#!/usr/bin/env bash
# GPU machine, ~1.5 minutes a shape: the decode step of this build (dist-cli) against another (OLD, default
# dist-cli-head: a bundle in .bundles made by tools/device/build_bundle.sh) on the same checkpoints, builds
# alternating, two rounds: float (f16) and RTN 4-bit G=128 with a 4-bit G=128 LM head, 128 tokens after "the
# quick", --f16 --warmup; then this build's --ablate of the 4-bit model. With PROBE=1, the subgroup-matrix tile
# sweep (coopmat_probe.mjs wide) at the end. Prints one line a run: build, tokens/s, GPU ms a step, the tokens' hash.
# BUILDS: more bundles side by side (default "dist-cli $OLD"), MODELS (default "float q4h4"), ABLATE=0 skips --ablate.
# device run, carry [".devcarry", ".bundles"]: bash tools/device/step_ab.sh [SHAPES...]   (default qwen3-0.6b llama-3.2-1b)
# Off the GPU: DEVCARRY_ICD=/usr/lib/chromium/vk_swiftshader_icd.json LAYERS=1 TOKENS=4 bash tools/device/step_ab.sh smollm2-135m
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
source .devcarry/env.sh > /dev/null || exit 1
source tools/device/unpack_bundles.sh
OLD=${OLD:-dist-cli-head}; Q="node dist-cli/quantlab.mjs"; BUILDS=${BUILDS:-dist-cli $OLD}
date -u +"%Y-%m-%dT%H:%M:%SZ start: $BUILDS"
line() { python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print(sys.argv[2], round(d['decode_tokens_per_second'],1), 'tok/s; gpu', round(d.get('gpu_ms_per_step') or 0, 3), 'ms/step; tokens', hash(tuple(d['tokens'])) % 100000)" "$1" "$2"; }
for S in ${*:-qwen3-0.6b llama-3.2-1b}; do
  W=${WORK:-/tmp/step-ab}/$S; mkdir -p "$W"
  [ -f "$W/float/config.json" ] || $Q synth --shape "$S" ${LAYERS:+--layers $LAYERS} --out "$W/float" > /dev/null || exit 1
  [ -f "$W/q4h4/config.json" ] || $Q quantize --model "$W/float" --method rtn --bits 4 --group 128 --lm-head-bits 4 --lm-head-group 128 --out "$W/q4h4" > /dev/null 2>&1 || exit 1
  for r in 1 2; do
    for m in ${MODELS:-float q4h4}; do
      for b in $BUILDS; do
        node "$b/quantlab.mjs" generate --model "$W/$m" --prompt "the quick" --max-tokens "${TOKENS:-128}" --ignore-eos --json --f16 --warmup > "$OUT/$S-$m-$b-$r.json" 2> "$W/err" \
          && line "$OUT/$S-$m-$b-$r.json" "$S $m $b round $r" || tail -3 "$W/err"
      done
    done
  done
  if [ "${ABLATE:-1}" = 1 ]; then $Q generate --model "$W/q4h4" --prompt "the quick" --max-tokens "${TOKENS:-128}" --ignore-eos --json --f16 --warmup --ablate > /dev/null 2> "$W/ablate.err" && grep -A8 "GPU time a step" "$W/ablate.err" || tail -3 "$W/ablate.err"; fi
done
[ "${PROBE:-0}" = 1 ] && timeout 150 node tools/device/coopmat_probe.mjs wide 2>&1 | tail -40
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
date -u +"%Y-%m-%dT%H:%M:%SZ done"
