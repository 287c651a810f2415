"""Print parity test cases for check_js_parity.mjs: JSON [{"text", "ids"}] with ids from bpe.py.

Cases: hand-written edge cases (whitespace runs, unicode, special tokens inside text, partial
specials), math examples, FIM examples, random windows of held-out code and random strings.
"""
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "native", "data"))
from bpe import Tokenizer  # noqa: E402

HAND = [
    "", " ", "  ", "\n", "\n\n\n", "\t\t", "   x", "x   ", "a  b", "a \n b", "\r\n", "x\r\n  y",
    "hello world", "def f(x):\n    return x + 1\n", "if (a) {\n\treturn b;\n}\n",
    "café naïve Ünïcödé", "日本語のテキスト", "👍🏽 ok 🎉🎉", "\u00a0nbsp\u00a0", "\u3000全角",
    "line\u2028sep", "\x1c\x1d\x1e\x1f", "\x0b\x0c\x85", "a\u200bb", "e\u0301", "\x00\x01\x7f",
    "12345 + 678 = 13023", "3.14159e-10", "0x1F_FF", "x1 = y22", "__init__", "_a_b_",
    "foo<|end_text|>bar", "<|fim_prefix|>def f(<|fim_suffix|>)\n<|fim_middle|>x<|end_text|>",
    "<|end_text|><|end_text|>", "<|end_tex", "<|end_text|", "<<|pad|>>", " <|pad|> ",
    "<|unknown|>", "<|begin_text|>Hello<|end_turn|>", "a<|pad|>b<|pad|>c", "<||>", "<|",
    "      \n        \n", " " * 40 + "x", "\t" * 9, "''' \"\"\" ``` ", "=== !== >>>= **=",
    "print(c % 10)\n4", "((3 + 4) * 2 - 5) % 10 = 9", "'s 're 've 't", "don't I'm",
]


def random_string(rng):
    pools = ["abcxyzABCXYZ_", "0123456789", " ", "  \t\n\r", "()[]{}.,;:=+-*/%<>!?'\"`#@$^&|~\\",
             "éüßñçøå", "日本語中文한국어", "😀👍🏽🎉", "\u00a0\u2028\u3000\x85\x0b\x0c",
             "<|end_text|>", "<|fim_middle|>", "<|"]
    return "".join(rng.choice(rng.choice(pools)) if rng.random() < 0.9 else rng.choice(pools)
                   for _ in range(rng.randint(1, 60)))


def cases(n_code=200, n_random=100, seed=0):
    import code_corpus
    import math_tasks
    rng = random.Random(seed)
    out = list(HAND)
    ms = math_tasks.training_stream(seed)
    out += [next(ms) for _ in range(30)]
    out += [p + a for items in math_tasks.heldout_sets().values() for p, a in items[:2]]
    heldout = os.path.join(REPO, "native/data/build/code_heldout.jsonl")
    docs = list(code_corpus.iter_documents(heldout)) if os.path.exists(heldout) else []
    for _ in range(n_code if docs else 0):
        d = rng.choice(docs)
        a = rng.randrange(len(d))
        out.append(d[a:a + rng.choice([5, 50, 300, 2000])])
    out += [code_corpus.fim_example(rng.choice(docs), rng) for _ in range(20 if docs else 0)]
    out += [random_string(rng) for _ in range(n_random)]
    return out


if __name__ == "__main__":
    tok = Tokenizer(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "tokenizer.json"))
    json.dump([{"text": t, "ids": tok.encode(t), "decoded": tok.decode(tok.encode(t))}
               for t in cases()], sys.stdout)
