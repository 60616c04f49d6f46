#!/usr/bin/env bash
# GPU machine, one visit: the adapter, the kernel benchmark (+ onnxruntime-web peer), GPTQ layer times beside
# the PyTorch reference, and the family sweep of every bundled model (one process per model, in parallel).
# device run, carry [".devcarry", ".benchcarry", "dist-cli"] (bash tools/device/prepare_carry.sh builds all three):
#   bash tools/device/bench_and_sweep.sh [bench,ppl,sweep|all] [SWEEP_SECONDS]
# BENCH_ARGS replaces the bench's arguments (e.g. GEMV tuning: --batches 1 --no-ort --gemv 32x8,16x32);
# GPTQ_REF=0 skips the PyTorch GPTQ timing; BENCH_TIMEOUT (seconds, default 300) bounds the bench.
# Writes into $OUT: gpu.json, bench.json, gptq_pytorch.jsonl, sweep.jsonl, log.txt
set -uo pipefail
WHAT=${1:-all}
SWEEP_SECONDS=${2:-420}
source tools/device/common.sh
source .devcarry/env.sh || exit 1
use_carried_ort
date -u +"%Y-%m-%dT%H:%M:%SZ start"
$Q gpu > "$OUT/gpu.json"; $Q gpu --f16 > "$OUT/gpu-f16.json"; head -c 400 "$OUT/gpu.json"; echo
pids=()
if [[ $WHAT == *bench* || $WHAT == all ]]; then
  timeout ${BENCH_TIMEOUT:-300} $Q bench --json --out "$OUT/bench.json" ${BENCH_ARGS:---gptq 1024x1024,4096x4096,11008x4096} > /dev/null
  echo "bench rc $?"
  if [[ ${GPTQ_REF:-1} == 1 ]]; then timeout 120 python3 tools/golden/gptq_time.py > "$OUT/gptq_pytorch.jsonl"; cat "$OUT/gptq_pytorch.jsonl"; fi
fi
if [[ $WHAT == *ppl* ]]; then
  # fp vs RTN vs GPTQ perplexity on the whole held-out text (README table), C_b = 128, sequential
  for m in qwen3-dict-74k qwen3-dict-2.4m; do
    timeout 240 $Q sweep --model $m --bits 2,3,4,8 --group 32,128 --calib 128 --methods gptq,rtn --tasks ppl --ppl-windows 100000 --out "$OUT/ppl-$m.jsonl" > /tmp/ppl-$m.log 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}"
  tail -2 /tmp/ppl-*.log
fi
if [[ $WHAT == *sweep* || $WHAT == all ]]; then
  mkdir -p /tmp/sweep
  # resume from a previous visit's partial results when carried back in
  [ -f .benchcarry/sweep.jsonl ] && cp .benchcarry/sweep.jsonl /tmp/sweep/previous.jsonl
  t0=$(date +%s)
  pids=()
  for m in $(cd public/models && ls -d */ | tr -d /); do
    [ -f /tmp/sweep/previous.jsonl ] && grep "\"model\":\"$m\"" /tmp/sweep/previous.jsonl > /tmp/sweep/$m.jsonl
    timeout "$SWEEP_SECONDS" $Q sweep --model "$m" --preset family ${SWEEP_ARGS:-} --out /tmp/sweep/$m.jsonl > /tmp/sweep/$m.log 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}" # not a bare `wait`: it would also wait for the tee of the log, forever
  echo "sweep wall seconds: $(( $(date +%s) - t0 ))"
  for m in $(cd public/models && ls -d */ | tr -d /); do tail -1 /tmp/sweep/$m.log; done
  cat /tmp/sweep/*.jsonl > "$OUT/sweep.jsonl"; wc -l "$OUT/sweep.jsonl"
fi
date -u +"%Y-%m-%dT%H:%M:%SZ end"
