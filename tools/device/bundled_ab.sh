#!/usr/bin/env bash
# GPU machine, ~4 minutes: decode of three bundled models (128 tokens after "dog (noun):", --f16 --warmup, two rounds) by this
# build (dist-cli) and dist-cli-prev (a bundle of an earlier commit: tools/device/build_bundle.sh COMMIT dist-cli-prev), builds
# alternating; then, unless PROBE=0, the subgroup-matrix tile sweep (coopmat_probe.mjs wide) into $OUT/probe.txt.
# device run, carry [".devcarry", ".bundles"]: bash tools/device/bundled_ab.sh
source .devcarry/env.sh > /dev/null; source tools/device/unpack_bundles.sh
line() { python3 -c "import json,sys;t=sys.stdin.read();d=json.loads(t[t.find('{'):]);print(sys.argv[1], round(d['decode_tokens_per_second'],1), 'tok/s; gpu', round(d.get('gpu_ms_per_step') or 0, 4), 'ms/step; tokens', hash(tuple(d['tokens'])) % 100000)" "$1"; }
for r in 1 2; do for m in qwen3-dict-2.4m llama-dict-2.4m qwen3-dict-74k; do for b in dist-cli dist-cli-prev; do
  node $b/quantlab.mjs generate --model $m --prompt "dog (noun):" --max-tokens 128 --ignore-eos --json --f16 --warmup 2> /dev/null | line "$m $b round $r"
done; done; done
[ "${PROBE:-1}" = 1 ] && { timeout 200 node tools/device/coopmat_probe.mjs wide 2>&1 | grep -v "deprecated builtin" > $OUT/probe.txt; tail -40 $OUT/probe.txt; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
