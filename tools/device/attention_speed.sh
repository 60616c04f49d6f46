#!/usr/bin/env bash
# GPU machine: the attention kernels' GPU time (quantlab --profile: a pass per dispatch, timestamps around each)
# in the cases that matter, for this build (dist-cli) and, when carried, an earlier one (dist-cli-old: build
# `npm run build:cli` in a git worktree of the earlier commit and copy its dist-cli here as dist-cli-old).
# Checkpoints: quantlab synth of published shapes cut to LAYERS layers (attention's cost per layer does not
# depend on the depth). Cases:
#   prefill  a PREFILL-token prompt, 1 token: one attention dispatch per layer over PREFILL rows
#   decode   an 8-token prompt, NEW tokens: decode steps with few keys (and one 8-row prefill per layer)
#   long     a LONG-token prompt, NEW tokens: this build names the prefill (flash) and the steps (decode,
#            decode_combine) apart; an earlier build's one kernel sums both
#   steps    without --profile: the GPU time of a whole decode step (timestamps per chunk of steps) after an
#            8-token and after a LONG-token prompt, both builds: what the longer context adds to a step
#   calib    quantize --calib CALIB (CALIB sequences of 2048 tokens, 4-bit, G=128): the calibration passes
# Writes $OUT/attention-speed.txt (one line per build, shape, case and attention kernel: GPU ms in all,
# dispatches, us per dispatch, share of the run's GPU time; one line per build, shape and context for steps)
# and $OUT/attention-speed.jsonl (every profile row, and the steps' numbers).
# device run, carry [".devcarry", "dist-cli", "dist-cli-old"]: bash tools/device/attention_speed.sh
# Env: SHAPES (default "qwen3-0.6b qwen2.5-0.5b"), LAYERS (2), PREFILL (2048), NEW (64), LONG (8192), CALIB (8),
# CASES (default all five). Off the GPU (a dry run on SwiftShader, where the serial kernels run):
#   SHAPES=smollm2-135m LAYERS=1 PREFILL=64 NEW=4 LONG=300 CALIB=1 CASES="prefill decode long steps" bash tools/device/attention_speed.sh
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
SHAPES=${SHAPES:-qwen3-0.6b qwen2.5-0.5b}; LAYERS=${LAYERS:-2}; PREFILL=${PREFILL:-2048}; NEW=${NEW:-64}; LONG=${LONG:-8192}; CALIB=${CALIB:-8}
CASES=${CASES:-prefill decode long steps calib}
if [ -f .devcarry/env.sh ]; then source .devcarry/env.sh >/dev/null || exit 1; else export VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json}; fi
W=${WORK:-/tmp/attention-speed}; mkdir -p "$W"
JSONL=$OUT/attention-speed.jsonl; : > "$JSONL"
builds=(new); [ -d dist-cli-old ] && builds=(old new)
cli() { if [ "$1" = old ]; then echo "node dist-cli-old/quantlab.mjs"; else echo "node dist-cli/quantlab.mjs"; fi; }
text() { python3 -c "import sys;n=int(sys.argv[1]);t='the quick brown fox jumps over the lazy dog ';print((t*(n//len(t)+1))[:n])" "$1"; }
# appends the run's profile rows (or, for steps, its GPU ms per decode step) to the JSONL file, tagged
keep() { python3 -c "
import json,sys
d=json.load(open(sys.argv[1]))
tag={'build':sys.argv[2],'shape':sys.argv[3],'case':sys.argv[4]}
if sys.argv[4].startswith('steps'): print(json.dumps({**tag,'prompt_tokens':d['prompt_tokens'],'gpu_ms_per_step':d.get('gpu_ms_per_step')}))
for r in d.get('profile',[]): print(json.dumps({**tag,**r}))" "$@" >> "$JSONL"; }
gen() { # build shape case prompt-tokens new-tokens [--profile]
  $(cli $1) generate --model "$W/$2" --prompt "$(text "$4")" --max-tokens "$5" --ignore-eos --warmup --json ${6:-} > "$W/run.json" 2> "$W/run.err" \
    && keep "$W/run.json" $1 $2 $3 || { echo "$1 $2 $3 failed"; tail -3 "$W/run.err"; }
}
node dist-cli/quantlab.mjs gpu > "$W/gpu.json" 2>/dev/null && head -c 240 "$W/gpu.json"; echo
for shape in $SHAPES; do
  M=$W/$shape
  [ -f "$M/config.json" ] || node dist-cli/quantlab.mjs synth --shape "$shape" --layers "$LAYERS" --out "$M" > /dev/null || exit 1
  for b in "${builds[@]}"; do
    for c in $CASES; do
      case $c in
        prefill) gen $b $shape $c "$PREFILL" 1 --profile ;;
        decode) gen $b $shape $c 8 "$NEW" --profile ;;
        long) gen $b $shape $c "$LONG" "$NEW" --profile ;;
        steps) gen $b $shape steps-short 8 "$NEW"; gen $b $shape steps-long "$LONG" "$NEW" ;;
        calib) rm -rf "$W/q"
          $(cli $b) quantize --model "$M" --bits 4 --group 128 --calib "$CALIB" --profile --out "$W/q" $([ $b = new ] && echo --json) > "$W/run.json" 2> "$W/run.err" \
            && keep "$W/run.json" $b $shape $c || { echo "$b $shape $c failed"; tail -3 "$W/run.err"; } ;;
        *) echo "unknown case $c"; exit 1 ;;
      esac
    done
  done
done
python3 - "$JSONL" <<'EOF' | tee "$OUT/attention-speed.txt"
import json, sys
from collections import defaultdict
rows = [json.loads(l) for l in open(sys.argv[1])]
total = defaultdict(float)
att = defaultdict(lambda: [0.0, 0])
for r in rows:
    if 'kernel' not in r: continue
    key = (r['build'], r['shape'], r['case'])
    total[key] += r['ms']
    if r['kernel'].startswith('attention:'):
        a = att[key + (r['kernel'],)]
        a[0] += r['ms']; a[1] += r['dispatches']
print('# build shape case kernel gpu-ms dispatches us/dispatch share-of-run')
for (b, s, c, k), (ms, n) in sorted(att.items()):
    t = total.get((b, s, c))
    print(b, s, c, k, f'{ms:.3f}', n, f'{1000 * ms / n:.1f}', f'{ms / t:.1%}' if t else '-')
print('# build shape steps prompt-tokens gpu-ms-per-decode-step')
for r in rows:
    if 'gpu_ms_per_step' in r:
        g = r['gpu_ms_per_step']
        print(r['build'], r['shape'], r['case'], r['prompt_tokens'], f'{g:.3f}' if g is not None else '-')
EOF
