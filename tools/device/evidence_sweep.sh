#!/usr/bin/env bash
# GPU machine, one visit: the family sweep that the study's claims are checked on -- the shortcut-free task files,
# the family preset (B 2/3/4 x G 32/64/128 x C_b 2/8/32/128 sequences of 32 tokens, one 8-bit point, every item
# of every task), all eight bundled models in parallel -- then the fits and the targets (evidence_targets.py).
#   device run, carry [".devcarry", "dist-cli"] (bash tools/device/prepare_carry.sh builds both):
#     bash tools/device/evidence_sweep.sh [SWEEP_SECONDS (default 540)]
#   A visit cut short resumes: carry the last run's sweep.jsonl back as .benchcarry/evidence-sweep.jsonl.
#   Here, without a GPU (SwiftShader), the same pipeline on the smallest model, 6 points, 3 items a task (~2 min):
#     bash tools/device/evidence_sweep.sh --dry-run
# Writes into $OUT: sweep.jsonl (raw, for resuming), family-sweep.jsonl.gz (for examples/), fit.txt, fit.json,
# fit-holdout.txt, targets.txt, log.txt
set -uo pipefail
cd "$(dirname "$0")/../.."
source tools/device/common.sh
if [ "${1:-}" = "--dry-run" ]; then
  use_swiftshader
  MODELS=${MODELS:-qwen3-dict-74k}
  GRID=${GRID:---bits 2,3,4 --group 32,64 --calib 2 --seqlen 32 --limit 3 --ppl-windows 1}
  SWEEP_SECONDS=${2:-600}
else
  source .devcarry/env.sh || exit 1
  MODELS=${MODELS:-$(cd public/models && ls -d */ | tr -d / | tr '\n' ' ')}
  GRID=${GRID:---preset family}
  SWEEP_SECONDS=${1:-540}
fi
date -u +"%Y-%m-%dT%H:%M:%SZ start"
$Q gpu | head -c 300; echo
mkdir -p /tmp/evidence
t0=$(date +%s)
pids=()
for m in $MODELS; do
  # resume: rows a cut-short visit stored (the sweep skips every configuration already done)
  [ -f .benchcarry/evidence-sweep.jsonl ] && grep "\"model\":\"$m\"" .benchcarry/evidence-sweep.jsonl > /tmp/evidence/$m.jsonl
  timeout "$SWEEP_SECONDS" $Q sweep --model "$m" $GRID --out /tmp/evidence/$m.jsonl > /tmp/evidence/$m.log 2>&1 &
  pids+=($!)
done
wait "${pids[@]}" # not a bare `wait`: it would also wait for the tee of the log, forever
echo "sweep wall seconds: $(( $(date +%s) - t0 ))"
for m in $MODELS; do echo "$m: $(tail -1 /tmp/evidence/$m.log)"; done
cat $(for m in $MODELS; do echo /tmp/evidence/$m.jsonl; done) > "$OUT/sweep.jsonl"; wc -l "$OUT/sweep.jsonl"
gzip -9 -n -c "$OUT/sweep.jsonl" > "$OUT/family-sweep.jsonl.gz"
# the study's main fit (3/4/8 bits, 2 bits apart), every level and ablation; validation and generalisation
$Q fit "$OUT/sweep.jsonl" --ablations --published qwen3 > "$OUT/fit.txt" 2>&1
$Q fit "$OUT/sweep.jsonl" --ablations --published qwen3 --json > "$OUT/fit.json" 2>/dev/null
for h in family:llama qwen3-dict-2.4m llama-dict-2.4m; do echo "== --holdout $h"; $Q fit "$OUT/sweep.jsonl" --holdout $h; done > "$OUT/fit-holdout.txt" 2>&1
python3 tools/device/evidence_targets.py "$OUT/sweep.jsonl" "$OUT/fit.json" | tee "$OUT/targets.txt"
date -u +"%Y-%m-%dT%H:%M:%SZ end"
