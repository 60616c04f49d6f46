#!/usr/bin/env bash
# GPU machine, ~4 minutes: the decode with the LM head quantized (GPTQModel's lm_head) beside the float head, at the
# published shapes (random weights): float f16; RTN 4-bit G=128 layers with the f16 head; the same with a 4-bit
# G=128 head, and with GPTQModel's default 8-bit G=32 head. 128 tokens, --warmup --f16, two rounds; then --ablate of
# the 4-bit-head model (the head's share of a step), and a GPTQ C_b=8 quantization with --lm-head (the head's solve).
# device run, carry [".devcarry", "dist-cli"]: bash tools/device/lm_head.sh [SHAPES...]
# Off the GPU: DEVCARRY_ICD=/usr/lib/chromium/vk_swiftshader_icd.json LAYERS=1 TOKENS=4 bash tools/device/lm_head.sh smollm2-135m
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
source .devcarry/env.sh > /dev/null || exit 1
Q="node dist-cli/quantlab.mjs"
date -u +"%Y-%m-%dT%H:%M:%SZ start"
line() { python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print(sys.argv[2], round(d['decode_tokens_per_second'],1), 'tok/s; gpu', round(d.get('gpu_ms_per_step') or 0, 3), 'ms/step; tokens', hash(tuple(d['tokens'])) % 100000)" "$1" "$2"; }
SHAPES=${*:-qwen3-0.6b llama-3.2-1b}
for S in $SHAPES; do
  W=${WORK:-/tmp/lm-head}/$S; mkdir -p "$W"
  [ -f "$W/float/config.json" ] || $Q synth --shape "$S" ${LAYERS:+--layers $LAYERS} --out "$W/float" > /dev/null || exit 1
  rtn=(quantize --model "$W/float" --method rtn --bits 4 --group 128)
  [ -f "$W/q4/config.json" ] || $Q "${rtn[@]}" --out "$W/q4" > /dev/null || exit 1
  [ -f "$W/q4h4/config.json" ] || $Q "${rtn[@]}" --lm-head-bits 4 --lm-head-group 128 --out "$W/q4h4" > /dev/null || exit 1
  [ -f "$W/q4h8/config.json" ] || $Q "${rtn[@]}" --lm-head --out "$W/q4h8" > /dev/null || exit 1
  du -sh "$W"/*/model.safetensors
  for r in 1 2; do
    for m in float q4 q4h4 q4h8; do
      $Q generate --model "$W/$m" --prompt "the quick" --max-tokens "${TOKENS:-128}" --ignore-eos --json --f16 --warmup > "$OUT/$S-$m-$r.json" 2> "$W/$m.err" && line "$OUT/$S-$m-$r.json" "$S $m round $r" || tail -3 "$W/$m.err"
    done
  done
  $Q generate --model "$W/q4h4" --prompt "the quick" --max-tokens "${TOKENS:-128}" --ignore-eos --json --f16 --warmup --ablate > /dev/null 2> "$OUT/$S-ablate-q4h4.err" && grep -A12 "GPU time a step" "$OUT/$S-ablate-q4h4.err" || tail -3 "$OUT/$S-ablate-q4h4.err"
done
# the head's GPTQ solve at the Qwen3-0.6B shape (151,936 x 1024 in slices of 32,768 rows)
W=${WORK:-/tmp/lm-head}/qwen3-0.6b
[ -f "$W/float/config.json" ] && $Q quantize --model "$W/float" --bits 4 --group 128 --calib 8 --lm-head --out "$W/gptq-h8" --json 2> /dev/null \
  | python3 -c "import json,sys;t=sys.stdin.read();d=json.loads(t[t.find('{'):]);h=d['head'];print('gptq C_b=8 with the head: total', round(d['seconds'],1), 's; head', h['method'], round(h['seconds'],2), 's, error', h['reconError'], 'damp', h['dampPercent'])"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
date -u +"%Y-%m-%dT%H:%M:%SZ done"
