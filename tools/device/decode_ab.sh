#!/usr/bin/env bash
# GPU machine, a short visit: decode and a PREFILL-token prefill of one published shape (random weights, float f16
# and RTN 4-bit G=128) by this build and a previous one (OLD, default dist-cli-old: a CLI bundle built from an older
# commit) on the same checkpoints, then this build's --ablate (what each kernel of a decode step costs where it runs),
# its prefill --profile (GPU time by kernel), and with PROBE=1 the subgroup-matrix probe. The longer visit is realsize.sh.
# device run, carry [".devcarry", "dist-cli", "$OLD"]: bash tools/device/decode_ab.sh [SHAPE]
# Off the GPU (a dry run on SwiftShader): DEVCARRY_ICD=/usr/lib/chromium/vk_swiftshader_icd.json LAYERS=1 TOKENS=8 bash tools/device/decode_ab.sh smollm2-135m
# Writes into $OUT: {new,old,ablate}-{float,q4}.json and the ablations' tables (ablate-*.err); prints one line a run.
set -uo pipefail
SHAPE=${1:-qwen3-0.6b}; OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
source .devcarry/env.sh > /dev/null || exit 1
source tools/device/unpack_bundles.sh
OLDDIR=${OLD:-dist-cli-old}; Q="node dist-cli/quantlab.mjs"; OLD="node $OLDDIR/quantlab.mjs"; W=${WORK:-/tmp/decode-ab}/$SHAPE; mkdir -p "$W"
date -u +"%Y-%m-%dT%H:%M:%SZ start $SHAPE"
$Q gpu --f16 > "$OUT/gpu.json" 2> /dev/null; python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print(d['adapter']['description'], '; matrix units:', json.dumps(d.get('matrixUnits')))" "$OUT/gpu.json"
[ -f "$W/float/config.json" ] || $Q synth --shape "$SHAPE" ${LAYERS:+--layers $LAYERS} --out "$W/float" > /dev/null || exit 1
[ -f "$W/q4/config.json" ] || $Q quantize --model "$W/float" --method rtn --bits 4 --group 128 --out "$W/q4" > /dev/null || exit 1
line() { python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print(sys.argv[2], round(d['decode_tokens_per_second'],1), 'tok/s; gpu', d.get('gpu_ms_per_step'), 'record', d.get('record_ms_per_step'), 'ms/step; tokens', hash(tuple(d['tokens'])) % 100000)" "$1" "$2"; }
for m in float q4; do
  args=(generate --model "$W/$m" --prompt "the quick" --max-tokens "${TOKENS:-128}" --ignore-eos --json --f16)
  $Q "${args[@]}" --warmup > "$OUT/new-$m.json" 2> "$W/new-$m.err" && line "$OUT/new-$m.json" "new-$m" || tail -3 "$W/new-$m.err"
  [ -d "$OLDDIR" ] && { $OLD "${args[@]}" > "$OUT/old-$m.json" 2> "$W/old-$m.err" && line "$OUT/old-$m.json" "old-$m" || tail -3 "$W/old-$m.err"; }
  $Q "${args[@]}" --warmup --ablate > "$OUT/ablate-$m.json" 2> "$OUT/ablate-$m.err" && grep -A24 "GPU time a step" "$OUT/ablate-$m.err" || tail -3 "$OUT/ablate-$m.err"
done
prompt=$(python3 -c "print(('the quick brown fox jumps over the lazy dog ' * 64)[:${PREFILL:-512} - 1])")
pline() { python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print(sys.argv[2], 'prompt', d.get('prompt_tokens'), 'first token', round(d['first_token_seconds']*1000,2), 'ms; tokens', d['tokens'])" "$1" "$2"; }
for m in float q4; do
  args=(generate --model "$W/$m" --prompt "$prompt" --max-tokens 1 --ignore-eos --json --f16)
  $Q "${args[@]}" --warmup > "$OUT/prefill-new-$m.json" 2> "$W/prefill-new-$m.err" && pline "$OUT/prefill-new-$m.json" "prefill-new-$m" || tail -3 "$W/prefill-new-$m.err"
  QUANTLAB_MATRIX_UNITS=0 $Q "${args[@]}" --warmup > "$OUT/prefill-f32gemm-$m.json" 2> "$W/prefill-f32gemm-$m.err" && pline "$OUT/prefill-f32gemm-$m.json" "prefill-new-without-matrix-units-$m" || tail -3 "$W/prefill-f32gemm-$m.err"
  [ -d "$OLDDIR" ] && { $OLD "${args[@]}" --warmup > "$OUT/prefill-old-$m.json" 2> "$W/prefill-old-$m.err" && pline "$OUT/prefill-old-$m.json" "prefill-old-$m" || tail -3 "$W/prefill-old-$m.err"; }
  $Q "${args[@]}" --warmup --profile > /dev/null 2> "$OUT/prefill-profile-$m.err" && grep -A12 "GPU time by kernel" "$OUT/prefill-profile-$m.err" || tail -3 "$OUT/prefill-profile-$m.err"
done
[ "${PROBE:-0}" = 1 ] && timeout 60 node tools/device/coopmat_probe.mjs 2>&1 | tee "$OUT/coopmat.txt" | tail -20
date -u +"%Y-%m-%dT%H:%M:%SZ done"
