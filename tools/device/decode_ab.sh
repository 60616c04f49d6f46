#!/usr/bin/env bash
# GPU machine, a short visit: decode of one published shape (random weights, float f16 and RTN 4-bit G=128) by this
# build and the previous one (dist-cli-old) on the same checkpoints, then this build's --ablate (what each kernel
# of a decode step costs where it runs) and the subgroup-matrix probe. The longer visit is realsize.sh.
# device run, carry [".devcarry", "dist-cli", "dist-cli-old"]: bash tools/device/decode_ab.sh [SHAPE]
# Off the GPU (a dry run on SwiftShader): DEVCARRY_ICD=/usr/lib/chromium/vk_swiftshader_icd.json LAYERS=1 TOKENS=8 bash tools/device/decode_ab.sh smollm2-135m
# Writes into $OUT: {new,old,ablate}-{float,q4}.json and the ablations' tables (ablate-*.err); prints one line a run.
set -uo pipefail
SHAPE=${1:-qwen3-0.6b}; OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
source .devcarry/env.sh > /dev/null || exit 1
Q="node dist-cli/quantlab.mjs"; OLD="node dist-cli-old/quantlab.mjs"; W=${WORK:-/tmp/decode-ab}/$SHAPE; mkdir -p "$W"
date -u +"%Y-%m-%dT%H:%M:%SZ start $SHAPE"
$Q gpu --f16 2> /dev/null | head -c 240; echo
[ -f "$W/float/config.json" ] || $Q synth --shape "$SHAPE" ${LAYERS:+--layers $LAYERS} --out "$W/float" > /dev/null || exit 1
[ -f "$W/q4/config.json" ] || $Q quantize --model "$W/float" --method rtn --bits 4 --group 128 --out "$W/q4" > /dev/null || exit 1
line() { python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print(sys.argv[2], round(d['decode_tokens_per_second'],1), 'tok/s; gpu', d.get('gpu_ms_per_step'), 'record', d.get('record_ms_per_step'), 'ms/step; tokens', hash(tuple(d['tokens'])) % 100000)" "$1" "$2"; }
for m in float q4; do
  args=(generate --model "$W/$m" --prompt "the quick" --max-tokens "${TOKENS:-128}" --ignore-eos --json --f16)
  $Q "${args[@]}" --warmup > "$OUT/new-$m.json" 2> "$W/new-$m.err" && line "$OUT/new-$m.json" "new-$m" || tail -3 "$W/new-$m.err"
  [ -d dist-cli-old ] && { $OLD "${args[@]}" > "$OUT/old-$m.json" 2> "$W/old-$m.err" && line "$OUT/old-$m.json" "old-$m" || tail -3 "$W/old-$m.err"; }
  $Q "${args[@]}" --warmup --ablate > "$OUT/ablate-$m.json" 2> "$OUT/ablate-$m.err" && grep -A24 "GPU time a step" "$OUT/ablate-$m.err" || tail -3 "$OUT/ablate-$m.err"
done
timeout 60 node tools/device/coopmat_probe.mjs 2>&1 | tee "$OUT/coopmat.txt" | tail -20
date -u +"%Y-%m-%dT%H:%M:%SZ done"
