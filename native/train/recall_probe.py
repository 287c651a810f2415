"""Can a model shape and recipe learn to look a variable up? A few minutes of training on that
alone, before spending two hours on the whole mix.

  /usr/bin/python3 native/train/recall_probe.py [--config native/train/configs/default.json]
      [--steps 3000] [--batch 32] [--lr 1e-3] [--format python] [--names 26]
      [--phases compact-name/6@1,compact/6@1000] [--fixed-r R]

Every row is a program of 3-5 constants with distinct digits, then questions about them:
  python:       "b = 6\\ny = 8\\nprint(b)\\n" -> "6"  (chain problems at 0 hops, as the third
                default model was trained: a name is 3 tokens before its value)
  compact:      "b=6\\ny=8\\nprint(b)\\n" -> "6"      (the same without spaces: 2 tokens)
  pairs:        "b6\\ny8\\nb" -> "6"                  (value right after the name; the answer is
                                                     predicted at the name: one induction head)
  compact-name: "b=6\\ny=8\\nb" -> "6"                (compact lines, pairs question)
  pairs-print:  "b6\\ny8\\nprint(b)\\n" -> "6"        (pairs lines, compact question)
Names are drawn from the first --names letters. --format a+b gives each row one of several
formats; --phases is a curriculum: from each step on, its formats and number of names.
Loss on the answers only, the model shape and optimiser from the config, each step's depth drawn
as train.py draws it (or --fixed-r). Prints the answer accuracy per format (digits, not the stop
token) against guessing one of the program's constants. Chain walking needs this lookup first:
the third default model answers 0-hop chain questions only a little above that guess.
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


# format: (a constant's line, the question); the answer follows the question
FORMATS = {"python": ("{} = {}\n", "print({})\n"), "compact": ("{}={}\n", "print({})\n"),
           "pairs": ("{}{}\n", "{}"), "compact-name": ("{}={}\n", "{}"), "pairs-print": ("{}{}\n", "print({})\n")}


def program(rng, tok, fmt, questions, n_names=26):
    """(ids, targets, n_constants): one row; targets are -1 except at the positions that predict
    an answer digit or the stop after it."""
    k = rng.randint(3, 5)
    names, values = rng.sample(string.ascii_lowercase[:n_names], k), rng.sample(range(10), k)
    line, question = FORMATS[fmt]
    ids = tok.encode("".join(line.format(n, v) for n, v in zip(names, values)))
    targets = [-1] * len(ids)
    for _ in range(questions):
        i = rng.randrange(k)
        q = tok.encode(question.format(names[i]))
        a = tok.encode(f"{values[i]}\n")
        ids += q + a
        targets += [-1] * (len(q) - 1) + a + [-1]  # position j predicts token j + 1
    return ids, targets, k


def parse_phases(text):
    """"pairs/6@1,compact/26@1500" -> [(1, ["pairs"], 6), (1500, ["compact"], 26)]: from each
    step on, rows in that format (a+b: each row draws one) with names from that many letters."""
    phases = []
    for part in text.split(","):
        spec, at = part.split("@")
        fmt, names = spec.split("/")
        phases.append((int(at), fmt.split("+"), int(names)))
    assert phases[0][0] == 1 and [p[0] for p in phases] == sorted(p[0] for p in phases), "phases start at step 1, in order"
    return phases


def setup(config_path, lr, seed):
    """(model, optimiser, train config, model config, tokenizer) of a probe: the model shape and
    optimiser of a training config with this peak lr (min_lr = lr / 10), initialised as train.py
    does."""
    with open(config_path) as f:
        cfg = json.load(f)
    t, m = dict(cfg["train"], lr=lr, min_lr=lr / 10), cfg["model"]
    tok = T.Tokenizer(os.path.join(T.TOKENIZER_DIR, "tokenizer.json"))
    model = T.Huginn(T.HuginnConfig.from_dict(T.checkpoint_config(cfg, tok)))
    model.takase_init_(seed=seed)
    model.train()
    return model, T.make_optimizer(model, t), t, m, tok


def pack(rows, bos):
    """(ids, targets, length) of a batch of rows (ids, targets, ...): <|begin_text|> + each row,
    zeros after it (causally unseen), targets -1 where there is no answer."""
    L = 1 + max(len(row[0]) for row in rows)
    ids, y = torch.zeros(len(rows), L, dtype=torch.long), torch.full((len(rows), L), -1)
    for b, (row, targets, *_) in enumerate(rows):
        ids[b, :len(row) + 1] = torch.tensor([bos] + row)
        y[b, 1:len(row) + 1] = torch.tensor(targets)
    return ids, y, L


def train_step(model, opt, t, m, ids, y, p, lr, s0_gen, mask=None):
    """One optimiser step at total depth p with the trainer's own forward; returns (logits, loss)."""
    for g in opt.param_groups:
        g["lr"] = lr
    logits = T.train_forward(model, ids, model.rope(0, ids.shape[1]), p, m["mean_backprop_depth"], t["init_scale"], s0_gen, mask, T.autocast_bf16(t))
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-1)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), t["grad_clip"])
    opt.step()
    return logits, loss


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=os.path.join(T.HERE, "configs", "default.json"))
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--questions", type=int, default=8, help="questions per program")
    ap.add_argument("--format", default="python", help=f"one of {', '.join(FORMATS)}, or several (a+b): each row draws one")
    ap.add_argument("--names", type=int, default=26, help="variable names drawn from the first N letters (5-26)")
    ap.add_argument("--phases", default=None, help="a curriculum, e.g. pairs/6@1,compact/26@1500 (overrides --format, --names)")
    ap.add_argument("--fixed-r", type=int, default=None, help="this many iterations every step")
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    model, opt, t, m, tok = setup(a.config, a.lr, a.seed)
    rng, depth_rng = random.Random(a.seed), np.random.default_rng(a.seed)
    s0_gen = torch.Generator().manual_seed(a.seed)
    bos = tok.token_id("<|begin_text|>")
    digits = torch.tensor([tok.encode(str(d))[0] for d in range(10)])
    phases = parse_phases(a.phases) if a.phases else [(1, a.format.split("+"), a.names)]
    assert all(set(f) <= set(FORMATS) for _, f, _ in phases), f"formats: {list(FORMATS)}"
    start, tally = time.time(), {}  # format: [hits, answers, guessing hits]
    for step in range(1, a.steps + 1):
        _, formats, names = [ph for ph in phases if ph[0] <= step][-1]
        # a single format draws nothing from rng: such runs keep the programs of the runs in EXPERIMENTS.md
        row_formats = [formats[0] if len(formats) == 1 else rng.choice(formats) for _ in range(a.batch)]
        rows = [program(rng, tok, f, a.questions, names) for f in row_formats]
        ids, y, _ = pack(rows, bos)
        for f, (_, _, k) in zip(row_formats, rows):
            tally.setdefault(f, [0, 0, 0.0])[2] += a.questions / k
        p = a.fixed_r or T.sample_depth(depth_rng, m["mean_recurrence"])
        logits, loss = train_step(model, opt, t, m, ids, y, p, T.lr_at(step - 1, t, a.steps), s0_gen)
        with torch.no_grad():
            right, is_answer = logits.argmax(-1) == y, torch.isin(y, digits)
            for b, f in enumerate(row_formats):
                tally[f][0] += int(right[b][is_answer[b]].sum())
                tally[f][1] += int(is_answer[b].sum())
        if step % a.log_every == 0 or step == a.steps:
            acc = " ".join(f"{f} {100 * h / max(n, 1):5.1f}% (guessing {100 * gh / max(n, 1):4.1f}%)" for f, (h, n, gh) in tally.items())
            print(f"step {step:5d} loss {loss.item():.3f} answers: {acc} {time.time() - start:5.0f} s", flush=True)
            tally = {}
    return 0


if __name__ == "__main__":
    sys.exit(main())
