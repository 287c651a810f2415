#!/usr/bin/env bash
# One-command set-up on a fresh Debian/Ubuntu machine: Debian packages (PyTorch and numpy for the
# reference and the trainer; Chromium and build tools for the browser tests), npm packages, and
# the tools cache for the end-to-end tests (Node 24 + code-server). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
export ONNXRUNTIME_NODE_INSTALL=skip   # onnxruntime-node's postinstall would download CUDA libraries
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
PACKAGES=(python3-torch python3-numpy libopenblas0-openmp)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
npm ci --no-audit --no-fund
bash scripts/e2e-setup.sh
