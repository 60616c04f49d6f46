#!/usr/bin/env bash
# GPU machine: decode speed end to end (greedy generation, and whole evaluations, the unit of a sweep) of this build
# (dist-cli) and, when carried, an earlier one (dist-cli-old: build it from another commit in a git worktree),
# float and GPTQ 4-bit models, REPS runs each, one line per run: build, model, steps per read, tokens, tokens/s
# of the whole call, tokens/s after the first token (this build only: the first step compiles the pipelines),
# a hash of the tokens (the same tokens every time, or the chained decode is wrong).
# device run, carry [".devcarry", "dist-cli", "dist-cli-old"]: bash tools/device/decode_speed.sh
# SKIP_GENERATE=1: only quantize and the evaluations; SKIP_EVAL=1: no evaluations; FLAGS: extra options of
# generate and eval in both builds (e.g. --f16). Off the GPU (a dry run on SwiftShader): REPS=1 TOKENS=8 MODELS=llama-dict-74k bash tools/device/decode_speed.sh
set -uo pipefail
REPS=${REPS:-3}; TOKENS=${TOKENS:-200}; MODELS=${MODELS:-llama-dict-2.4m qwen3-dict-2.4m}
source .devcarry/env.sh >/dev/null || exit 1
builds=(new); [ -d dist-cli-old ] && builds=(old new)
cli() { if [ "$1" = old ]; then echo "node dist-cli-old/quantlab.mjs"; else echo "node dist-cli/quantlab.mjs"; fi; }
row() { python3 -c "import json,sys;d=json.load(open('/tmp/g.json'));r=d.get('decode_tokens_per_second');print(sys.argv[1], len(d['tokens']), round(d['tokens_per_second'],1), round(r,1) if r else '-', hash(tuple(d['tokens'])) % 100000)" "$1"; }
echo "# build model steps-per-read tokens tokens/s decode-tokens/s token-hash"
for m in $MODELS; do
  [ -n "${SKIP_GENERATE:-}" ] && { node dist-cli/quantlab.mjs quantize --model $m --bits 4 --group 32 --calib 32 --out /tmp/q-$m > /dev/null 2>&1; continue; }
  node dist-cli/quantlab.mjs quantize --model $m --bits 4 --group 32 --calib 32 --out /tmp/q-$m > /dev/null 2>&1 || echo "quantize $m failed"
  for src in public/models/$m /tmp/q-$m; do
    for b in "${builds[@]}"; do
      spr=(default); [ $b = new ] && spr=(1 default)
      for s in "${spr[@]}"; do
        flag=""; [ $s != default ] && flag="--steps-per-read $s"
        for r in $(seq $REPS); do
          $(cli $b) generate --model $src --prompt "dog (noun):" --max-tokens $TOKENS --json $flag ${FLAGS:-} > /tmp/g.json 2>/tmp/g.err \
            && row "$b $src $s" || { echo "$b $src $s failed"; tail -3 /tmp/g.err; }
        done
      done
    done
  done
done
[ -n "${SKIP_EVAL:-}" ] && exit 0
# a whole evaluation (perplexity and the KM / KA / KR tasks at their default limits: one configuration of a
# sweep), seconds as the command reports them, float and 4-bit
echo "# build model eval-seconds"
for m in $MODELS; do
  for src in public/models/$m /tmp/q-$m; do
    for b in "${builds[@]}"; do
      for r in $(seq $REPS); do
        $(cli $b) eval --model $src ${FLAGS:-} > /tmp/e.json 2>/tmp/e.err \
          && python3 -c "import json,sys;print(sys.argv[1], round(json.load(open('/tmp/e.json'))['seconds'],2))" "$b $src" \
          || { echo "$b $src eval failed"; tail -3 /tmp/e.err; }
      done
    done
  done
done
