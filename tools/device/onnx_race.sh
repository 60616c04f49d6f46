#!/usr/bin/env bash
# GPU machine, one visit: the lab against transformers.js (onnxruntime-web's WebGPU EP, run in Node on the same
# Dawn) on the same GPTQ 4-bit weights and GPU: decode tokens/s (DECODE new tokens after a PROMPT-token prompt)
# and prefill time (a PREFILL-token prompt to its first token), medians of REPS runs after a warm-up.
# Before (on this machine): bash tools/device/prepare_carry.sh && node tools/device/onnx_race_build.mjs
# device run, carry [".devcarry", ".benchcarry", "dist-cli", ".onnxcarry"] (63.5 MiB with the tree, of 64):
#   bash tools/device/onnx_race.sh [--model DIR ...]
# Targets: the arguments (--model DIR, repeatable: a GPTQ checkpoint, or a float one quantized here RTN 4-bit G=128),
# else MODELS (default "qwen3-0.6b llama-3.2-1b qwen3-dict-2.4m"): a published shape's name (`quantlab synth`: random
# bf16 weights, then RTN 4-bit G=128 here), or a bundled model (GPTQ 4-bit G=128 here, 32 calibration sequences).
# Each target is exported with `quantlab export --format onnx`; the lab runs the GPTQ folder with f32 and --f16
# kernels, transformers.js the ONNX folder. Writes into $OUT: race.md (the table), gpu.json and
# race-files.tgz (race-<name>-{lab,lab-f16,tjs,export}.json and each side's stderr). Off the GPU (a dry run on
# SwiftShader, no carry needed):
#   MODELS=qwen3-dict-74k DECODE=8 PREFILL=32 REPS=1 bash tools/device/onnx_race.sh
set -uo pipefail
source tools/device/common.sh
PROMPT=${PROMPT:-8}; DECODE=${DECODE:-128}; PREFILL=${PREFILL:-512}; REPS=${REPS:-3}
COUNTS="--prompt $PROMPT --decode $DECODE --prefill $PREFILL --reps $REPS"
targets=()
while [ $# -gt 0 ]; do
  case $1 in --model) targets+=("$2"); shift 2 ;; *) echo "onnx_race.sh: unknown argument $1 (--model DIR)"; exit 2 ;; esac
done
[ ${#targets[@]} -eq 0 ] && read -r -a targets <<< "${MODELS:-qwen3-0.6b llama-3.2-1b qwen3-dict-2.4m}"
if [ -f .devcarry/env.sh ]; then
  source .devcarry/env.sh || exit 1
  use_carried_ort
else
  use_swiftshader
fi
[ -f .onnxcarry/race.mjs.xz ] || { echo "no .onnxcarry/race.mjs.xz: run node tools/device/onnx_race_build.mjs and carry .onnxcarry"; exit 1; }
if command -v xz > /dev/null; then xz -dc .onnxcarry/race.mjs.xz > .onnxcarry/race.mjs
else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' .onnxcarry/race.mjs.xz .onnxcarry/race.mjs; fi || exit 1
R="node .onnxcarry/race.mjs"
W=${WORK:-/tmp/race}; mkdir -p "$W"
date -u +"%Y-%m-%dT%H:%M:%SZ start"
$Q gpu > "$OUT/gpu.json" 2>/dev/null; head -c 300 "$OUT/gpu.json"; echo
names=()
for t in "${targets[@]}"; do
  name=$(basename "$t"); ck="$W/$name-gptq"; onnx="$W/$name-onnx"
  rm -rf "$onnx"
  if [ -d "$t" ]; then
    if grep -q quantization_config "$t/config.json" || [ -f "$t/quantize_config.json" ]; then ck="$t"
    else rm -rf "$ck"; timeout 1200 $Q quantize --model "$t" --method rtn --bits 4 --group 128 --out "$ck" > /dev/null || { echo "$name: quantize failed"; continue; }; fi
  elif [ -d "public/models/$t" ]; then
    [ -f "$ck/config.json" ] || timeout 1200 $Q quantize --model "$t" --bits 4 --group 128 --calib 32 --out "$ck" > /dev/null || { echo "$name: quantize failed"; continue; }
  else
    [ -f "$ck/config.json" ] || { timeout 1200 $Q synth --shape "$t" --out "$W/$name-float" && timeout 1200 $Q quantize --model "$W/$name-float" --method rtn --bits 4 --group 128 --out "$ck" > /dev/null; } || { echo "$name: synth / quantize failed"; continue; }
  fi
  timeout 1200 $Q export --model "$ck" --format onnx --out "$onnx" > "$OUT/race-$name-export.json" || { echo "$name: export failed"; continue; }
  echo "$name: $(du -sh "$ck" | cut -f1) GPTQ, $(du -sh "$onnx" | cut -f1) ONNX"
  for side in lab lab-f16 tjs; do
    case $side in lab) cmd="$R lab --model $ck" ;; lab-f16) cmd="$R lab --model $ck --f16" ;; tjs) cmd="$R tjs --onnx $onnx" ;; esac
    timeout ${RACE_TIMEOUT:-1200} $cmd $COUNTS > "$OUT/race-$name-$side.json" 2> "$W/$name-$side.err" \
      && python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print(sys.argv[2], round(d['decode_tokens_per_second'],1), 'tok/s decode,', round(d['prefill_ms'],1), 'ms prefill of', d['prefill_tokens'])" "$OUT/race-$name-$side.json" "$name $side" \
      || { echo "$name $side failed:"; tail -5 "$W/$name-$side.err"; }
  done
  names+=("$name")
done
python3 - "$OUT" "${names[@]}" <<'PY' | tee "$OUT/race.md"
import json, os, sys
out, names = sys.argv[1], sys.argv[2:]
def load(n, s):
    p = os.path.join(out, f'race-{n}-{s}.json')
    return json.load(open(p)) if os.path.exists(p) and os.path.getsize(p) else None
gpu = json.load(open(os.path.join(out, 'gpu.json'))) if os.path.exists(os.path.join(out, 'gpu.json')) else {}
ad = gpu.get('adapter', {})
print(f"GPU: {' / '.join(str(ad.get(k, '')) for k in ('vendor', 'device', 'description')) if isinstance(ad, dict) else ad}; lab f16 = --f16 (shader-f16 through Dawn's NVIDIA toggle)\n")
print('| model | lab decode tok/s (f32 / f16) | transformers.js decode tok/s | lab / tjs | lab prefill ms (f32 / f16) | tjs prefill ms | tjs / lab | prefill tokens | greedy tokens agree | prefill: token lab / tjs; its top-20 logits, shared, max rel. diff |')
print('|---|---|---|---|---|---|---|---|---|---|')
f = lambda x, d=1: '–' if x is None else f'{x:.{d}f}'
def top_diff(a, t):
    # the last prompt position's 20 largest logits on each side: the largest ones (the prefill's tokens), how many
    # ids both lists hold, and the largest difference on those relative to the lab's largest logit
    if not (a and t and a.get('prefill_top') and t.get('prefill_top')): return '–'
    la, lt = dict(a['prefill_top']), dict(t['prefill_top'])
    common = set(la) & set(lt)
    tokens = f"{a['prefill_top'][0][0]} / {t['prefill_top'][0][0]}; "
    if not common: return tokens + '0 of 20'
    scale = max(1.0, max(abs(v) for v in la.values()))
    return tokens + f"{len(common)} of 20, {max(abs(la[i] - lt[i]) for i in common) / scale:.1e}"
for n in names:
    a, b, t = load(n, 'lab'), load(n, 'lab-f16'), load(n, 'tjs')
    best = max([x['decode_tokens_per_second'] for x in (a, b) if x] or [None]) if (a or b) else None
    bestp = min([x['prefill_ms'] for x in (a, b) if x] or [None]) if (a or b) else None
    agree = '–'
    if a and t:
        k = next((i for i, (x, y) in enumerate(zip(a['tokens'], t['tokens'])) if x != y), min(len(a['tokens']), len(t['tokens'])))
        agree = f"first {k} of {len(a['tokens'])}"
    print(f"| {n} | {f(a and a['decode_tokens_per_second'])} / {f(b and b['decode_tokens_per_second'])} | {f(t and t['decode_tokens_per_second'])} | "
          f"{f(best / t['decode_tokens_per_second'], 2) if best and t else '–'}x | {f(a and a['prefill_ms'])} / {f(b and b['prefill_ms'])} | {f(t and t['prefill_ms'])} | "
          f"{f(t['prefill_ms'] / bestp, 2) if bestp and t else '–'}x | {(a or t or {}).get('prefill_tokens', '–')} | {agree} | "
          f"{top_diff(a, t)} |")
PY
date -u +"%Y-%m-%dT%H:%M:%SZ done"
# a device run hands back only a few files: the per-side JSON, the export reports and the sides' stderr travel as one archive
cp "$W"/*.err "$OUT/" 2> /dev/null
(cd "$OUT" && tar czf race-files.tgz race-*.json *.err 2> /dev/null && rm -f race-*.json *.err)
