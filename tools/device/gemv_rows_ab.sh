#!/usr/bin/env bash
# GPU machine, ~2 minutes: two A/Bs of the Qwen3-0.6B shape (random float weights, f16, --warmup), two rounds each.
#   prefill (511 tokens): this build's f32 dense tile (the rewrite restored on 12-07) against the build before the
#     matrix units (dist-cli-prev, commit 03a0b4f with the 500-ms warm-up patched into generate.ts): GPU ms
#   decode (128 tokens): this build against dist-cli-rows8, this build with GEMV_ROWS = 8 in src/model/ops.ts (every
#     dense GEMV 8 rows a workgroup, as the LM head already is): tokens/s, GPU ms a step, the tokens' hash
#   decode of RTN 4-bit G=128 weights, this build without and with --f16: the race of 12-07 (after its 500-ms
#     warm-up) had the lab's f16 decode at 657 tokens/s against 907 without, where the build before had 929 / 902
# Before: bash tools/device/prepare_carry.sh, and the two bundles (tools/device/build_bundle.sh):
#   bash tools/device/build_bundle.sh HEAD dist-cli-rows8 src/model/ops.ts 's/^const GEMV_ROWS = 2;/const GEMV_ROWS = 8;/'
#   bash tools/device/build_bundle.sh 03a0b4f dist-cli-prev src/cli/commands/generate.ts "s/^    if (args.flag('warmup')) await model.generate(ids, maxTokens, { eos, stepsPerRead, replay });\$/    if (args.flag('warmup')) { const g = () => model.generate(ids, maxTokens, { eos, stepsPerRead, replay }); await g(); const tw = performance.now(); while (performance.now() - tw < 500) await g(); }/"
#   (dist-cli-prev: the build before the matrix units, with the 500-ms warm-up this build has: the GPU's clock up)
# device run, carry [".devcarry", ".bundles"]: bash tools/device/gemv_rows_ab.sh
# Off the GPU: DEVCARRY_ICD=/usr/lib/chromium/vk_swiftshader_icd.json WORK=/tmp/ab8-dry SHAPE=smollm2-135m LAYERS=1 bash tools/device/gemv_rows_ab.sh
set -uo pipefail
source tools/device/unpack_bundles.sh > /dev/null 2>&1; source .devcarry/env.sh > /dev/null || exit 1
W=${WORK:-/tmp/ab8}; [ -f $W/float/config.json ] || node dist-cli/quantlab.mjs synth --shape ${SHAPE:-qwen3-0.6b} ${LAYERS:+--layers $LAYERS} --out $W/float > /dev/null 2>&1
[ -f $W/q4/config.json ] || node dist-cli/quantlab.mjs quantize --model $W/float --method rtn --bits 4 --group 128 --sym --out $W/q4 > /dev/null 2>&1
p=$(python3 -c "print(('the quick brown fox jumps over the lazy dog ' * 64)[:511])")
j() { python3 -c "import sys,json;t=sys.stdin.read();d=json.loads(t[t.find('{'):]);print(d['prompt_tokens'], round(d['first_token_seconds']*1000,2), round(d['gpu_ms_per_step'],3), round(d.get('decode_tokens_per_second') or 0,1), hash(tuple(d['tokens']))%100000)"; }
echo "what round build prompt_tokens first_token_ms gpu_ms_per_step decode_tok_s tokens_hash"
for r in 1 2; do
  for c in dist-cli-prev dist-cli; do echo -n "prefill $r $c "; QUANTLAB_MATRIX_UNITS=0 node $c/quantlab.mjs generate --model $W/float --prompt "$p" --max-tokens 1 --ignore-eos --json --warmup --f16 2> /dev/null | j; done
  for c in dist-cli dist-cli-rows8; do echo -n "decode $r $c "; QUANTLAB_MATRIX_UNITS=0 node $c/quantlab.mjs generate --model $W/float --prompt "the quick" --max-tokens 128 --ignore-eos --json --warmup --f16 2> /dev/null | j; done
  for f in "" --f16; do echo -n "decode-q4 $r dist-cli ${f:-f32} "; node dist-cli/quantlab.mjs generate --model $W/q4 --prompt "the quick" --max-tokens 128 --ignore-eos --json --warmup $f 2> /dev/null | j; done
done
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
