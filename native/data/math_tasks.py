"""Seeded generator of small math problems whose serial depth grows with a difficulty knob.

Purpose: a recurrent-depth (Huginn-style) model should get more of the *harder* problems right
when it runs more recurrent iterations. That only shows when solving a problem needs a number of
sequential steps that grows with difficulty, and when the held-out set contains problems deeper
than anything seen in training (d = 8, 10 here vs. d <= 6 in training).

Format (every example is a pair prompt/answer; the training text is prompt + answer + END_TEXT):

  chain  variable tracking: d = number of dependent hops (one variable's value is copied
         through d assignments). Single-letter variables, values are digits, distractor
         assignments (constants, and copies among themselves) interleaved. The prompt ends with
         a newline after the print line and the answer is one digit (what Python prints):
             prompt: "a = 4\\nq = 7\\nb = a\\nc = b\\nprint(c)\\n"
             answer: "4"
         (Up to the second default model each hop also applied + - * with a constant, mod 10;
         with that, no run this machine can afford got past chance even at d = 1.)
  expr   d = number of binary operations in a random nested expression over digits 1..9 with
         + - * and the minimal parentheses Python needs; answer is the value mod 10:
             prompt: "((3 + 4) * 2 - 5) % 10 = "      answer: "9"
  add    d = number of digits of the first operand (the second has 1..d digits); the answer is
         the full sum (several single-digit tokens). Not meant for the scaling plot.
             prompt: "4821 + 377 = "                   answer: "5198"

Why these choices:
  * + - * commute with "mod 10", so a model can carry a single digit per step, and Python's %
    is never negative: the programs are valid Python whose printed output is the answer.
  * Prompts end with a newline or "= " so the answer always starts a fresh pre-token (the
    tokenizer splits digits one per token): tokens(prompt + answer) = tokens(prompt) +
    tokens(answer), which makes exact-match evaluation on token ids possible.

API:
  generate(family, difficulty, rng) -> (prompt, answer)   rng is a random.Random
  chain_training_text(d, rng, k) -> [(question, answer)]: a chain example with up to k more queries.
  training_stream(seed)  -> infinite iterator of training texts (prompt + answer + END_TEXT),
                            chain/expr d in 1..6, add d in 1..6, never a held-out prompt.
  heldout_sets(seed=HELDOUT_SEED) -> {(family, d): [(prompt, answer), ...]} with
                            HELDOUT_N problems each for chain/expr at d in HELDOUT_D and add at
                            d in (3, 6). Deterministic; held-out seeds live in their own space.
Run `python3 math_tasks.py` for samples and a self-check.
"""
import hashlib
import random
import string

END_TEXT = "<|end_text|>"
FAMILIES = ("chain", "expr", "add")
TRAIN_D = {"chain": range(1, 7), "expr": range(1, 7), "add": range(1, 7)}
HELDOUT_D = {"chain": (2, 4, 6, 8, 10), "expr": (2, 4, 6, 8, 10), "add": (3, 6)}
HELDOUT_N = 200
HELDOUT_SEED = 0
# Mixture of the training stream: state tracking and nested evaluation carry the scaling story.
TRAIN_MIX = (("chain", 0.4), ("expr", 0.4), ("add", 0.2))

_OPS = ("+", "-", "*")
_PREC = {"+": 1, "-": 1, "*": 2}


def _chain_program(d, rng):
    # One main chain of d hops plus distractor lines (own chains, same shapes) interleaved, so
    # the model must follow the right variable instead of reading the last line.
    n_distract = min(rng.randint(1, d + 1), 26 - (d + 1))  # single letters: d <= 24
    names = rng.sample(string.ascii_lowercase, d + 1 + n_distract)
    main, others = names[: d + 1], names[d + 1:]
    main_lines = [f"{main[0]} = {rng.randint(0, 9)}"]
    for i in range(1, d + 1):
        main_lines.append(f"{main[i]} = {main[i - 1]}")
    other_lines, defined = [], []
    for v in others:
        if defined and rng.random() < 0.6:
            other_lines.append(f"{v} = {rng.choice(defined)}")
        else:
            other_lines.append(f"{v} = {rng.randint(0, 9)}")
        defined.append(v)
    # Random interleaving that keeps each list's own order (definitions before uses).
    slots = [0] * len(main_lines) + [1] * len(other_lines)
    rng.shuffle(slots)
    it = (iter(main_lines), iter(other_lines))
    lines = [next(it[s]) for s in slots]
    env = {}
    exec("\n".join(lines), {}, env)  # trusted, generated text: the ground truth is Python itself
    return "\n".join(lines) + "\n", names, env


def _query(v, env):
    """The print line asking for variable v and its answer (what Python prints)."""
    return f"print({v})\n", str(env[v])


def _chain(d, rng):
    program, names, env = _chain_program(d, rng)
    question, answer = _query(names[d], env)
    return program + question, answer


def chain_training_text(d, rng, extra_queries):
    """A chain example as (question, answer) pairs: first exactly what generate("chain", d, rng)
    gives (so the held-out exclusion applies to it), then up to extra_queries more print lines
    about other variables of the same program ("\nprint(x)\n", answer). The training text
    is the pairs joined, then END_TEXT. The extra queries (shallower hops, distractor chains) add
    supervision of the same skill to every program."""
    program, names, env = _chain_program(d, rng)
    question, answer = _query(names[d], env)
    pairs = [(program + question, answer)]
    others = [v for v in names if v != names[d]]
    for v in rng.sample(others, min(extra_queries, len(others))):
        q, a = _query(v, env)
        pairs.append(("\n" + q, a))
    return pairs


def _render(node, parent_prec=0, right=False):
    # Minimal parentheses for Python: wrap a child if it binds weaker than its parent, or equally
    # on the right of - (a - (b + c)) or of * (harmless, keeps the tree shape visible).
    if isinstance(node, int):
        return str(node)
    op, a, b = node
    p = _PREC[op]
    s = f"{_render(a, p)} {op} {_render(b, p, True)}"
    return f"({s})" if p < parent_prec or (right and p == parent_prec) else s


def _expr(d, rng):
    # Grow the tree one operation at a time around the current expression, so it is nested (depth
    # ~ d) rather than balanced: evaluation needs about d sequential steps.
    node = rng.randint(1, 9)
    for _ in range(d):
        op, leaf = rng.choice(_OPS), rng.randint(1, 9)
        node = (op, node, leaf) if rng.random() < 0.7 else (op, leaf, node)
    text = _render(node)
    if not isinstance(node, int):
        text = f"({text})"
    return f"{text} % 10 = ", str(eval(text) % 10)


def _add(d, rng):
    a = rng.randint(10 ** (d - 1) if d > 1 else 0, 10 ** d - 1)
    nb = rng.randint(1, d)
    b = rng.randint(10 ** (nb - 1) if nb > 1 else 0, 10 ** nb - 1)
    if rng.random() < 0.5:
        a, b = b, a
    return f"{a} + {b} = ", str(a + b)


_GEN = {"chain": _chain, "expr": _expr, "add": _add}


def generate(family, difficulty, rng):
    """One (prompt, answer) for a family at difficulty d >= 1, drawn from rng (random.Random)."""
    return _GEN[family](int(difficulty), rng)


def prompt_hash(prompt):
    return hashlib.sha1(prompt.encode()).digest()[:12]


def heldout_sets(seed=HELDOUT_SEED, n=HELDOUT_N):
    """{(family, d): [(prompt, answer)] * n}, distinct prompts, from a seed space of its own."""
    sets, seen = {}, set()
    for family, ds in HELDOUT_D.items():
        for d in ds:
            # String seeds are hashed by random.Random (sha512), disjoint from training's ints.
            rng = random.Random(f"heldout/{seed}/{family}/{d}")
            items = []
            while len(items) < n:
                p, a = generate(family, d, rng)
                h = prompt_hash(p)
                if h not in seen:
                    seen.add(h)
                    items.append((p, a))
            sets[(family, d)] = items
    return sets


def training_stream(seed, heldout_seed=HELDOUT_SEED):
    """Infinite iterator of training texts (prompt + answer + END_TEXT) at training difficulties.

    Any prompt that is in the held-out sets is rejected (exact match by hash), which matters at
    small d where the space of prompts is small."""
    banned = {prompt_hash(p) for items in heldout_sets(heldout_seed).values() for p, _ in items}
    rng = random.Random(f"train/{seed}")
    fams, weights = zip(*TRAIN_MIX)
    while True:
        family = rng.choices(fams, weights)[0]
        p, a = generate(family, rng.choice(TRAIN_D[family]), rng)
        if prompt_hash(p) not in banned:
            yield p + a + END_TEXT


if __name__ == "__main__":
    rng = random.Random(1)
    for fam in FAMILIES:
        for d in (1, 3, 6, 10):
            p, a = generate(fam, d, rng)
            print(f"--- {fam} d={d}\n{p}{a}")
    hs = heldout_sets()
    print({k: len(v) for k, v in hs.items()})
    banned = {prompt_hash(p) for v in hs.values() for p, _ in v}
    it = training_stream(0)
    sample = [next(it) for _ in range(20000)]
    held_texts = {p + a + END_TEXT for v in hs.values() for p, a in v}
    assert not held_texts.intersection(sample)
    # How often would a naive generator have collided with the held-out set at small d?
    r = random.Random(5)
    for fam, d in (("chain", 2), ("expr", 2), ("add", 3)):
        hits = sum(prompt_hash(generate(fam, d, r)[0]) in banned for _ in range(20000))
        print(f"{fam} d={d}: {hits}/20000 random prompts are held-out (rejected in training)")
    # A multi-query chain starts with exactly the single-query example of the same draw, and every
    # answer is what Python prints for the program.
    for seed in range(200):
        d = 1 + seed % 6
        pairs = chain_training_text(d, random.Random(seed), 3)
        assert pairs[0] == generate("chain", d, random.Random(seed)), pairs
        program = pairs[0][0][: pairs[0][0].index("print(")]
        env = {}
        exec(program, {}, env)
        for q, a in pairs:
            var = q.split("print(")[1].split(")")[0]
            assert q.endswith("\n") and int(a) == env[var], (pairs, q, a)
    print("ok")
