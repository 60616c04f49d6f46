#!/usr/bin/env bash
# GPU machine, one visit per shape: a full-depth checkpoint of a published shape (quantlab synth, random bf16
# weights), checked against transformers (fp32) on the same files, and timed beside its peers in the same run.
#   correctness  logits of 512 tokens (max |lab - hf| / max |hf|, argmax agreement), WikiText-2 token perplexity
#                over the same windows, the lab's GPTQ export dequantized independently (numpy) vs the lab's
#                packed forward pass (tools/golden/realsize_check.py)
#   speed        load; GPTQ of the whole model (4-bit, G=128, act-order, sequential, C_b = CALIB x 2048) beside
#                the PyTorch reference (tools/golden/gptq_model.py); decode tokens/s (128 tokens after an 8-token
#                prompt) and prefill of 512 tokens, float and 4-bit, beside transformers bf16 (tools/golden/hf_speed.py)
#   profile      GPU time per kernel of a decode and of the GPTQ run (PROFILE=1)
# Before (on this machine): bash tools/device/prepare_carry.sh
# device run, carry [".devcarry", "dist-cli"]: bash tools/device/realsize.sh qwen3-0.6b   (then llama-3.2-1b)
# Env: CALIB (default 8), PROFILE (default 1), SKIP (space-separated steps to skip: check peers gptq-ref profile)
# Writes into $OUT: <shape>-*.json and log-<shape>.txt. Off the GPU (dry run of the lab's side, SwiftShader):
#   LAYERS=1 TOKENS=16 NEW=4 PREFILL=32 WINDOWS=1 SKIP="check peers gptq-ref" bash tools/device/realsize.sh smollm2-135m
set -uo pipefail
SHAPE=${1:?usage: realsize.sh SHAPE (qwen3-0.6b, llama-3.2-1b, ...)}
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
exec > >(tee -a "$OUT/log-$SHAPE.txt") 2>&1
CALIB=${CALIB:-8}; TOKENS=${TOKENS:-512}; NEW=${NEW:-128}; PREFILL=${PREFILL:-512}; WINDOWS=${WINDOWS:-4}; PROFILE=${PROFILE:-1}
skip() { [[ " ${SKIP:-} " == *" $1 "* ]]; }
if [ -f .devcarry/env.sh ]; then source .devcarry/env.sh >/dev/null || exit 1; F16=--f16; else F16=; export VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json}; fi
Q="node dist-cli/quantlab.mjs"
W=${WORK:-/tmp/realsize}; M=$W/$SHAPE; Q4=$W/$SHAPE-q4; mkdir -p "$W"
stamp() { date -u +"%H:%M:%S $*"; }
# wall time and max RSS of a command where GNU time is installed (the lab's own JSON reports its memory anyway)
timed() { if [ -x /usr/bin/time ]; then /usr/bin/time -f "$1 %e s wall, %M KB max RSS" "${@:2}"; else "${@:2}"; fi; }
stamp "start $SHAPE"
$Q gpu $F16 > "$OUT/gpu.json" 2>/dev/null; head -c 200 "$OUT/gpu.json"; echo

# the checkpoint (the same files for the lab and transformers)
[ -f "$M/config.json" ] || timed synth $Q synth --shape "$SHAPE" ${LAYERS:+--layers $LAYERS} --out "$M" || exit 1
du -sh "$M"
BOS=$(python3 -c "import json;c=json.load(open('$M/config.json'));print(1 if c.get('vocab_size')==128256 else 0)")
# prompts of the byte-level tokenizer: one token a character (Llama 3 adds its BOS)
prompt() { python3 -c "import sys;n=int(sys.argv[1]);print(('the quick brown fox jumps over the lazy dog ' * 64)[:n])" "$(( $1 - BOS ))"; }
ids=$(python3 -c "import random;r=random.Random(0);print(','.join(str(r.randrange(1000,1256)) for _ in range($TOKENS)))")

stamp "logits (float)"
$Q logits --model "$M" --tokens "$ids" --out "$W/lab-logits.safetensors" $F16 > "$OUT/$SHAPE-logits.json" && cat "$OUT/$SHAPE-logits.json"
stamp "perplexity (float)"
$Q eval --model "$M" --tasks ppl --suite real --ppl-windows "$WINDOWS" $F16 > "$OUT/$SHAPE-ppl.json"
ppl=$(python3 -c "import json;print(json.load(open('$OUT/$SHAPE-ppl.json'))['perplexity'][0]['ppl'])"); echo "lab perplexity $ppl"

stamp "GPTQ 4-bit G=128 act-order C_b=$CALIB x 2048 (lab)"
rm -rf "$Q4"
timed quantize $Q quantize --model "$M" --bits 4 --group 128 --calib "$CALIB" --out "$Q4" $F16 > "$OUT/$SHAPE-quantize.json" \
  && python3 -c "import json;d=json.load(open('$OUT/$SHAPE-quantize.json'));print('lab GPTQ', round(d['seconds'],1), 's; memory', d['memory'])"
stamp "logits (GPTQ export, packed)"
$Q logits --model "$Q4" --tokens "$ids" --out "$W/lab-q4-logits.safetensors" $F16 > "$OUT/$SHAPE-q4-logits.json"

if ! skip check; then
  stamp "check against transformers"
  timeout 600 python3 tools/golden/realsize_check.py --model "$M" --lab-logits "$W/lab-logits.safetensors" --lab-ppl "$ppl" --windows "$WINDOWS" \
    --wikitext public/data/wikitext2_test.txt --q4 "$Q4" --lab-q4-logits "$W/lab-q4-logits.safetensors" > "$OUT/$SHAPE-check.json"
  cat "$OUT/$SHAPE-check.json"
fi

stamp "decode and prefill (lab)"
gen() { # name model weights prompt-tokens new-tokens [extra]
  $Q generate --model "$2" --weights "$3" --prompt "$(prompt "$4")" --max-tokens "$5" --ignore-eos --warmup --json $F16 ${6:-} > "$OUT/$SHAPE-$1.json" 2> "$W/$1.err" \
    && python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print(sys.argv[2], 'prompt', d['prompt_tokens'], 'decode', round(d['decode_tokens_per_second'] or 0,1), 'tok/s; first token', round(1000*d['first_token_seconds'],1), 'ms; record', round(d['record_ms_per_step'],3), 'ms/step; load', round(d['load_seconds'],1), 's; host peak', d['memory']['host_peak_bytes']>>20, 'MiB; gpu peak', d['memory']['gpu_peak_bytes']>>20, 'MiB')" "$OUT/$SHAPE-$1.json" "$1" \
    || { echo "$1 failed"; tail -3 "$W/$1.err"; }
}
gen decode-float "$M" auto 8 "$NEW"
gen decode-float-f32 "$M" f32 8 "$NEW"
gen decode-q4 "$Q4" auto 8 "$NEW"
gen prefill-float "$M" auto "$PREFILL" 1
gen prefill-q4 "$Q4" auto "$PREFILL" 1

if [ "$PROFILE" = 1 ] && ! skip profile; then
  stamp "profiles"
  gen profile-float "$M" auto 8 32 "--profile --steps-per-read 4"
  gen profile-q4 "$Q4" auto 8 32 "--profile --steps-per-read 4"
  rm -rf "$W/q4p"; $Q quantize --model "$M" --bits 4 --group 128 --calib "$CALIB" --profile --out "$W/q4p" $F16 > "$OUT/$SHAPE-quantize-profile.json" 2> "$W/qp.err"; grep -A26 "GPU time by kernel" "$W/qp.err"
  for f in profile-float profile-q4; do grep -A26 "GPU time by kernel" "$W/$f.err"; done
fi
if ! skip peers; then
  stamp "transformers bf16 (decode, prefill)"
  timeout 600 python3 tools/golden/hf_speed.py --model "$M" --prompt 8 --new "$NEW" --prefill "$PREFILL" > "$OUT/$SHAPE-hf-speed.json"; cat "$OUT/$SHAPE-hf-speed.json"
fi
if ! skip gptq-ref; then
  stamp "GPTQ PyTorch reference, whole model, C_b=$CALIB"
  timeout 900 python3 tools/golden/gptq_model.py --model "$M" --calib "$CALIB" --act-order > "$OUT/$SHAPE-gptq-ref.json"; cat "$OUT/$SHAPE-gptq-ref.json"
fi
stamp "done $SHAPE"
