#!/usr/bin/env bash
# A GPU machine with several GPUs of one host: the family sweep of every bundled model run twice -- on one GPU, then
# split over all of the host's GPUs -- each as PROCS_PER_GPU shard processes per GPU (`--shard I/N`, shard I on GPU
# I mod G through `--adapter-index`), both merged, compared row for row (timings aside) and timed.
# Targets: on 2 GPUs at most 0.6x the one-GPU wall time; the merged results identical to the one-GPU run's.
#   Here, once, before the visit (builds .devcarry, dist-cli and .shardcarry: Mesa's Vulkan device-select layer and
#   the libraries it links, from Debian's packages):
#     bash tools/device/sharded_sweep.sh --prepare
#   device run (a kind with 2 or more GPUs), carry [".devcarry", ".shardcarry", "dist-cli"]:
#     bash tools/device/sharded_sweep.sh [PHASE_SECONDS (default 280)]
#   Here, without a GPU (SwiftShader; 2 "GPUs" are 2 processes on the one CPU device, a tiny RTN grid, ~1 min):
#     bash tools/device/sharded_sweep.sh --dry-run
# Environment: PROCS_PER_GPU (default 8 on GPUs: the one-GPU family sweep's known-good concurrency; 1 in the dry
# run), GPUS (default: every GPU nvidia-smi lists), MODELS, GRID (the sweep's grid options).
# Writes into $OUT: one-gpu.jsonl, sharded.jsonl (each merged from its shards), compare.json (merge's summary of
# the two), verdict.txt (times, ratio, identical or not), gpus.csv (nvidia-smi samples, 2 s apart), log.txt
set -uo pipefail
cd "$(dirname "$0")/../.."
MODE=${1:-}

if [ "$MODE" = "--prepare" ]; then
  set -e
  bash tools/device/prepare_carry.sh
  grep -qx '/.shardcarry/' .git/info/exclude 2>/dev/null || echo '/.shardcarry/' >> "$(git rev-parse --git-path info/exclude)"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download mesa-vulkan-drivers libxcb-dri3-0 libwayland-client0 libdrm2 libxcb1 libffi8 libxau6 libxdmcp6 libbsd0 libmd0 >/dev/null)
  rm -rf .shardcarry && mkdir -p .shardcarry/lib
  for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$tmp/root"; done
  cp "$tmp"/root/usr/lib/x86_64-linux-gnu/libVkLayer_MESA_device_select.so .shardcarry/lib/
  cp -P "$tmp"/root/usr/lib/x86_64-linux-gnu/lib{xcb-dri3,wayland-client,drm,xcb,ffi,Xau,Xdmcp,bsd,md}.so.* .shardcarry/lib/ 2>/dev/null || true
  cp "$tmp"/root/usr/share/vulkan/implicit_layer.d/VkLayer_MESA_device_select.json .shardcarry/
  rm -rf "$tmp"
  du -sh .shardcarry
  exit 0
fi

source tools/device/common.sh
if [ "$MODE" = "--dry-run" ]; then
  use_swiftshader
  GPUS=${GPUS:-2}
  PROCS_PER_GPU=${PROCS_PER_GPU:-1}
  MODELS=${MODELS:-qwen3-dict-74k}
  GRID=${GRID:---methods rtn --bits 2,3,4,8 --group 32,64,128 --calib 0 --tasks ppl,dict_kindof_cloze --limit 2 --ppl-windows 1}
  PHASE_SECONDS=${2:-300}
  SELECT=0 # one CPU device: nothing to select
else
  source .devcarry/env.sh || exit 1
  # Mesa's device-select layer, found through XDG_DATA_DIRS, its library by absolute path, what it links beside it
  mkdir -p /tmp/shard-layers/vulkan/implicit_layer.d
  sed "s#\"library_path\": *\"[^\"]*\"#\"library_path\": \"$PWD/.shardcarry/lib/libVkLayer_MESA_device_select.so\"#" .shardcarry/VkLayer_MESA_device_select.json \
    > /tmp/shard-layers/vulkan/implicit_layer.d/VkLayer_MESA_device_select.json || exit 1
  export XDG_DATA_DIRS=/tmp/shard-layers:${XDG_DATA_DIRS:-/usr/local/share:/usr/share}
  export LD_LIBRARY_PATH=$PWD/.shardcarry/lib:${LD_LIBRARY_PATH:-}
  # GPUs: nvidia-smi's list, else the PCI devices the nvidia driver holds
  GPUS=${GPUS:-$( (nvidia-smi -L 2>/dev/null || true) | grep -c '^GPU')}
  [ "$GPUS" -gt 0 ] || GPUS=$(ls /sys/bus/pci/drivers/nvidia 2>/dev/null | grep -c ':')
  [ "$GPUS" -ge 2 ] || echo "note: $GPUS GPU(s) on this host: the split needs 2 or more to mean anything"
  PROCS_PER_GPU=${PROCS_PER_GPU:-8}
  MODELS=${MODELS:-$(cd public/models && ls -d */ | tr -d / | paste -sd,)}
  GRID=${GRID:---preset family}
  PHASE_SECONDS=${1:-280}
  SELECT=1
fi
MODELS=$(echo "$MODELS" | tr ' ' ',')
date -u +"%Y-%m-%dT%H:%M:%SZ start: $GPUS GPU(s), $PROCS_PER_GPU process(es) per GPU"
$Q gpu | head -c 300; echo
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=index,name,pci.bus_id,driver_version --format=csv,noheader
  nvidia-smi --query-gpu=timestamp,index,utilization.gpu,memory.used --format=csv,noheader -l 2 > "$OUT/gpus.csv" 2>&1 &
  SMI=$!
fi

# phase NAME GPU_COUNT: PROCS_PER_GPU x GPU_COUNT shards of the grid, shard i on GPU i mod GPU_COUNT; merged into $OUT/NAME.jsonl
phase() {
  local name=$1 gpus=$2 n=$(( PROCS_PER_GPU * $2 )) dir=/tmp/sharded/$1 pids=() i t0
  rm -rf "$dir"; mkdir -p "$dir"
  echo "== $name: $n shard(s) on $gpus GPU(s)"
  t0=$(date +%s.%N)
  for ((i = 0; i < n; i++)); do
    local pick=()
    [ "$SELECT" = 1 ] && pick=(--adapter-index $(( i % gpus )))
    timeout "$PHASE_SECONDS" $Q sweep --model "$MODELS" $GRID --shard $i/$n "${pick[@]}" --out "$dir/shard-$i.jsonl" > "$dir/shard-$i.log" 2>&1 &
    pids+=($!)
  done
  local failed=0
  for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done # not a bare `wait`: it would wait for the tee too
  local secs; secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  echo "$name wall seconds: $secs ($failed shard process(es) failed)"
  echo "$name $secs $failed" >> /tmp/sharded/times
  for ((i = 0; i < n; i++)); do echo "  shard $i: $(grep -m1 '^adapter:' "$dir/shard-$i.log") $(tail -1 "$dir/shard-$i.log")"; done
  $Q merge "$OUT/$name.jsonl" "$dir"/shard-*.jsonl --model "$MODELS" $GRID --shards $n --complete
}

rm -f /tmp/sharded/times; mkdir -p /tmp/sharded
phase one-gpu 1
[ -n "${SMI:-}" ] && echo "-- one-gpu phase ends $(date -u +%H:%M:%S)" >> "$OUT/gpus.csv"
phase sharded "$GPUS"
[ -n "${SMI:-}" ] && kill "$SMI"

# identical: merged together, the sharded run's rows are all duplicates of the one-GPU run's (run columns aside)
$Q merge /tmp/sharded/both.jsonl "$OUT/one-gpu.jsonl" "$OUT/sharded.jsonl" --json > "$OUT/compare.json"
node -e '
const fs = require("fs");
const c = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
const t = Object.fromEntries(fs.readFileSync("/tmp/sharded/times", "utf8").trim().split("\n").map((l) => l.split(" ")).map(([n, s, f]) => [n, { s: +s, failed: +f }]));
const [one, sh] = c.sources;
const identical = c.conflicts.length === 0 && sh.added === 0 && sh.replaced === 0 && sh.duplicates === sh.rows && one.rows === sh.rows && one.rows > 0;
const ratio = t.sharded.s / t["one-gpu"].s;
const lines = [
  `GPUs: ${process.argv[2]}, processes per GPU: ${process.argv[3]}`,
  `one GPU: ${t["one-gpu"].s.toFixed(1)} s (${one.rows} rows); split over the GPUs: ${t.sharded.s.toFixed(1)} s (${sh.rows} rows)`,
  `wall-time ratio: ${ratio.toFixed(3)} (target on 2 GPUs: <= 0.6): ${ratio <= 0.6 ? "met" : "NOT met"}`,
  `results identical (timings aside): ${identical ? "yes" : "NO"} (conflicts ${c.conflicts.length}, rows only in the sharded run ${sh.added}, larger samples ${sh.replaced})`,
  `failed shard processes: one GPU ${t["one-gpu"].failed}, sharded ${t.sharded.failed}`,
];
fs.writeFileSync(process.argv[4], lines.join("\n") + "\n");
console.log(lines.join("\n"));
' "$OUT/compare.json" "$GPUS" "$PROCS_PER_GPU" "$OUT/verdict.txt"
date -u +"%Y-%m-%dT%H:%M:%SZ end"
