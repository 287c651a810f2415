"""Can a model shape and recipe learn to look a variable up? A few minutes of training on that
alone, before spending two hours on the whole mix.

  /usr/bin/python3 native/train/recall_probe.py [--config native/train/configs/default.json]
      [--steps 3000] [--batch 32] [--lr 1e-3] [--format python|pairs] [--fixed-r R]

Every row is a program of 3-5 constants with distinct digits, then questions about them:
  python: "b = 6\\ny = 8\\ni = 9\\nprint(b)\\n" -> "6" (chain problems at 0 hops, as in training)
  pairs:  "b6\\ny8\\ni9\\nb" -> "6" (the value right after the name: what one induction head does)
Loss on the answers only, the model shape and optimiser from the config, each step's depth drawn
as train.py draws it (or --fixed-r). Prints the answer accuracy (digits, not the stop token)
against guessing one of the program's constants. Chain walking needs this lookup first: the
third default model answers 0-hop chain questions only a little above that guess.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import json
import random
import string
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

import train as T


def program(rng, tok, fmt, questions):
    """(ids, targets, n_constants): one row; targets are -1 except at the positions that predict
    an answer digit or the stop after it."""
    k = rng.randint(3, 5)
    names, values = rng.sample(string.ascii_lowercase, k), rng.sample(range(10), k)
    line = "{} = {}\n" if fmt == "python" else "{}{}\n"
    ids = tok.encode("".join(line.format(n, v) for n, v in zip(names, values)))
    targets = [-1] * len(ids)
    for _ in range(questions):
        i = rng.randrange(k)
        q = tok.encode(f"print({names[i]})\n" if fmt == "python" else names[i])
        a = tok.encode(f"{values[i]}\n")
        ids += q + a
        targets += [-1] * (len(q) - 1) + a + [-1]  # position j predicts token j + 1
    return ids, targets, k


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=os.path.join(T.HERE, "configs", "default.json"))
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--questions", type=int, default=8, help="questions per program")
    ap.add_argument("--format", choices=("python", "pairs"), default="python")
    ap.add_argument("--fixed-r", type=int, default=None, help="this many iterations every step")
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    with open(a.config) as f:
        cfg = json.load(f)
    t, m = dict(cfg["train"], lr=a.lr, min_lr=a.lr / 10), cfg["model"]
    tok = T.Tokenizer(os.path.join(T.TOKENIZER_DIR, "tokenizer.json"))
    model = T.Huginn(T.HuginnConfig.from_dict(T.checkpoint_config(cfg, tok)))
    model.takase_init_(seed=a.seed)
    model.train()
    opt = T.make_optimizer(model, t)
    rng, depth_rng = random.Random(a.seed), np.random.default_rng(a.seed)
    s0_gen = torch.Generator().manual_seed(a.seed)
    bos = tok.token_id("<|begin_text|>")
    digits = torch.tensor([tok.encode(str(d))[0] for d in range(10)])
    start, hits, count, guess = time.time(), 0, 0, 0.0
    for step in range(1, a.steps + 1):
        rows = [program(rng, tok, a.format, a.questions) for _ in range(a.batch)]
        L = 1 + max(len(row) for row, _, _ in rows)  # <|begin_text|> + the longest program
        ids, y = torch.zeros(a.batch, L, dtype=torch.long), torch.full((a.batch, L), -1)
        for b, (row, targets, k) in enumerate(rows):
            ids[b, :len(row) + 1] = torch.tensor([bos] + row)  # the zeros after it are causally unseen
            y[b, 1:len(row) + 1] = torch.tensor(targets)
            guess += a.questions / k
        p = a.fixed_r or T.sample_depth(depth_rng, m["mean_recurrence"])
        for g in opt.param_groups:
            g["lr"] = T.lr_at(step - 1, t, a.steps)
        logits = T.train_forward(model, ids, model.rope(0, L), p, m["mean_backprop_depth"], t["init_scale"], s0_gen)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), t["grad_clip"])
        opt.step()
        with torch.no_grad():
            is_answer = torch.isin(y, digits)
            hits += int((logits.argmax(-1)[is_answer] == y[is_answer]).sum())
            count += int(is_answer.sum())
        if step % a.log_every == 0 or step == a.steps:
            print(f"step {step:5d} loss {loss.item():.3f} answers {100 * hits / count:5.1f}% "
                  f"(guessing a constant {100 * guess / count:4.1f}%) {time.time() - start:5.0f} s", flush=True)
            hits, count, guess = 0, 0, 0.0
    return 0


if __name__ == "__main__":
    sys.exit(main())
