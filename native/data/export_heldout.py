"""Writes the held-out math sets as JSON for the TypeScript evaluations (npm run bench:scaling,
bench:features), so that they read exactly the problems the trainer excluded from training.

usage: /usr/bin/python3 native/data/export_heldout.py --out FILE [--n N]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import math_tasks  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--n", type=int, default=math_tasks.HELDOUT_N, help="problems per set (a prefix of the full set)")
    a = p.parse_args()
    sets = math_tasks.heldout_sets()
    out = {
        "seed": math_tasks.HELDOUT_SEED,
        "train_difficulties": {f: list(r) for f, r in math_tasks.TRAIN_D.items()},
        "sets": [
            {"family": f, "difficulty": d, "chance": math_tasks.chance_accuracy(f, items[: a.n]),
             "items": [{"prompt": q, "answer": ans} for q, ans in items[: a.n]]}
            for (f, d), items in sorted(sets.items())
        ],
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as fh:
        json.dump(out, fh)


if __name__ == "__main__":
    main()
