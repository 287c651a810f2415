#!/usr/bin/env bash
# Reproduce the shipped default model (native/models/default) from scratch, seeded:
#   npm run train:default            (2 h 20 min on this project's 2-core CPU with bf16 instructions)
# 1. the code corpus from Debian/npm sources on this machine (native/data/build, once);
# 2. the trainer, seed 0, in two phases of one run (native/train/configs/):
#    default.json for the first 3,207 steps (ops-heavy: chained operations learn to carry their
#    value in the latent state, echoed first, then latent), then default-phase2.json from there
#    to step 8,600 (addition-heavy; same model, optimiser, data position and schedule shape);
#    55% of the rows are code in both, 30% of the math in surroundings; rerunning resumes from
#    the last save of either phase;
# 3. the checkpoint (official huginn-0125 layout) copied into native/models/default.
# Training uses PyTorch's CPU kernels with 2 threads in bf16 autocast, which pays only on CPUs
# with bf16 instructions (AVX512-BF16 / AMX; the trainer warns without them: there a bf16 matmul
# was 12x slower than float32). A rerun gives the same data order, depths and initial states;
# the weights agree up to floating-point summation order.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
CONFIGS=native/train/configs
PHASE1=native/train/runs/default-phase1
RUN=native/train/runs/default
DEST=native/models/default
[ -f native/data/build/code_train.jsonl ] || $PY native/data/code_corpus.py --out native/data/build
[ -f "$RUN/train_state.pt" ] || $PY native/train/train.py --config $CONFIGS/default.json --out "$PHASE1" --seed 0 --stop-at 3207
$PY native/train/train.py --config $CONFIGS/default-phase2.json --from "$PHASE1" --out "$RUN" --seed 0
for f in config.json model.safetensors tokenizer.json tokenizer_config.json; do
  cp "$RUN/$f" "$DEST/$f.tmp" && mv "$DEST/$f.tmp" "$DEST/$f"
done
cp $CONFIGS/default-phase2.json "$DEST/train_config.json"
cp $CONFIGS/default.json "$DEST/train_config_phase1.json"
echo "default model written to $DEST; evaluate it with: npm run bench:scaling"
