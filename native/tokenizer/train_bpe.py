"""Train a byte-level BPE tokenizer (by hand, standard library only) and write tokenizer.json.

Training text: a seeded sample of the code corpus (native/data/build/code_train.jsonl, written by
native/data/code_corpus.py) plus math examples from native/data/math_tasks.py. Special tokens are
cut out of the text first, so no merge ever crosses them.

Vocabulary layout (ids): 0..255 the 256 bytes (GPT-2 byte-to-unicode characters, in byte order),
then merged tokens in merge order, then the special tokens, in this order, at the very end:
<|begin_text|> <|end_text|> <|end_turn|> <|pad|> <|fim_prefix|> <|fim_middle|> <|fim_suffix|>.
--vocab-size counts everything (default 4096).

Speed: pre-tokens are counted once (unique pre-token -> frequency), pair counts are kept
incrementally (only words containing the merged pair are touched) and the best pair comes from a
lazy max-heap, so ~5 MB trains in a minute or two.

  /usr/bin/python3 native/tokenizer/train_bpe.py [--vocab-size 4096] [--sample-mb 5]
      [--corpus native/data/build/code_train.jsonl] [--out native/tokenizer/tokenizer.json]
"""
import argparse
import collections
import heapq
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "native", "data"))
from bpe import BYTE_ENC, PATTERN, SPECIALS, pretokenize, special_splitter  # noqa: E402


def sample_text(corpus, sample_bytes, math_bytes, seed):
    """Yield training texts: random code documents (seeded) and then math examples."""
    import math_tasks
    rng = random.Random(seed)
    offsets = []
    with open(corpus, "rb") as f:  # index line offsets so a random subset can be read cheaply
        pos = 0
        for line in f:
            offsets.append(pos)
            pos += len(line)
        rng.shuffle(offsets)
        total = 0
        for off in offsets:
            if total >= sample_bytes:
                break
            f.seek(off)
            text = json.loads(f.readline())["text"]
            total += len(text)
            yield text
    total = 0
    for text in math_tasks.training_stream(seed):
        if total >= math_bytes:
            break
        total += len(text)
        yield text


def count_words(texts):
    split = special_splitter(SPECIALS)
    counts = collections.Counter()
    for text in texts:
        for k, piece in enumerate(split.split(text)):
            if k % 2 == 0 and piece:
                counts.update(pretokenize(piece))
    return counts


def train(word_counts, n_tokens, log_every=500):
    """Classic BPE over unique words until there are n_tokens tokens (bytes included).

    Returns the merges as (left, right) strings and the token strings by id. Two different
    merges can make the same string ("ab"+"c", "a"+"bc"): the token is reused, so there can be
    slightly more merges than new tokens."""
    tokens = [BYTE_ENC[b] for b in range(256)]  # id -> string
    tok_id = {t: i for i, t in enumerate(tokens)}
    words = [[tok_id[c] for c in w] for w in word_counts]
    freqs = list(word_counts.values())
    pair_count = collections.defaultdict(int)
    where = collections.defaultdict(set)  # pair -> indices of words that (may) contain it
    for wi, (w, f) in enumerate(zip(words, freqs)):
        for p in zip(w, w[1:]):
            pair_count[p] += f
            where[p].add(wi)
    # Max-heap with lazy deletion; ties go to the smaller (left, right) ids for determinism.
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    t0 = time.time()
    while len(tokens) < n_tokens and heap:
        c, pair = heapq.heappop(heap)
        if -c != pair_count.get(pair, 0):
            continue  # stale entry: the pair's count changed after it was pushed
        if -c < 2:
            break
        a, b = pair
        new = tokens[a] + tokens[b]
        if new not in tok_id:  # the same string can come from two different merges
            tok_id[new] = len(tokens)
            tokens.append(new)
        nid = tok_id[new]
        merges.append((tokens[a], tokens[b]))
        changed = set()
        for wi in where.pop(pair):
            w, f = words[wi], freqs[wi]
            if len(w) < 2:
                continue
            out, i, hit = [], 0, False
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(nid)
                    i += 2
                    hit = True
                else:
                    out.append(w[i])
                    i += 1
            if not hit:
                continue
            for p in zip(w, w[1:]):
                pair_count[p] -= f
                changed.add(p)
            for p in zip(out, out[1:]):
                pair_count[p] += f
                where[p].add(wi)
                changed.add(p)
            words[wi] = out
        pair_count.pop(pair, None)
        changed.discard(pair)
        for p in changed:
            cnt = pair_count[p]
            if cnt > 0:
                heapq.heappush(heap, (-cnt, p))
            else:
                del pair_count[p]
        if log_every and len(merges) % log_every == 0:
            print(f"  {len(merges)} merges, vocab {len(tokens)}, last {new!r} x{-c}, "
                  f"{time.time() - t0:.0f}s", file=sys.stderr)
    return merges, tokens


def tokenizer_json(tokens, merges):
    vocab = {t: i for i, t in enumerate(tokens)}
    added = []
    for s in SPECIALS:
        vocab[s] = len(vocab)
        added.append({"id": vocab[s], "content": s, "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": False, "special": True})
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": PATTERN}, "behavior": "Isolated",
             "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
             "use_regex": False}]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                    "use_regex": False},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--sample-mb", type=float, default=5.0, help="code sample size")
    ap.add_argument("--math-mb", type=float, default=0.5, help="math examples in the sample")
    ap.add_argument("--corpus", default=os.path.join(REPO, "native/data/build/code_train.jsonl"))
    ap.add_argument("--out", default=os.path.join(HERE, "tokenizer.json"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    t0 = time.time()
    counts = count_words(sample_text(args.corpus, int(args.sample_mb * 1e6),
                                     int(args.math_mb * 1e6), args.seed))
    print(f"{sum(counts.values()):,} pre-tokens, {len(counts):,} unique, "
          f"{time.time() - t0:.0f}s", file=sys.stderr)
    merges, tokens = train(counts, args.vocab_size - len(SPECIALS))
    tj = tokenizer_json(tokens, merges)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False, indent=1)
    # The JS Tokenizer takes a config object too; clean_up_tokenization_spaces defaults to true
    # there and would delete spaces before "." and "," in decoded code.
    cfg = {"clean_up_tokenization_spaces": False, "bos_token": SPECIALS[0],
           "eos_token": SPECIALS[1], "pad_token": SPECIALS[3],
           "model_max_length": 1 << 20}
    with open(os.path.join(os.path.dirname(args.out), "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    ids = {s: tj["model"]["vocab"][s] for s in SPECIALS}
    print(f"wrote {args.out}: vocab {len(tj['model']['vocab'])}, {len(merges)} merges, "
          f"specials {ids}, {time.time() - t0:.0f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
