#!/usr/bin/env bash
# GPU machine: greedy generation from GPTQ-quantized bundled models (2/3/4/8 bits) with the f32 and the f16 decode GEMV
# (--f16); prints tokens/s and a hash of the tokens, so that the two kernels can be compared end to end.
# device run, carry [".devcarry", "dist-cli"]: bash tools/device/f16_generate.sh
set -uo pipefail
source .devcarry/env.sh; Q="node dist-cli/quantlab.mjs"
for m in qwen3-dict-2.4m llama-dict-2.4m; do for b in 2 3 4 8; do
  $Q quantize --model $m --bits $b --group 32 --calib 64 --out /tmp/q-$m-$b > /dev/null 2>&1 || echo "quantize $m $b failed"
  for f in "" "--f16"; do
    $Q generate --model /tmp/q-$m-$b --prompt "dog (noun):" --max-tokens 40 --json $f > /tmp/g.json 2>/dev/null
    python3 -c "import json;d=json.load(open('/tmp/g.json'));print('$m $b-bit ${f:-f32}', d['tokens'][:40].__len__(), round(d['tokens_per_second'],1), hash(tuple(d['tokens'])) % 100000, repr(d['completion'][:60]))"
  done
done; done
