source tools/device/unpack_bundles.sh >/dev/null 2>&1; source .devcarry/env.sh >/dev/null
W=/tmp/decode-ab/qwen3-0.6b; Q="node dist-cli/quantlab.mjs"
[ -f $W/float/config.json ] || $Q synth --shape qwen3-0.6b --out $W/float >/dev/null
[ -f $W/q4/config.json ] || $Q quantize --model $W/float --method rtn --bits 4 --group 128 --out $W/q4 >/dev/null 2>&1
 p=$(python3 -c "print(('the quick brown fox jumps over the lazy dog ' * 64)[:511])")
nvidia-smi --query-gpu=timestamp,clocks.sm,utilization.gpu --format=csv,noheader -lms 50 > $OUT/smi.txt & S=$!
for r in 1 2 3 4 5; do for m in float q4; do for v in old-f16 new-f16 rev-f16 new-mma; do
  case $v in old-f16) cli=dist-cli-prev; e=X=0;; new-f16) cli=dist-cli; e=QUANTLAB_MATRIX_UNITS=0;; rev-f16) cli=dist-cli-rewrite; e=QUANTLAB_MATRIX_UNITS=0;; new-mma) cli=dist-cli; e=QUANTLAB_MATRIX_UNITS=1;; esac
  [ $m = q4 ] && [ $v = rev-f16 ] && continue
  echo -n "$(date +%T.%N | cut -c1-12) $r $m $v "
  env $e node $cli/quantlab.mjs generate --model $W/$m --prompt "$p" --max-tokens 1 --ignore-eos --json --warmup --f16 2>/dev/null | python3 -c "import sys,json;t=sys.stdin.read();d=json.loads(t[t.find('{'):]);print(round(d['first_token_seconds']*1000,2), round(d['gpu_ms_per_step'],2), d['tokens'][0])"
done; done; done
kill $S; cp $OUT/smi.txt /dev/null
