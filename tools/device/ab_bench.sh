#!/usr/bin/env bash
# GPU machine: the kernel benchmark of this build (dist-cli) and an earlier one (dist-cli-old, see
# decode_speed.sh) alternately, RUNS times each, same arguments; one JSON per run in $OUT, and a table of GPU µs
# per contender and run side by side (tools/device/ab_table.py).
# device run, carry [".devcarry", "dist-cli", "dist-cli-old"]:
#   ARGS="--f16 --batches 1 --bits 4,8 --no-ort --gemv-kernels f32,f16" RUNS=2 bash tools/device/ab_bench.sh
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"; RUNS=${RUNS:-2}
source .devcarry/env.sh >/dev/null || exit 1
for r in $(seq $RUNS); do
  for b in old new; do
    dir=dist-cli; [ $b = old ] && dir=dist-cli-old
    timeout ${RUN_TIMEOUT:-200} node $dir/quantlab.mjs bench --json --out "$OUT/ab-$b-$r.json" ${ARGS:-} > /dev/null 2> "$OUT/ab-$b-$r.err" || { echo "$b run $r failed"; tail -3 "$OUT/ab-$b-$r.err"; }
  done
done
python3 tools/device/ab_table.py "$OUT"/ab-*.json
