"""Byte-level BPE tokenizer that applies a tokenizer.json exactly like `@huggingface/tokenizers`.

Pipeline (same order as the JS library with our tokenizer.json):
  1. split out special tokens (leftmost, longest first); they map straight to their ids,
  2. Split pre-tokenizer with PATTERN (its matches cover the whole text, so "Isolated" = findall),
  3. ByteLevel: UTF-8 bytes of each pre-token -> GPT-2 printable characters,
  4. BPE: repeatedly merge the adjacent pair with the lowest merge rank (leftmost on ties).

The regex is ASCII-only on purpose: `\\s`, `\\p{L}` etc. differ between Python's `re`, Oniguruma
and the JS rewrite of Oniguruma patterns, explicit ASCII classes mean the same in all three.
Non-ASCII characters fall into the "other" class. Digits are single tokens so that arithmetic is
per digit.

Usage:  tok = Tokenizer("native/tokenizer/tokenizer.json"); ids = tok.encode(text);
        text = tok.decode(ids)
"""
import json
import re

SPECIALS = ("<|begin_text|>", "<|end_text|>", "<|end_turn|>", "<|pad|>",
            "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>")

_WS = r"\t\n\x0b\x0c\r "  # the ASCII whitespace characters
# Words with one optional leading space; single digits; punctuation/other runs with one optional
# leading space; whitespace runs that leave their last space to the next word (GPT-2's trick, so
# "    return" gives "   " + " return"); any remaining whitespace run.
PATTERN = (rf" ?[A-Za-z_]+|[0-9]| ?[^{_WS}A-Za-z0-9_]+"
           rf"|[{_WS}]+(?![^{_WS}])|[{_WS}]+")
_PRE = re.compile(PATTERN)


def bytes_to_unicode():
    """GPT-2's reversible map from the 256 byte values to printable unicode characters."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_ENC = bytes_to_unicode()
BYTE_DEC = {c: b for b, c in BYTE_ENC.items()}


def special_splitter(specials):
    # Longest first, so a special that is a prefix of another never wins (JS uses a trie).
    alts = sorted(specials, key=len, reverse=True)
    return re.compile("(" + "|".join(map(re.escape, alts)) + ")")


def pretokenize(text):
    """Pre-tokens of a text without special tokens, already in byte-level characters."""
    return ["".join(BYTE_ENC[b] for b in p.encode("utf-8")) for p in _PRE.findall(text)]


class Tokenizer:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            cfg = json.load(f)
        model = cfg["model"]
        self.vocab = dict(model["vocab"])
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m)
                  for m in model["merges"]]
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.added = {t["content"]: t["id"] for t in cfg["added_tokens"]}
        self.vocab.update(self.added)
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self._split = special_splitter(self.added)
        self._cache = {}

    def _bpe(self, word):
        ids = self._cache.get(word)
        if ids is not None:
            return ids
        parts = list(word)
        while len(parts) > 1:
            # Lowest-rank pair; min() keeps the leftmost of equal ranks.
            best, rank = None, None
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and (rank is None or r < rank):
                    best, rank = i, r
            if best is None:
                break
            a, b = parts[best], parts[best + 1]
            out, i = [], 0
            while i < len(parts):  # merge every occurrence, left to right, non-overlapping
                if i < len(parts) - 1 and parts[i] == a and parts[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(parts[i])
                    i += 1
            parts = out
        ids = [self.vocab[p] for p in parts]
        if len(self._cache) < 500_000:
            self._cache[word] = ids
        return ids

    def encode(self, text):
        ids = []
        for k, piece in enumerate(self._split.split(text)):
            if k % 2:  # odd pieces are the captured special tokens
                ids.append(self.added[piece])
            elif piece:
                for w in pretokenize(piece):
                    ids.extend(self._bpe(w))
        return ids

    def decode(self, ids):
        out, buf = [], []
        for i in ids:
            t = self.id_to_token[i]
            if t in self.added:
                out.append(bytes(buf).decode("utf-8", errors="replace"))
                out.append(t)
                buf = []
            else:
                buf.extend(BYTE_DEC[c] for c in t)
        out.append(bytes(buf).decode("utf-8", errors="replace"))
        return "".join(out)

    def token_id(self, token):
        return self.vocab[token]

    def __len__(self):
        return len(self.vocab)
