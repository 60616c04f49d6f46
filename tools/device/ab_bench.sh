#!/usr/bin/env bash
# GPU machine: the kernel benchmark of several CLI builds (BUILDS, default "dist-cli-old dist-cli": an earlier
# build, see decode_speed.sh, and this one) in turn, RUNS rounds, same arguments; one JSON per build and round in
# $OUT, and a table of GPU µs per contender side by side (tools/device/ab_table.py: last build / first build).
# device run, carry [".devcarry", "dist-cli", "dist-cli-old"]:
#   ARGS="--f16 --batches 1 --bits 4,8 --no-ort --gemv-kernels f32,f16" RUNS=2 bash tools/device/ab_bench.sh
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"; RUNS=${RUNS:-2}; BUILDS=${BUILDS:-dist-cli-old dist-cli}
source .devcarry/env.sh >/dev/null || exit 1
files=()
for r in $(seq $RUNS); do
  for b in $BUILDS; do
    f="$OUT/ab-$b-$r.json"; files+=("$f")
    timeout ${RUN_TIMEOUT:-200} node $b/quantlab.mjs bench --json --out "$f" ${ARGS:-} > /dev/null 2> /tmp/ab-$b-$r.err || { echo "$b run $r failed"; tail -3 /tmp/ab-$b-$r.err; }
  done
done
python3 tools/device/ab_table.py "${files[@]}"
