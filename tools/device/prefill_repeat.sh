#!/usr/bin/env bash
# GPU machine: the 511-token prefill of the Qwen3-0.6B shape (random weights; float f16 weights and RTN 4-bit G=128),
# REPS rounds of each build in turn (this one, OLD, REV; this one on the matrix units), each run with generate
# --warmup (which in each build here runs untimed for 500 ms after compiling: the GPU's clocks up), and the SM
# clock sampled every 50 ms beside them (smi.txt). Then, with RACE=1, the race at the Qwen3-0.6B shape.
# device run, carry [".devcarry", ".benchcarry", ".onnxcarry", ".bundles"]: bash tools/device/prefill_repeat.sh
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
source tools/device/unpack_bundles.sh > /dev/null 2>&1; source .devcarry/env.sh > /dev/null || exit 1
W=${WORK:-/tmp/decode-ab}/qwen3-0.6b; Q="node dist-cli/quantlab.mjs"
[ -f $W/float/config.json ] || $Q synth --shape qwen3-0.6b --out $W/float > /dev/null
[ -f $W/q4/config.json ] || $Q quantize --model $W/float --method rtn --bits 4 --group 128 --out $W/q4 > /dev/null 2>&1
p=$(python3 -c "print(('the quick brown fox jumps over the lazy dog ' * 64)[:511])")
nvidia-smi --query-gpu=timestamp,clocks.sm,utilization.gpu --format=csv,noheader -lms 50 > "$OUT/smi.txt" 2> /dev/null & S=$!
echo "time round model build first_token_ms gpu_ms record_ms first_token_id"
for r in $(seq ${REPS:-3}); do for m in float q4; do for v in old-f16 new-f16 rev-f16 new-mma; do
  case $v in old-f16) cli=dist-cli-prev; e=X=0;; new-f16) cli=dist-cli; e=QUANTLAB_MATRIX_UNITS=0;; rev-f16) cli=dist-cli-rewrite; e=QUANTLAB_MATRIX_UNITS=0;; new-mma) cli=dist-cli; e=QUANTLAB_MATRIX_UNITS=all;; esac
  [ -d $cli ] || continue
  echo -n "$(date +%T.%N | cut -c1-12) $r $m $v "
  env $e node $cli/quantlab.mjs generate --model $W/$m --prompt "$p" --max-tokens 1 --ignore-eos --json --warmup --f16 2> /dev/null \
    | python3 -c "import sys,json;t=sys.stdin.read();d=json.loads(t[t.find('{'):]);print(round(d['first_token_seconds']*1000,2), round(d['gpu_ms_per_step'],2), round(d['record_ms_per_step'],2), d['tokens'][0])" || echo failed
done; done; done
kill $S
[ "${RACE:-0}" = 1 ] && OUT=$OUT/race MODELS=qwen3-0.6b REPS=3 RACE_TIMEOUT=200 timeout 300 bash tools/device/onnx_race.sh > "$OUT/race.txt" 2>&1 && cat "$OUT/race/race.md"
(cd "$OUT" && tar czf repeat.tgz race smi.txt 2> /dev/null; rm -rf race)
