#!/usr/bin/env bash
# GPU machine: the attention kernels' GPU time (quantlab --profile: a pass per dispatch, timestamps around each)
# in the cases that matter, for this build (dist-cli) and, when carried, an earlier one (dist-cli-old: build
# `npm run build:cli` in a git worktree of the earlier commit and copy its dist-cli here as dist-cli-old).
# Checkpoints: quantlab synth of published shapes cut to LAYERS layers (attention's cost per layer does not
# depend on the depth). Cases:
#   prefill      a PREFILL-token prompt, 1 token: one attention dispatch per layer over PREFILL rows
#   decode       an 8-token prompt, NEW tokens: decode steps with few keys
#   longprefill  a LONG-token prompt, 1 token
#   long         a LONG-token prompt, NEW tokens; the summary's "long-decode" rows are long minus longprefill:
#                the decode steps at LONG .. LONG + NEW keys (the earlier build runs one kernel for both)
#   calib        quantize --calib CALIB (CALIB sequences of 2048 tokens, 4-bit, G=128): the calibration passes
# Writes $OUT/attention-speed.txt (one line per build, shape, case and attention kernel: GPU ms in all,
# dispatches, us per dispatch, share of the run's GPU time) and $OUT/attention-speed.jsonl (every profile row).
# device run, carry [".devcarry", "dist-cli", "dist-cli-old"]: bash tools/device/attention_speed.sh
# Env: SHAPES (default "qwen3-0.6b qwen2.5-0.5b"), LAYERS (2), PREFILL (2048), NEW (64), LONG (8192), CALIB (8),
# CASES (default all five). Off the GPU (a dry run on SwiftShader, where the serial kernels run):
#   SHAPES=smollm2-135m LAYERS=1 PREFILL=64 NEW=4 LONG=300 CALIB=1 CASES="prefill decode longprefill long" bash tools/device/attention_speed.sh
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
SHAPES=${SHAPES:-qwen3-0.6b qwen2.5-0.5b}; LAYERS=${LAYERS:-2}; PREFILL=${PREFILL:-2048}; NEW=${NEW:-64}; LONG=${LONG:-8192}; CALIB=${CALIB:-8}
CASES=${CASES:-prefill decode longprefill long calib}
if [ -f .devcarry/env.sh ]; then source .devcarry/env.sh >/dev/null || exit 1; else export VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json}; fi
W=${WORK:-/tmp/attention-speed}; mkdir -p "$W"
JSONL=$OUT/attention-speed.jsonl; : > "$JSONL"
builds=(new); [ -d dist-cli-old ] && builds=(old new)
cli() { if [ "$1" = old ]; then echo "node dist-cli-old/quantlab.mjs"; else echo "node dist-cli/quantlab.mjs"; fi; }
text() { python3 -c "import sys;n=int(sys.argv[1]);t='the quick brown fox jumps over the lazy dog ';print((t*(n//len(t)+1))[:n])" "$1"; }
# appends the run's profile rows to the JSONL file, tagged
keep() { python3 -c "
import json,sys
d=json.load(open(sys.argv[1]))
for r in d.get('profile',[]): print(json.dumps({'build':sys.argv[2],'shape':sys.argv[3],'case':sys.argv[4],**r}))" "$@" >> "$JSONL"; }
node dist-cli/quantlab.mjs gpu > "$W/gpu.json" 2>/dev/null && head -c 240 "$W/gpu.json"; echo
for shape in $SHAPES; do
  M=$W/$shape
  [ -f "$M/config.json" ] || node dist-cli/quantlab.mjs synth --shape "$shape" --layers "$LAYERS" --out "$M" > /dev/null || exit 1
  for b in "${builds[@]}"; do
    for c in $CASES; do
      case $c in
        prefill) prompt=$(text "$PREFILL"); n=1 ;;
        decode) prompt=$(text 8); n=$NEW ;;
        longprefill) prompt=$(text "$LONG"); n=1 ;;
        long) prompt=$(text "$LONG"); n=$NEW ;;
        calib) rm -rf "$W/q"
          $(cli $b) quantize --model "$M" --bits 4 --group 128 --calib "$CALIB" --profile --out "$W/q" > "$W/run.json" 2> "$W/run.err" \
            && keep "$W/run.json" $b $shape $c || { echo "$b $shape $c failed"; tail -3 "$W/run.err"; }
          continue ;;
        *) echo "unknown case $c"; exit 1 ;;
      esac
      $(cli $b) generate --model "$M" --prompt "$prompt" --max-tokens $n --ignore-eos --warmup --profile --json > "$W/run.json" 2> "$W/run.err" \
        && keep "$W/run.json" $b $shape $c || { echo "$b $shape $c failed"; tail -3 "$W/run.err"; }
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
    key = (r['build'], r['shape'], r['case'])
    total[key] += r['ms']
    if r['kernel'].startswith('attention:'):
        a = att[key + (r['kernel'],)]
        a[0] += r['ms']; a[1] += r['dispatches']
# the decode steps of the long case: long minus longprefill, kernel by kernel
for (b, s, c, k), (ms, n) in list(att.items()):
    if c == 'long':
        p = att.get((b, s, 'longprefill', k), [0.0, 0])
        if n - p[1] > 0: att[(b, s, 'long-decode', k)] = [ms - p[0], n - p[1]]
print('# build shape case kernel gpu-ms dispatches us/dispatch share-of-run')
for (b, s, c, k), (ms, n) in sorted(att.items()):
    t = total.get((b, s, c))
    print(b, s, c, k, f'{ms:.3f}', n, f'{1000 * ms / n:.1f}', f'{ms / t:.1%}' if t else '-')
EOF
