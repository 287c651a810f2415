"""Does variable tracking use depth? A few minutes of training on chains alone, in the training
data's own format, then the accuracy at every hop against the number of iterations r.

  /usr/bin/python3 native/train/chain_probe.py [--config native/train/configs/default.json]
      [--steps 4000] [--recall-steps 1000] [--recall-names 6] [--names 26] [--dmax 8]
      [--stage 300] [--questions 8] [--style repl] [--any-questions] [--eval-d 8] [--eval-r 1,2,4,16]

Training rows: first --recall-steps steps of the bare lookup on --recall-names letters
(math_tasks.recall_training_text), then chain programs of d hops (math_tasks.chain_training_text:
the main chain's end asked first, then up to --questions - 1 more questions, one per other
constant's chain unless --any-questions), d uniform in 1..dmax where dmax grows by one every
--stage steps up to --dmax; written in --style (math_tasks.CHAIN_STYLES, repl by default).
Loss on the answers only; the model shape, optimiser and depth distribution of the config, the
lr on a cosine schedule of --schedule steps (10,000: a probe stays near the peak, as the probes
in native/train/EXPERIMENTS.md did).

Evaluation (every --eval-every steps and at the end): fresh programs of --eval-d hops, one
question each, at hop h = 0..eval-d of the main chain, so no earlier answer is in its context.
A line per r: the accuracy at each hop, and guessing (a constant of the program at random).
Depth pays where the deep hops gain with r. (A scratch version asked 8 questions about any
variables and read the later ones: a variable next to an answered one is a copy of that answer,
97-100% at every r, while first questions at 2-8 hops stayed near guessing. Hence one question
per program here, and one per constant's chain in training.)
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import random
import string
import sys
import time

import numpy as np
import torch

import recall_probe as R
import train as T  # also puts native/data on sys.path

import math_tasks  # noqa: E402


def encode(tok, pairs):
    """(ids, targets) of [(question, answer)], tokenized as the trainer's math rows with
    answers-only loss: targets are -1 except where an answer token or the stop after it is
    predicted."""
    toks = T.problem_tokens(tok, pairs, answers_only=True)
    return [x for x, _ in toks], [x if keep else -1 for x, keep in toks[1:]] + [-1]


def hop_accuracy(model, tok, t, d, rs, n, letters, bos, style, seed=123):
    """{r: [accuracy at hop 0..d]} and [guessing at hop 0..d] on n fresh programs per hop."""
    model.eval()
    acc, guess = {r: [] for r in rs}, []
    for hop in range(d + 1):
        rng = random.Random(f"{seed}/{hop}")
        items = [math_tasks.chain_hop_question(d, hop, rng, letters, style) for _ in range(n)]
        rows = [encode(tok, [(q, a)]) for q, a, _ in items]
        ids, y, L = R.pack(rows, bos)
        at = torch.tensor([len(tok.encode(q)) for q, _, _ in items])  # <|begin_text|> shifts by one
        want = y[torch.arange(n), at]
        guess.append(sum(g for _, _, g in items) / n)
        for r in rs:
            with torch.no_grad():
                logits = T.train_forward(model, ids, model.rope(0, L), r, 0, t["init_scale"], torch.Generator().manual_seed(seed), bf16=T.autocast_bf16(t))
            acc[r].append(float((logits[torch.arange(n), at].argmax(-1) == want).float().mean()))
    model.train()
    return acc, guess


def report(step, acc, guess):
    print(f"eval at step {step}: accuracy per hop h (fresh programs, one question each)", flush=True)
    print("         " + " ".join(f"h={h:<3d}" for h in range(len(guess))), flush=True)
    print("guessing " + " ".join(f"{100 * g:5.0f}" for g in guess), flush=True)
    for r, row in acc.items():
        print(f"r={r:<6d} " + " ".join(f"{100 * x:5.0f}" for x in row), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=os.path.join(T.HERE, "configs", "default.json"))
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--schedule", type=int, default=10000, help="length of the lr schedule in steps")
    ap.add_argument("--recall-steps", type=int, default=1000)
    ap.add_argument("--recall-names", type=int, default=6)
    ap.add_argument("--names", type=int, default=26, help="chain variables from the first N letters")
    ap.add_argument("--dmax", type=int, default=8)
    ap.add_argument("--stage", type=int, default=300, help="steps per curriculum stage (dmax + 1)")
    ap.add_argument("--questions", type=int, default=8, help="questions per program at most")
    ap.add_argument("--style", default="repl", choices=sorted(math_tasks.CHAIN_STYLES))
    ap.add_argument("--any-questions", action="store_true", help="extra questions about any variables, not one per chain")
    ap.add_argument("--eval-d", type=int, default=8)
    ap.add_argument("--eval-r", default="1,2,4,16")
    ap.add_argument("--eval-n", type=int, default=64, help="programs per hop")
    ap.add_argument("--eval-every", type=int, default=1000)
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="1 to run two probes side by side on the 2 cores")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    model, opt, t, m, tok = R.setup(a.config, a.lr, a.seed)
    rng, depth_rng = random.Random(a.seed), np.random.default_rng(a.seed)
    s0_gen = torch.Generator().manual_seed(a.seed)
    bos = tok.token_id("<|begin_text|>")
    letters, rs = string.ascii_lowercase[:a.names], [int(r) for r in a.eval_r.split(",")]
    start, losses = time.time(), []
    for step in range(1, a.steps + 1):
        if step <= a.recall_steps:
            texts = [math_tasks.recall_training_text(rng, string.ascii_lowercase[:a.recall_names], a.questions, a.style) for _ in range(a.batch)]
        else:
            dmax = min(a.dmax, 2 + (step - a.recall_steps - 1) // a.stage)
            texts = [math_tasks.chain_training_text(rng.randint(1, dmax), rng, a.questions - 1, letters, a.style, not a.any_questions)
                     for _ in range(a.batch)]
        ids, y, _ = R.pack([encode(tok, pairs) for pairs in texts], bos)
        p = T.sample_depth(depth_rng, m["mean_recurrence"])
        _, loss = R.train_step(model, opt, t, m, ids, y, p, T.lr_at(step - 1, t, a.schedule), s0_gen)
        losses.append(loss.item())
        if step % a.log_every == 0:
            stage = "recall" if step <= a.recall_steps else f"chains d <= {dmax}"
            print(f"step {step:5d} loss {sum(losses) / len(losses):.3f} ({stage}) {time.time() - start:5.0f} s", flush=True)
            losses = []
        if step == a.steps or (step > a.recall_steps and step % a.eval_every == 0):
            report(step, *hop_accuracy(model, tok, t, a.eval_d, rs, a.eval_n, letters, bos, a.style))
    return 0


if __name__ == "__main__":
    sys.exit(main())
