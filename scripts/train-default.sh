#!/usr/bin/env bash
# Reproduce the shipped default model (native/models/default) from scratch, seeded:
#   npm run train:default            (1 h 42 min on 2 CPU cores with bf16 instructions; the config
#                                     computes in bf16, which a CPU with AVX2 only runs ~12x slower
#                                     than float32: see the model card)
# 1. the code corpus from Debian/npm sources on this machine (native/data/build, once);
# 2. the trainer with native/train/configs/default.json, seed 0, into native/train/runs/default
#    (rerunning resumes from the last save);
# 3. the checkpoint (official huginn-0125 layout) copied into native/models/default.
# Training uses PyTorch's CPU kernels with 2 threads: a rerun gives the same data order, depths
# and initial states; the weights agree up to floating-point summation order.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
RUN=native/train/runs/default
DEST=native/models/default
[ -f native/data/build/code_train.jsonl ] || $PY native/data/code_corpus.py --out native/data/build
$PY native/train/train.py --config native/train/configs/default.json --out "$RUN" --seed 0
for f in config.json model.safetensors tokenizer.json tokenizer_config.json; do
  cp "$RUN/$f" "$DEST/$f.tmp" && mv "$DEST/$f.tmp" "$DEST/$f"
done
cp native/train/configs/default.json "$DEST/train_config.json"
echo "default model written to $DEST; evaluate it with: npm run bench:scaling"
