"""Test-time scaling of a trained checkpoint: exact-match accuracy on the held-out math sets
(math_tasks.heldout_sets) for several recurrence counts r, zero initial state (init_scale 0).

  /usr/bin/python3 native/train/eval_scaling.py CHECKPOINT_DIR [--r 1,2,4,8,16,32] [--n 200] [--json FILE]
      [--surroundings]   (each set also in surroundings: math_tasks.heldout_surrounded_sets)

For the trainer's pilots only (the product's evaluation runs on the ONNX engine). Prompts are
<|begin_text|> + prompt, as training rows start with it.

Two shortcuts keep it fast and exact:
  * Greedy exact match equals "under teacher forcing, the argmax at every answer position is the
    answer token", and then a stop (<|end_text|> or a line break): the first position where
    greedy decoding would leave the answer is a teacher-forced mismatch, and vice versa. So one
    forward over prompt + answer replaces the decoding loop.
  * A set is one right-padded batch: attention is causal, so padding after a sequence cannot
    change its logits. All r are read off one recurrence: after iteration r, run the coda.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import json
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NATIVE = os.path.dirname(HERE)
for sub in ("reference", "data", "tokenizer"):
    sys.path.insert(0, os.path.join(NATIVE, sub))

import torch  # noqa: E402

import cpu_memory  # noqa: E402
import math_tasks  # noqa: E402
from bpe import Tokenizer  # noqa: E402
from huginn import Huginn  # noqa: E402


def stop_tokens(tok):
    """An answer must be followed by <|end_text|> or a line break (a chain problem in training may
    go on with another question), as the engine benchmark reads "the text up to the first newline"."""
    end = tok.token_id("<|end_text|>")
    return torch.tensor([end] + [i for i in tok.id_to_token if tok.decode([i]).startswith("\n")])


@torch.no_grad()
def accuracy_by_r(model, tok, items, rs, bf16, stops):
    """{r: fraction of (prompt, answer) items answered exactly} for each r in rs."""
    bos, end, pad = (tok.token_id(t) for t in ("<|begin_text|>", "<|end_text|>", "<|pad|>"))
    rows, spans = [], []
    for prompt, answer in items:
        p, a = [bos] + tok.encode(prompt), tok.encode(answer) + [end]
        rows.append(p + a)
        spans.append((len(p) - 1, len(a)))  # logits at position i predict token i + 1
    T = max(map(len, rows))
    ids = torch.tensor([r + [pad] * (T - len(r)) for r in rows])
    targets = torch.full_like(ids, -1)
    for b, (first, n) in enumerate(spans):
        targets[b, first:first + n] = ids[b, first + 1:first + 1 + n]
        targets[b, first + n - 1] = -2  # the stop position: any token of `stops`
    scored = targets >= 0
    stop_at = targets == -2
    out = {}
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        rope = model.rope(0, T)
        e = model.prelude_forward(ids, rope)
        s = model.init_state(e, 0.0)
        for r in range(1, max(rs) + 1):
            s = model.iterate(s, e, 1, rope, first_step=r - 1)
            if r in rs:
                pred = model.coda_forward(s, rope).argmax(-1)
                ok = ((pred == targets) | ~scored).all(dim=1) & (torch.isin(pred, stops) | ~stop_at).all(dim=1)
                out[r] = ok.float().mean().item()
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--r", default="1,2,4,8,16,32", help="comma-separated recurrence counts")
    ap.add_argument("--n", type=int, default=200, help="problems per set (first n of each)")
    ap.add_argument("--families", default=",".join(math_tasks.FAMILIES))
    ap.add_argument("--fp32", action="store_true", help="float32 instead of bf16 autocast (bf16 is faster only on CPUs with bf16 instructions)")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--surroundings", action="store_true", help="each set also with its problems in surroundings")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    cpu_memory.keep_freed_memory()  # big batches: see cpu_memory
    rs = sorted(int(r) for r in a.r.split(","))
    model = Huginn.from_checkpoint(a.checkpoint, torch.float32)
    tok = Tokenizer(os.path.join(a.checkpoint, "tokenizer.json"))
    families = a.families.split(",")
    results, stops = [], stop_tokens(tok)
    print(f"{'set':14s} chance " + " ".join(f"r={r:<4d}" for r in rs), flush=True)
    surrounded = math_tasks.heldout_surrounded_sets(n=a.n) if a.surroundings else {}
    for (family, d), items in math_tasks.heldout_sets().items():
        if family not in families:
            continue
        items = items[:a.n]
        chance = math_tasks.chance_accuracy(family, items)
        variants = [("", items)] + ([(" wrapped", [(w, ans) for w, ans, _ in surrounded[(family, d)]])] if a.surroundings else [])
        for label, cases in variants:
            acc = accuracy_by_r(model, tok, cases, rs, not a.fp32, stops)
            results.append({"family": family, "d": d, "surroundings": bool(label), "n": len(cases), "chance": chance, "acc": {str(r): acc[r] for r in rs}})
            print(f"{family + ' d=' + str(d) + label:14s} {100 * chance:5.1f}  " + " ".join(f"{100 * acc[r]:5.1f} " for r in rs), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"checkpoint": a.checkpoint, "r": rs, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
