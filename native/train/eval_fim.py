"""Does a checkpoint use the text after the cursor? Bits per byte of held-out FIM middles, scored
with the suffix (the training layout: <|begin_text|><|fim_prefix|>prefix<|fim_suffix|>suffix
<|fim_middle|>middle) and from the prefix alone (<|begin_text|>prefix middle), on the same middle
tokens. A model that learnt FIM pays fewer bits with the suffix.

  /usr/bin/python3 native/train/eval_fim.py native/models/default [--n 120] [--r 8] [--chars 600]

Windows come from the held-out code (native/data/build/code_heldout.jsonl, made by
native/data/code_corpus.py) through code_corpus.fim_example, seeded; an example longer than the
model's block_size is skipped. PyTorch reference, float32, zero initial state.
"""
import argparse
import math
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NATIVE = os.path.dirname(HERE)
for sub in ("reference", "data", "tokenizer"):
    sys.path.insert(0, os.path.join(NATIVE, sub))

import torch  # noqa: E402

import code_corpus  # noqa: E402
from bpe import Tokenizer  # noqa: E402
from huginn import Huginn  # noqa: E402


def middle_nats(model, context, middle, r):
    """Negative log-likelihood (nats) of the `middle` ids after the `context` ids."""
    logp = model(torch.tensor([context + middle]), steps=r).log_softmax(-1)[0]
    return -sum(logp[len(context) - 1 + j, t].item() for j, t in enumerate(middle))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--n", type=int, default=120, help="FIM examples drawn (some may be skipped)")
    ap.add_argument("--r", type=int, default=8, help="core iterations")
    ap.add_argument("--chars", type=int, default=600, help="window size of an example, in characters")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    model = Huginn.from_checkpoint(a.checkpoint)
    tok = Tokenizer(os.path.join(a.checkpoint, "tokenizer.json"))
    bos = tok.token_id("<|begin_text|>")
    docs = [d for d in code_corpus.iter_documents(os.path.join(NATIVE, "data", "build", "code_heldout.jsonl")) if len(d) > 1000]
    rng = random.Random(0)
    with_suffix = prefix_only = nbytes = used = 0
    with torch.no_grad():
        for i in range(a.n):
            text = code_corpus.fim_example(docs[i % len(docs)], rng, max_chars=a.chars)
            head, middle = text[:-len(code_corpus.END_TEXT)].split(code_corpus.FIM_MIDDLE)
            prefix, suffix = head[len(code_corpus.FIM_PREFIX):].split(code_corpus.FIM_SUFFIX)
            if not middle.strip():
                continue
            fim = [bos] + tok.encode(head + code_corpus.FIM_MIDDLE)
            mid = tok.encode(middle)
            if len(fim) + len(mid) > model.cfg.block_size:
                continue
            with_suffix += middle_nats(model, fim, mid, a.r)
            prefix_only += middle_nats(model, [bos] + tok.encode(prefix), mid, a.r)
            nbytes += len(middle.encode())
            used += 1
    if not used:
        sys.exit(f"no FIM example of {a.chars} characters fits block_size {model.cfg.block_size}: try a smaller --chars")
    bpb = lambda nats: nats / nbytes / math.log(2)  # noqa: E731
    print(f"{used} FIM middles ({nbytes} bytes), r={a.r}: {bpb(with_suffix):.3f} bits/byte with the suffix, "
          f"{bpb(prefix_only):.3f} from the prefix alone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
