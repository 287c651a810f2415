#!/usr/bin/env bash
# One-command set-up on a fresh Debian/Ubuntu machine: Debian packages (PyTorch and numpy for the
# reference and the trainer; DejaVu Sans for the benchmarks' charts, test/bench/charts.ts; Chromium
# and build tools for the browser tests), npm packages, and the tools cache for the end-to-end
# tests (Node 24 + code-server). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
export ONNXRUNTIME_NODE_INSTALL=skip   # onnxruntime-node's postinstall would download CUDA libraries
. scripts/lib/debs.sh
missing_debs python3-torch python3-numpy libopenblas0-openmp fonts-dejavu-core
[ ${#MISSING_DEBS[@]} -eq 0 ] || install_debs "${MISSING_DEBS[@]}"
npm ci --no-audit --no-fund
bash scripts/e2e-setup.sh
