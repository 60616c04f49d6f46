#!/usr/bin/env bash
# GPU machine, a short visit: what the matrix units and the Dawn toggles they need do to prefill and decode, one
# published shape (random weights, float and RTN 4-bit G=128), this build beside a previous one (OLD, a CLI bundle
# built from an older commit), every run warmed up first:
#   plain   no --f16 (no toggles: f32 arithmetic on f16-stored weights)
#   f16     --f16 (shader-f16 and allow_unsafe_apis: the matrix units offered, not used)
#   mma     --f16 with QUANTLAB_MATRIX_UNITS=all: every GEMM on the matrix units (this build only)
#   rev-f16 a third build (REV) as f16
# device run, carry [".devcarry", ".bundles"] (bash tools/device/prepare_carry.sh; OLD / REV bundles put in .bundles by hand):
#   OLD=dist-cli-prev REV=dist-cli-rewrite bash tools/device/prefill_ab.sh [SHAPE]
# Knobs: CKPTS (float q4), WHAT (prefill decode), VARIANTS (the five above), PROFILES (mma f16 old), BENCH (1).
# Off the GPU: DEVCARRY_ICD=/usr/lib/chromium/vk_swiftshader_icd.json LAYERS=1 PREFILL=32 TOKENS=4 bash tools/device/prefill_ab.sh smollm2-135m
set -uo pipefail
SHAPE=${1:-qwen3-0.6b}; OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
source .devcarry/env.sh > /dev/null || exit 1
source tools/device/unpack_bundles.sh
REVDIR=${REV:-dist-cli-rewrite}
OLDDIR=${OLD:-dist-cli-prev}; W=${WORK:-/tmp/decode-ab}/$SHAPE; mkdir -p "$W"
date -u +"%Y-%m-%dT%H:%M:%SZ start $SHAPE"
Q="node dist-cli/quantlab.mjs"
$Q gpu --f16 > "$OUT/gpu.json" 2> "$W/gpu.err"; python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print(d['adapter']['description'], '; matrix units:', json.dumps(d.get('matrixUnits')))" "$OUT/gpu.json" || head -c 600 "$OUT/gpu.json"
[ -f "$W/float/config.json" ] || $Q synth --shape "$SHAPE" ${LAYERS:+--layers $LAYERS} --out "$W/float" > /dev/null || exit 1
[ -f "$W/q4/config.json" ] || $Q quantize --model "$W/float" --method rtn --bits 4 --group 128 --out "$W/q4" > /dev/null || exit 1
prompt=$(python3 -c "print(('the quick brown fox jumps over the lazy dog ' * 64)[:${PREFILL:-512} - 1])")
show() { python3 -c "
import json,sys
t=open(sys.argv[1]).read(); t=t[t.find('{'):]
d=json.loads(t)
print(sys.argv[2].ljust(28), 'prompt', d.get('prompt_tokens'), 'first token', round(d['first_token_seconds']*1000,2), 'ms; gpu', round(d.get('gpu_ms_per_step') or 0,3), 'ms/step; decode', round(d.get('decode_tokens_per_second') or 0,1), 'tok/s; tokens', hash(tuple(d['tokens']))%100000)" "$1" "$2"; }
run() { # name cli env flags model prompt tokens
  local name=$1 cli=$2 envs=$3 flags=$4 model=$5 p=$6 n=$7
  env $envs node "$cli/quantlab.mjs" generate --model "$W/$model" --prompt "$p" --max-tokens "$n" --ignore-eos --json --warmup $flags > "$OUT/$name.json" 2> "$W/$name.err" && show "$OUT/$name.json" "$name" || { echo "$name failed"; tail -3 "$W/$name.err"; }
}
for m in ${CKPTS:-float q4}; do
  for what in ${WHAT:-prefill decode}; do
    if [ $what = prefill ]; then p=$prompt; n=1; else p="the quick"; n=${TOKENS:-128}; fi
    for v in ${VARIANTS:-old-plain new-plain old-f16 new-f16 new-mma}; do
      case $v in
        old-plain) [ -d "$OLDDIR" ] && run "$what-$m-$v" "$OLDDIR" "" "" $m "$p" $n ;;
        new-plain) run "$what-$m-$v" dist-cli "" "" $m "$p" $n ;;
        old-f16) [ -d "$OLDDIR" ] && run "$what-$m-$v" "$OLDDIR" "" "--f16" $m "$p" $n ;;
        new-f16) run "$what-$m-$v" dist-cli "QUANTLAB_MATRIX_UNITS=0" "--f16" $m "$p" $n ;;
        new-mma) run "$what-$m-$v" dist-cli "QUANTLAB_MATRIX_UNITS=all" "--f16" $m "$p" $n ;;
        rev-f16) [ -d "$REVDIR" ] && run "$what-$m-$v" "$REVDIR" "QUANTLAB_MATRIX_UNITS=0" "--f16" $m "$p" $n ;;
      esac
    done
  done
  # GPU time by kernel (a pass per dispatch): this build with and without the matrix units, and the previous build
  for v in ${PROFILES-mma f16 old}; do
    case $v in mma) cli=dist-cli; envs=QUANTLAB_MATRIX_UNITS=all ;; f16) cli=dist-cli; envs=QUANTLAB_MATRIX_UNITS=0 ;; old) cli=$OLDDIR; envs="" ;; rev) cli=$REVDIR; envs=QUANTLAB_MATRIX_UNITS=0 ;; esac
    [ -d "$cli" ] || continue
    env $envs node "$cli/quantlab.mjs" generate --model "$W/$m" --prompt "$prompt" --max-tokens 1 --ignore-eos --json --warmup --f16 --profile > /dev/null 2> "$OUT/profile-$v-$m.err" \
      && { echo "profile $v $m"; grep -A5 "GPU time by kernel" "$OUT/profile-$v-$m.err"; }
  done
done
# the packed GEMM alone at M = PREFILL, the Qwen3-0.6B / Llama-3.2-1B shapes, with and without the matrix units
[ "${BENCH:-1}" = 1 ] && B=(bench --f16 --shapes ${BENCH_SHAPES:-1024x4096,1024x3072,3072x1024,2048x8192,8192x2048} --batches ${PREFILL:-512} --bits 4 --no-ort --gemv-kernels f32 --json)
for mu in $([ "${BENCH:-1}" = 1 ] && echo 1 0); do
  QUANTLAB_MATRIX_UNITS=$([ $mu = 1 ] && echo all || echo 0) timeout 150 $Q "${B[@]}" --out "$OUT/bench-mma$mu.json" > /dev/null 2> "$W/bench-mma$mu.err" || tail -3 "$W/bench-mma$mu.err"
done
python3 - "$OUT" <<'PY'
import json, os, sys
rows = {}
for mu in ('1', '0'):
    p = os.path.join(sys.argv[1], f'bench-mma{mu}.json')
    if not os.path.exists(p): continue
    for r in json.load(open(p))['kernels']['rows']:
        if r['M'] > 1: rows.setdefault((f"{r['K']}x{r['N']}", r['M'], r['contender']), {})[mu] = r
for (shape, m, who), v in rows.items():
    f = lambda r: '-' if r is None else f"{r['gpuMicros']:.1f} us ({2 * r['M'] * r['K'] * r['N'] / r['gpuMicros'] / 1e6:.1f} TFLOP/s, {r['check']})"
    print(f"GEMM {shape} M={m} {who}: with matrix units {f(v.get('1'))}; without {f(v.get('0'))}")
PY
date -u +"%Y-%m-%dT%H:%M:%SZ done"
