"""What one training step costs under each optimizer, measured in one run (the machine's speed
drifts by the hour, so two training runs' logged rates do not compare):

  /usr/bin/python3 native/train/step_cost.py --config native/train/configs/muon.json [--steps 40]

Builds the config's model and alternates AdamW and the config's optimizer (train.optimizer, e.g.
"muon"; a config that names no other gets the AdamW row alone) step by step on the same random
batch at the trained mean depth, with the trainer's forward (logits at every position), a
cross-entropy loss, its clipping and 2 threads, so both see the same machine state. The
optimizers' own cost is the difference. Prints the median seconds per step of each and their
ratio."""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train  # noqa: E402
from bpe import Tokenizer  # noqa: E402
from huginn import Huginn, HuginnConfig  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--steps", type=int, default=40, help="timed steps per optimizer (after 3 warm-up steps each)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    train.cpu_memory.keep_freed_memory()
    with open(a.config) as f:
        cfg = json.load(f)
    t, m = cfg["train"], cfg["model"]
    tok = Tokenizer(os.path.join(train.TOKENIZER_DIR, "tokenizer.json"))
    model = Huginn(HuginnConfig.from_dict(train.checkpoint_config(cfg, tok)))
    model.takase_init_(seed=0)
    model.train()
    opts = {"adamw": train.make_optimizer(model, {**t, "optimizer": "adamw"}),
            t.get("optimizer", "adamw"): train.make_optimizer(model, t)}
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, m["vocab_size"], (t["batch_size"], t["seq_len"]), generator=g)
    y = torch.randint(0, m["vocab_size"], (t["batch_size"], t["seq_len"]), generator=g)
    rope = model.rope(0, t["seq_len"])
    times = {name: [] for name in opts}
    for i in range(3 + a.steps):
        for name, opt in opts.items():
            start = time.perf_counter()
            logits = train.train_forward(model, x, rope, m["mean_recurrence"], m["mean_backprop_depth"], t["init_scale"], g,
                                         bf16=train.autocast_bf16(t))
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), t["grad_clip"])
            opt.step()
            if i >= 3:
                times[name].append(time.perf_counter() - start)
    base = statistics.median(times["adamw"])
    print(f"{'optimizer':<10} {'s/step':>8} {'vs adamw':>9}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<10} {med:8.3f} {med / base:8.2f}x")


if __name__ == "__main__":
    main()
