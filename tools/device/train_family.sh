#!/usr/bin/env bash
# GPU machine: train the model family, then produce every golden fixture from transformers / statsmodels /
# the GPTQ reference. Needs the carried corpus (.carry/corpus, from tools/data/build.py + xz).
#   device run, carry [".carry"]:  bash tools/device/train_family.sh [--smoke]
# Writes $OUT/family-qwen3.tar.xz, $OUT/family-llama.tar.xz, $OUT/fixtures.tar.xz, $OUT/report.json, $OUT/log.txt
set -euo pipefail
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=true
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
python3 -c "import torch, transformers, tokenizers, safetensors, statsmodels; print('torch', torch.__version__, 'transformers', transformers.__version__, 'tokenizers', tokenizers.__version__, 'statsmodels', statsmodels.__version__, 'cuda', torch.cuda.get_device_name(0))"
W=/tmp/family
python3 tools/train/family.py --corpus .carry/corpus --out $W "$@"
cp $W/report.json "$OUT/"
if [ "${1:-}" = "--smoke" ]; then
  python3 tools/golden/goldens.py --models $W/models --default qwen3-dict-74k --gptq-model llama-dict-74k --out /tmp/fixtures
  ls -R /tmp/fixtures | head -50
  exit 0
fi
python3 tools/golden/goldens.py --models $W/models --default qwen3-dict-74k --gptq-model llama-dict-788k --out /tmp/fixtures
# the cluster-robust fits of the same synthetic rows (statsmodels cov_type="cluster")
python3 tools/golden/cluster_fits.py --rows /tmp/fixtures/fit/synthetic_rows.jsonl --out /tmp/fixtures/fit
tar -C $W/models -cJf "$OUT/family-qwen3.tar.xz" $(cd $W/models && ls -d qwen3-*)
tar -C $W/models -cJf "$OUT/family-llama.tar.xz" $(cd $W/models && ls -d llama-*)
tar -C /tmp/fixtures -cJf "$OUT/fixtures.tar.xz" .
ls -la "$OUT"
