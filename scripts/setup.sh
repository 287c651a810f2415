#!/usr/bin/env bash
# One-command set-up on a fresh Debian/Ubuntu machine: Debian packages (PyTorch and numpy for the
# reference and the trainer; DejaVu Sans for the benchmarks' charts, test/bench/charts.ts; Mesa's
# lavapipe, a Vulkan driver on the CPU, for the WebGPU tests; Chromium and build tools for the
# browser tests), npm packages, and the tools cache for the end-to-end tests (Node 24 +
# code-server). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
export ONNXRUNTIME_NODE_INSTALL=skip   # onnxruntime-node's postinstall would download CUDA libraries
. scripts/lib/debs.sh
missing_debs python3-torch python3-numpy libopenblas0-openmp fonts-dejavu-core
[ ${#MISSING_DEBS[@]} -eq 0 ] || install_debs "${MISSING_DEBS[@]}"

# Mesa's lavapipe: the WebGPU adapter of the tests (onnxruntime's WebGPU provider runs on Dawn, on
# Vulkan). Dawn refuses bookworm's Mesa 22.3 ("No supported adapters"), so on bookworm Mesa comes
# from bookworm-backports (25.x); elsewhere from the release itself.
MESA_MIN=25
mesa=$(deb_version mesa-vulkan-drivers)
if [ -n "$mesa" ] && dpkg --compare-versions "$mesa" ge "$MESA_MIN" && [ -n "$(deb_version libvulkan1)" ]; then
  :
elif [ "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" = bookworm ]; then
  echo "[setup] Mesa lavapipe from bookworm-backports (installed: ${mesa:-none})"
  ensure_apt_suite bookworm-backports
  install_debs_from bookworm-backports mesa-vulkan-drivers libvulkan1
else
  missing_debs mesa-vulkan-drivers libvulkan1
  [ ${#MISSING_DEBS[@]} -eq 0 ] || install_debs "${MISSING_DEBS[@]}"
fi
npm ci --no-audit --no-fund
bash scripts/e2e-setup.sh
