#!/usr/bin/env bash
# GPU machine, one visit per shape: a full-depth checkpoint of a published shape (quantlab synth, random bf16
# weights), checked against transformers (fp32) on the same files, and timed beside its peers in the same run.
#   check    logits of 512 tokens (max |lab - hf| / max |hf|, argmax agreement), WikiText-2 token perplexity over
#            the same windows, the lab's GPTQ export dequantized independently (numpy) vs the lab's packed forward
#            pass (tools/golden/realsize_check.py)
#   speed    load; decode tokens/s (NEW tokens after an 8-token prompt) and prefill of PREFILL tokens, float and
#            4-bit, decode again recording every step anew (--record-steps), beside transformers bf16 (tools/golden/hf_speed.py) and, when dist-cli-old is carried, the
#            previous build on the same checkpoints (tokens compared)
#   gptq     the lab's GPTQ of the whole model (4-bit, G=128, act-order, sequential, C_b = CALIB x 2048) beside
#            the PyTorch reference (tools/golden/gptq_model.py) and the previous build; GPTQ_FULL=1 adds C_b = 128
#   profile  what each kernel of a decode step costs (float and 4-bit, generate --ablate), GPU time per kernel of a prefill
#   profile-gptq  GPU time per kernel of a GPTQ run
# Before (on this machine): bash tools/device/prepare_carry.sh; for the A/B, the previous build's CLI in dist-cli-old
# device run, carry [".devcarry", "dist-cli", "dist-cli-old"]: bash tools/device/realsize.sh qwen3-0.6b
# Env: CALIB (default 8), SKIP (space-separated steps: gptq check speed peers old old-gptq gptq-ref profile profile-gptq), GPTQ_FULL.
# Writes into $OUT: summary-<shape>.json (every step's JSON) and log-<shape>.txt. Off the GPU (a dry run of
# the lab's side on SwiftShader):
#   LAYERS=1 TOKENS=16 NEW=4 PREFILL=32 WINDOWS=1 CALIB=1 QARGS="--seqlen 64" SKIP="check peers gptq-ref" bash tools/device/realsize.sh smollm2-135m
set -uo pipefail
SHAPE=${1:?usage: realsize.sh SHAPE (qwen3-0.6b, llama-3.2-1b, ...)}
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
exec > >(tee -a "$OUT/log-$SHAPE.txt") 2>&1
CALIB=${CALIB:-8}; TOKENS=${TOKENS:-512}; NEW=${NEW:-128}; PREFILL=${PREFILL:-512}; WINDOWS=${WINDOWS:-4}
skip() { [[ " ${SKIP:-} " == *" $1 "* ]]; }
if [ -f .devcarry/env.sh ]; then source .devcarry/env.sh >/dev/null || exit 1; F16=--f16; else F16=; export VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json}; fi
Q="node dist-cli/quantlab.mjs"; OLD="node dist-cli-old/quantlab.mjs"
[ -d dist-cli-old ] || SKIP="${SKIP:-} old"
W=${WORK:-/tmp/realsize}; R=$W/$SHAPE-json; M=$W/$SHAPE; Q4=$W/$SHAPE-q4; mkdir -p "$W" "$R"
stamp() { date -u +"%H:%M:%S $*"; }
timed() { if [ -x /usr/bin/time ]; then /usr/bin/time -f "$1 %e s wall, %M KB max RSS" "${@:2}"; else "${@:2}"; fi; }
stamp "start $SHAPE"
$Q gpu $F16 > "$R/gpu.json" 2>/dev/null; head -c 200 "$R/gpu.json"; echo

# the checkpoint (the same files for the lab and transformers)
[ -f "$M/config.json" ] || timed synth $Q synth --shape "$SHAPE" ${LAYERS:+--layers $LAYERS} --out "$M" || exit 1
du -sh "$M"
BOS=$(python3 -c "import json;c=json.load(open('$M/config.json'));print(1 if c.get('vocab_size')==128256 else 0)")
# prompts of the byte-level tokenizer: one token a character (Llama 3 adds its BOS)
prompt() { python3 -c "import sys;n=int(sys.argv[1]);print(('the quick brown fox jumps over the lazy dog ' * 64)[:n])" "$(( $1 - BOS ))"; }
ids=$(python3 -c "import random;r=random.Random(0);print(','.join(str(r.randrange(1000,1256)) for _ in range($TOKENS)))")

if ! skip gptq; then
stamp "GPTQ 4-bit G=128 act-order C_b=$CALIB x 2048 (lab)"
rm -rf "$Q4"
timed quantize $Q quantize --model "$M" --bits 4 --group 128 --calib "$CALIB" --out "$Q4" $F16 ${QARGS:-} --json > "$R/quantize.json" 2> "$W/quantize.err" \
  && python3 -c "import json;d=json.load(open('$R/quantize.json'));print('lab GPTQ', round(d['seconds'],1), 's; memory', d['memory'])" || tail -5 "$W/quantize.err"
fi

if ! skip check; then
  stamp "logits and perplexity (lab), check against transformers"
  $Q logits --model "$M" --tokens "$ids" --out "$W/lab-logits.safetensors" $F16 > "$R/logits.json"
  $Q logits --model "$Q4" --tokens "$ids" --out "$W/lab-q4-logits.safetensors" $F16 > "$R/q4-logits.json"
  $Q eval --model "$M" --tasks ppl --suite real --ppl-windows "$WINDOWS" $F16 > "$R/ppl.json" 2> "$W/ppl.err"
  ppl=$(python3 -c "import json;print(json.load(open('$R/ppl.json'))['perplexity'][0]['ppl'])")
  timeout 600 python3 tools/golden/realsize_check.py --model "$M" --lab-logits "$W/lab-logits.safetensors" --lab-ppl "$ppl" --windows "$WINDOWS" \
    --wikitext public/data/wikitext2_test.txt --q4 "$Q4" --lab-q4-logits "$W/lab-q4-logits.safetensors" > "$R/check.json"
  cat "$R/check.json"
fi

gen() { # name cli model prompt-tokens new-tokens [extra]
  $2 generate --model "$3" --prompt "$(prompt "$4")" --max-tokens "$5" --ignore-eos --json $F16 ${6:-} > "$R/$1.json" 2> "$W/$1.err" \
    && python3 -c "import json,sys;d=json.load(open(sys.argv[1]));g=lambda k,s=1:round((d.get(k) or 0)*s,3);print(sys.argv[2], 'prompt', d.get('prompt_tokens'), 'decode', g('decode_tokens_per_second'), 'tok/s; first token', g('first_token_seconds',1000), 'ms; gpu', g('gpu_ms_per_step'), 'record', g('record_ms_per_step'), 'ms/step; load', g('load_seconds'), 's; tokens', hash(tuple(d['tokens']))%100000, d.get('memory',''))" "$R/$1.json" "$1" \
    || { echo "$1 failed"; tail -3 "$W/$1.err"; }
}
if ! skip speed; then
  stamp "decode and prefill"
  gen decode-float "$Q" "$M" 8 "$NEW" --warmup
  gen decode-q4 "$Q" "$Q4" 8 "$NEW" --warmup
  gen prefill-float "$Q" "$M" "$PREFILL" 1 --warmup
  gen prefill-q4 "$Q" "$Q4" "$PREFILL" 1 --warmup
  # the same build recording every decode step anew (what replaying one frozen step saves)
  gen record-decode-float "$Q" "$M" 8 "$NEW" "--warmup --record-steps"
  gen record-decode-q4 "$Q" "$Q4" 8 "$NEW" "--warmup --record-steps"
fi
if ! skip old && ! skip speed; then
  # the previous build on the same checkpoints (it has no --warmup: its first token includes compiling)
  gen old-decode-float "$OLD" "$M" 8 "$NEW"
  gen old-decode-q4 "$OLD" "$Q4" 8 "$NEW"
fi
if ! skip profile; then
  stamp "profiles"
  # decode: the step's GPU time with each kernel left out in turn (--ablate: what each costs where it runs, gaps
  # included; a pass per dispatch, as --profile times it, adds tens of microseconds to each)
  gen ablate-decode-float "$Q" "$M" 8 "$NEW" "--warmup --ablate"
  echo "ablate-decode-float"; grep -A30 "GPU time a step" "$W/ablate-decode-float.err"
  if [ -f "$Q4/config.json" ]; then
    gen ablate-decode-q4 "$Q" "$Q4" 8 "$NEW" "--warmup --ablate"
    echo "ablate-decode-q4"; grep -A30 "GPU time a step" "$W/ablate-decode-q4.err"
  fi
  gen profile-prefill "$Q" "$M" "$PREFILL" 1 "--profile --warmup"
  echo "profile-prefill"; grep -A16 "GPU time by kernel" "$W/profile-prefill.err"
fi
if ! skip profile-gptq; then
  rm -rf "$W/q4p"; $Q quantize --model "$M" --bits 4 --group 128 --calib "$CALIB" --profile --out "$W/q4p" $F16 ${QARGS:-} --json > "$R/quantize-profile.json" 2> "$W/qp.err"
  echo "quantize-profile"; grep -A25 "GPU time by kernel" "$W/qp.err"
fi
if ! skip peers; then
  stamp "transformers bf16 (decode, prefill)"
  timeout 600 python3 tools/golden/hf_speed.py --model "$M" --prompt 8 --new "$NEW" --prefill "$PREFILL" > "$R/hf-speed.json"; cat "$R/hf-speed.json"
fi
if ! skip old && ! skip old-gptq; then
  stamp "GPTQ C_b=$CALIB (previous build)"
  rm -rf "$W/old-q4"; timed quantize-old $OLD quantize --model "$M" --bits 4 --group 128 --calib "$CALIB" --out "$W/old-q4" ${QARGS:-} > "$R/old-quantize.json" 2> "$W/old-quantize.err" \
    && python3 -c "import json;d=json.load(open('$R/old-quantize.json'));print('previous build GPTQ', round(d['seconds'],1), 's')" || tail -3 "$W/old-quantize.err"
fi
if ! skip gptq-ref; then
  stamp "GPTQ PyTorch reference, whole model, C_b=$CALIB"
  timeout 900 python3 tools/golden/gptq_model.py --model "$M" --calib "$CALIB" --act-order > "$R/gptq-ref.json"; cat "$R/gptq-ref.json"
fi
if [ -n "${GPTQ_FULL:-}" ]; then
  stamp "GPTQ C_b=128 x 2048: lab, then the PyTorch reference"
  rm -rf "$W/q4-128"; timed quantize-128 $Q quantize --model "$M" --bits 4 --group 128 --calib 128 --out "$W/q4-128" $F16 --json > "$R/quantize-128.json" 2> "$W/q128.err" \
    && python3 -c "import json;d=json.load(open('$R/quantize-128.json'));print('lab GPTQ C_b=128', round(d['seconds'],1), 's; memory', d['memory'])" || tail -3 "$W/q128.err"
  skip gptq-ref || { timeout 900 python3 tools/golden/gptq_model.py --model "$M" --calib 128 --act-order > "$R/gptq-ref-128.json"; cat "$R/gptq-ref-128.json"; }
fi
# every step's JSON in one file (a run brings back a few files only); per-layer reports and token lists trimmed
python3 - "$R" "$OUT/summary-$SHAPE.json" <<'PY'
import json, os, sys
src, dst = sys.argv[1], sys.argv[2]
out = {}
for f in sorted(os.listdir(src)):
    try:
        d = json.load(open(os.path.join(src, f)))
    except Exception as e:
        out[f] = {"error": str(e)}
        continue
    if isinstance(d, dict):
        for k in ("layers", "completion"):
            d.pop(k, None)
        if isinstance(d.get("tokens"), list):
            d["tokens_hash"] = hash(tuple(d["tokens"])) % 100000
            d["tokens"] = d["tokens"][:16]
    out[f.removesuffix(".json")] = d
json.dump(out, open(dst, "w"), indent=1)
PY
stamp "done $SHAPE"
