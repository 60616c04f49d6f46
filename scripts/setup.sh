#!/usr/bin/env bash
# Installs what WebGPU without a GPU needs on Debian/Ubuntu (idempotent; CI runs it before the tests):
#   chromium   - the browser for the Playwright tests, and SwiftShader (a CPU Vulkan driver) that both
#                Chromium and Dawn for Node (npm `webgpu`) use when the machine has no GPU
#   libvulkan1 - the Vulkan loader that Dawn for Node opens
# Nothing is downloaded by Playwright itself: the tests drive Debian's /usr/bin/chromium.
set -euo pipefail
pkgs=(chromium libvulkan1)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "setup: please install ${missing[*]} (Chromium and the Vulkan loader) with your package manager" >&2
    exit 1
  fi
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]} from apt" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
icd=/usr/lib/chromium/vk_swiftshader_icd.json
[ -f "$icd" ] || { echo "setup: SwiftShader's Vulkan driver is missing at $icd (chromium package layout changed?)" >&2; exit 1; }
# The Debian wrapper prints a harmless '[: ...: unexpected operator' on stderr.
echo "setup: $(/usr/bin/chromium --version 2>/dev/null), SwiftShader at $icd" >&2
