"""Seeded generator of small math problems whose serial depth grows with a difficulty knob.

Purpose: a recurrent-depth (Huginn-style) model should get more of the *harder* problems right
when it runs more recurrent iterations. That only shows when solving a problem needs a number of
sequential steps that grows with difficulty, and when the held-out set contains problems deeper
than anything seen in training (d = 8, 10 here vs. d <= 6 in training).
A split counts only where the model beats chance (chance_accuracy): guessing the set's most
common answer, or for chain a constant of the program.

Format (every example is a pair prompt/answer; the training text is prompt + answer + END_TEXT):

  chain  variable tracking: d = number of dependent hops (one variable's value is copied
         through d assignments). Single-letter variables, values are digits, distractor
         assignments (constants, and copies among themselves) in a random order where every
         constant is equally likely to come first (no positional shortcut). The answer is one
         digit (what Python prints). In the held-out sets (and the "print" style, CHAIN_STYLES)
         the prompt ends with a newline after the print line:
             prompt: "a = 4\\nq = 7\\nb = a\\nc = b\\nprint(c)\\n"
             answer: "4"
         Training can use the "repl" style instead ("a=4\\nq=7\\nb=a\\nc=b\\nc" -> "4").
         (Up to the second default model each hop also applied + - * with a constant, mod 10;
         with that, no run this machine can afford got past chance even at d = 1.)
  expr   d = number of binary operations in a random nested expression over digits 1..9 with
         + - * and the minimal parentheses Python needs; answer is the value mod 10:
             prompt: "((3 + 4) * 2 - 5) % 10 = "      answer: "9"
  mul    d = number of digits of the first operand; times a small number (one digit 2..9) half the
         time, else times a number of 1..d digits; either operand first; answer the full product:
             prompt: "4821 * 37 = "                    answer: "178377"
         (Not in TRAIN_MIX: training_stream(mul=True), or a trainer config naming it.)
  add    d = number of digits of the first operand (the second has 1..d digits); the answer is
         the full sum (several single-digit tokens): carries make the serial work grow with d.
             prompt: "4821 + 377 = "                   answer: "5198"
  ops    chained operations: d = number of updates of one variable, each line reading the value
         the line before it left (+ - * with a digit 1..9); the answer is the last value mod 10:
             prompt: "x = 4\nx = x + 3\nx = x * 2\nprint(x % 10)\n"   answer: "4"
         Unlike chain, the step from one line to the next needs no lookup by name (the previous
         line is always 7 tokens back), so what grows with d is only the serial work.

Why these choices:
  * + - * commute with "mod 10", so a model can carry a single digit per step, and Python's %
    is never negative: the programs are valid Python whose printed output is the answer.
  * Prompts end with a newline, "= " or (repl style) a letter, so the answer always starts a
    fresh pre-token (the tokenizer splits digits one per token and never joins a letter and a
    digit): tokens(prompt + answer) = tokens(prompt) + tokens(answer), which makes exact-match
    evaluation on token ids possible.

API:
  generate(family, difficulty, rng) -> (prompt, answer)   rng is a random.Random
  chain_training_text(d, rng, k, letters, style, per_chain) -> [(question, answer)]: a chain
                            example with up to k more queries.
  recall_training_text(rng, letters, q, style) -> [(question, answer)]: the bare lookup (0 hops).
  chain_hop_question(d, hop, rng, letters, style) -> (prompt, answer, guessing): for probes.
  training_stream(seed, mul=False, surroundings=0.0) -> infinite iterator of training texts
                            (prompt + answer + END_TEXT), chain/expr d in 1..6, add d in 1..6,
                            never a held-out prompt; options (off by default) add mul to the mix
                            and wrap that share of the prompts in surroundings.
  surround(prompt, rng) -> (wrapped prompt, template): the problem after Markdown, a comment, a
                            docstring, code or prose (SURROUNDINGS); same ending, same answer.
  heldout_surrounded_sets(seed, n) -> {(family, d): [(wrapped, answer, bare)]}: the held-out
                            problems in surroundings (export_surrounded writes them as JSON).
  heldout_sets(seed=HELDOUT_SEED) -> {(family, d): [(prompt, answer), ...]} with
                            HELDOUT_N problems each at the d in HELDOUT_D (d = 8, 10 deeper
                            than training). Deterministic; held-out seeds live in their own space.
  heldout_hashes() -> prompt hashes of the held-out problems (training rejects them).
  chance_accuracy(family, items) -> accuracy of answer-blind guessing on a set.
Run `python3 math_tasks.py` for samples and a self-check.
"""
import collections
import hashlib
import operator
import os
import random
import string
import sys

END_TEXT = "<|end_text|>"
FAMILIES = ("chain", "expr", "add", "ops", "mul")
TRAIN_D = {"chain": range(1, 7), "expr": range(1, 7), "add": range(1, 7), "ops": range(1, 7), "mul": range(1, 7)}
# (ops, then mul, come last: the held-out sets are drawn in this order with one shared dedup, so adding a
# family at the end leaves the earlier families' sets as they were)
HELDOUT_D = {"chain": (2, 4, 6, 8, 10), "expr": (2, 4, 6, 8, 10), "add": (3, 6, 8), "ops": (2, 4, 6, 8, 10), "mul": (3, 6, 8)}
HELDOUT_N = 200
HELDOUT_SEED = 0
# Mixture of the training stream: state tracking and nested evaluation carry the scaling story.
TRAIN_MIX = (("chain", 0.4), ("expr", 0.4), ("add", 0.2))
# With training_stream(mul=True) only (off by default, so existing streams stay as they were).
TRAIN_MIX_MUL = TRAIN_MIX + (("mul", 0.1),)

_OPS = ("+", "-", "*")
_PREC = {"+": 1, "-": 1, "*": 2}
_APPLY = {"+": operator.add, "-": operator.sub, "*": operator.mul}


# How a chain program is written: (assignment, question); the answer follows the question.
#   print: "a = 4\nq = 7\nb = a\nc = b\nprint(c)\n" -> "4"  the third default model's format, and
#          the held-out sets' (generate)
#   repl:  "a=4\nq=7\nb=a\nc=b\nc" -> "4"                 no spaces; the question is the name, as a
#          REPL echoes it. The probes (native/train/EXPERIMENTS.md) learn the lookup in minutes
#          in this form and not in the other: a name is the same token where it is assigned and
#          where it is read (" b" in "c = b" is another token than the "b" starting b's own
#          line), every value sits two tokens after its name, and the answer is predicted at the
#          asked name itself.
CHAIN_STYLES = {"print": ("{} = {}", "print({})\n"), "repl": ("{}={}", "{}")}
# The style of generate() and so of the held-out sets (and the default of the functions below).
# A model trained in another style needs this switched with it: training rejects held-out
# prompts by exact match, and the bench asks in this style.
HELDOUT_CHAIN_STYLE = "print"


def _chain_program(d, rng, letters=string.ascii_lowercase, style=HELDOUT_CHAIN_STYLE):
    # One main chain of d hops plus distractor lines (own chains, same shapes), so the model must
    # follow the right variable instead of reading the last line.
    n_distract = min(rng.randint(1, d + 1), len(letters) - (d + 1))  # single letters: d <= 24
    names = rng.sample(letters, d + 1 + n_distract)
    main, others = names[: d + 1], names[d + 1:]
    source = {main[0]: None}  # the variable each line copies; None for a constant
    for i in range(1, d + 1):
        source[main[i]] = main[i - 1]
    defined = []
    for v in others:
        source[v] = rng.choice(defined) if defined and rng.random() < 0.6 else None
        defined.append(v)
    line = CHAIN_STYLES[style][0]
    text = {v: line.format(v, s) if s else line.format(v, rng.randint(0, 9)) for v, s in source.items()}
    # Each next line is drawn uniformly from those whose source is already defined, so every
    # constant is equally likely to come first. (An interleaving of the two lists put the root
    # first in 62-74% of programs, and a model learnt to answer the first constant line.)
    lines, placed, pending = [], set(), list(names)
    while pending:
        v = rng.choice([u for u in pending if source[u] is None or source[u] in placed])
        pending.remove(v)
        placed.add(v)
        lines.append(text[v])
    env = {}
    exec("\n".join(lines), {}, env)  # trusted, generated text: the ground truth is Python itself
    return "\n".join(lines) + "\n", names, env


def _query(v, env, style=HELDOUT_CHAIN_STYLE):
    """The question asking for variable v and its answer (its value, what Python prints)."""
    return CHAIN_STYLES[style][1].format(v), str(env[v])


def _chain(d, rng):
    program, names, env = _chain_program(d, rng)
    question, answer = _query(names[d], env)
    return program + question, answer


def _assignments(program):
    """[(variable, right-hand side)] of a chain program's lines, in either style."""
    return [tuple(x.strip() for x in line.split("=")) for line in program.splitlines() if "=" in line]


def _roots(program):
    """{variable: the constant variable its value comes from} for a chain program."""
    roots = {}
    for v, rhs in _assignments(program):
        roots[v] = v if rhs.isdigit() else roots[rhs]
    return roots


def chain_training_text(d, rng, extra_queries, letters=string.ascii_lowercase, style=HELDOUT_CHAIN_STYLE, per_chain=False, latent=False):
    """A chain example as (question, answer) pairs: first a problem as generate("chain", d, rng)
    draws it (exactly that in the default style and letters, so the held-out exclusion applies),
    then up to extra_queries more questions about other variables of the program ("\n" +
    question, answer). The training text is the pairs joined, then END_TEXT. letters: the names
    to draw from; style: a key of CHAIN_STYLES.

    per_chain: each extra question is about a variable of another constant's chain than every
    question before it. The answers are in the context of the questions after them, and a
    variable linked to one already answered has the same value, so copying that answer is a
    shortcut around the walk: a probe that asked 8 questions about any variables reached 97-100%
    next to an answered variable while a first question at 2 hops stayed near guessing
    (native/train/EXPERIMENTS.md). Without it (the third default model), any other variables.

    latent: each line's value is also a target at its line break, never written (as the latent
    ops questions, ops_training_text): the program's lines come as (line + "\n", value, False)
    before the first question, the text unchanged."""
    program, names, env = _chain_program(d, rng, letters, style)
    question, answer = _query(names[d], env, style)
    if latent:
        lines = [(line + "\n", str(env[v]), False) for line, (v, _) in zip(program.splitlines(), _assignments(program))]
        pairs = lines + [(question, answer)]
    else:
        pairs = [(program + question, answer)]
    if per_chain:
        roots = _roots(program)
        chains = sorted({roots[v] for v in names} - {names[0]})
        rng.shuffle(chains)
        asked = [rng.choice(sorted(u for u in names if roots[u] == root)) for root in chains[:extra_queries]]
    else:
        others = [v for v in names if v != names[d]]
        asked = rng.sample(others, min(extra_queries, len(others)))
    for v in asked:
        q, a = _query(v, env, style)
        pairs.append(("\n" + q, a))
    return pairs


def chain_hop_question(d, hop, rng, letters=string.ascii_lowercase, style=HELDOUT_CHAIN_STYLE):
    """(prompt, answer, guessing): a chain program of d hops (as generate draws them) asked about
    the variable `hop` hops down its main chain (0: the constant itself, d: what generate asks);
    guessing is the chance that a constant line of the program drawn at random holds the answer.
    For probes that measure accuracy per hop."""
    program, names, env = _chain_program(d, rng, letters, style)
    question, answer = _query(names[hop], env, style)
    consts = [value for _, value in _constant_lines(program)]
    return program + question, answer, consts.count(answer) / len(consts)


def recall_training_text(rng, letters, questions, style=HELDOUT_CHAIN_STYLE):
    """The lookup that every hop repeats, alone (0 hops): 3-5 constants with distinct digits,
    then `questions` questions about them, names drawn with replacement, as (question, answer)
    pairs like chain_training_text: in the repl style, the rows of recall_probe.py's
    compact-name format, which learnt the lookup on 6 letters in minutes (26 letters: not in
    4,000 steps; learnt on 6, it carries over to 26 at once)."""
    k = rng.randint(3, min(5, len(letters)))
    names, values = rng.sample(letters, k), rng.sample(range(10), k)
    line, question = CHAIN_STYLES[style]
    program = "".join(line.format(n, v) + "\n" for n, v in zip(names, values))
    asked = [rng.randrange(k) for _ in range(questions)]
    return [((program if j == 0 else "\n") + question.format(names[i]), str(values[i])) for j, i in enumerate(asked)]


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


def _ops_program(d, rng):
    # One variable, d updates in a row; each line reads the value the line before it left, so the
    # work is d sequential steps, and every update line is the same 7 tokens ("x = x + 3\n").
    # Operands 1..9 (no "* 0" reset, no "+ 0" no-op); Python's integers do not wrap, the answer is
    # the last value mod 10 (+ - * commute with it). Returns (variable, lines, value after each).
    # (The values are computed here, not by exec per line, which halved the generator's speed and
    # so a resume's replay; the self-check runs each program in Python and compares.)
    v, values = rng.choice(string.ascii_lowercase), [rng.randint(0, 9)]
    lines = [f"{v} = {values[0]}"]
    for _ in range(d):
        op, k = rng.choice(_OPS), rng.randint(1, 9)
        lines.append(f"{v} = {v} {op} {k}")
        values.append(_APPLY[op](values[-1], k))
    return v, lines, values


def _ops_ask(v):
    return f"\nprint({v} % 10)\n"


def _ops(d, rng):
    v, lines, values = _ops_program(d, rng)
    return "\n".join(lines) + _ops_ask(v), str(values[-1] % 10)


def is_latent(pair):
    """Whether a (question, answer[, False]) pair of a training text is a latent question: its
    answer a target at the question's last token, not written in the text."""
    return len(pair) == 3 and pair[2] is False


def ops_training_text(d, rng, print_p, mode="print"):
    """An ops program as (question, answer) pairs, drawn as generate("ops", d, rng) draws it, with
    a question about the value mod 10 after each update line but the last with probability
    print_p, and the final print. With print_p = 0 exactly generate's problem. mode says how a
    middle question is asked:
      "print":  a print line ("x = x + 3\nprint(x % 10)\n" -> "7"), its answer in the text from
                then on; the answer of a question is the last answered value (or the constant)
                carried through the updates since: print_p = 1 makes every question one update
                deep, and lowering it lengthens the stretches carried unseen.
      "echo":   the bare value on the next line, as a REPL echoes it ("x = x + 3\n7\n", a no-op
                line in Python): a value is predicted at the line break of its own update line.
      "latent": the value is a target at that line break but never written: the pair is
                (question, answer, False) and the next question goes on with the next update line,
                so the text is exactly generate's program. The line break predicts its line's value
                while later lines see only the program: to get its own value right, a line must
                read the value the line before it computed in the latent state, one update per
                step of the serial chain (the echo and print modes let it read the value's text).
    """
    assert mode in ("print", "echo", "latent"), mode
    v, lines, values = _ops_program(d, rng)
    ask = _ops_ask(v)
    pairs, text = [], lines[0] + "\n"
    for i in range(1, d + 1):
        text += lines[i]
        if i == d:
            pairs.append((text + ask, str(values[i] % 10)))
        elif rng.random() < print_p:
            answer = str(values[i] % 10)
            # a shown answer is followed by a line break; a latent one leaves the program as it was
            pairs.append((text + "\n", answer, False) if mode == "latent" else (text + ("\n" if mode == "echo" else ask), answer))
            text = "" if mode == "latent" else "\n"
        else:
            text += "\n"
    return pairs


def _add(d, rng):
    a = rng.randint(10 ** (d - 1) if d > 1 else 0, 10 ** d - 1)
    nb = rng.randint(1, d)
    b = rng.randint(10 ** (nb - 1) if nb > 1 else 0, 10 ** nb - 1)
    if rng.random() < 0.5:
        a, b = b, a
    return f"{a} + {b} = ", str(a + b)


def _mul(d, rng):
    # d = digits of the first operand. Half the time times a small number (one digit 2..9), else
    # times a number of 1..d digits (as add's second operand): long multiplication's partial
    # products and carries make the serial work grow with d (and with the second operand's digits).
    a = rng.randint(10 ** (d - 1) if d > 1 else 2, 10 ** d - 1)
    nb = 1 if rng.random() < 0.5 else rng.randint(1, d)
    b = rng.randint(10 ** (nb - 1) if nb > 1 else 2, 10 ** nb - 1)
    if rng.random() < 0.5:
        a, b = b, a
    return f"{a} * {b} = ", str(a * b)


_GEN = {"chain": _chain, "expr": _expr, "add": _add, "ops": _ops, "mul": _mul}


def generate(family, difficulty, rng):
    """One (prompt, answer) for a family at difficulty d >= 1, drawn from rng (random.Random)."""
    return _GEN[family](int(difficulty), rng)


# Surroundings: the same problem not at the start of a document. A model trained only on rows that
# start with the problem answered "4821 + 377 = " right at the start of a file and wrong under a
# "# Notes" heading. surround(prompt, rng) puts text before the prompt (never after it: the answer
# follows the prompt), so the wrapped prompt ends exactly as the bare one and the answer is the same.
_HEADINGS = ("# Notes", "## Scratch work", "### Quick check", "# Arithmetic", "## Example")
_SENTENCES = ("Here is the next one.", "Let me work this out step by step.",
              "The numbers below come from last week's report.", "A small example to check the idea:",
              "This is what the script should print.")
_COMMENTS = ("check the result", "expected value", "quick sanity check", "worked example", "TODO: verify")
_DOCSTRINGS = ('"""Helpers for the report.', '"""Example of the computation.', '"""Utility functions.',
               'def compute():\n    """Return the value of the example below.')
_CODE = ("import os\nimport sys\n", "def load(path):\n    with open(path) as f:\n        return f.read()\n",
         "for item in items:\n    print(item)\n", "class Config:\n    name = \"demo\"\n    verbose = False\n",
         "result = compute()\nassert result is not None\n")
_PROSE = ("The meeting moved to Thursday. Everyone agreed on the new plan, and the draft goes out "
          "tomorrow.\n\n- review the budget\n- update the tables\n",
          "In the previous section we looked at how the parser reads a file. This section is about "
          "numbers.\n",
          "Dear team,\n\nthanks for the quick replies. A few results from today follow.\n",
          "Chapter 3\n\nIt was late when the numbers finally came in, and nobody wanted to check them "
          "twice.\n")


def _markdown(rng):
    return f"{rng.choice(_HEADINGS)}\n\n{rng.choice(_SENTENCES)}\n"


def _comment(rng):
    return f"# {rng.choice(_COMMENTS)}\n"


def _docstring(rng):
    return f"{rng.choice(_DOCSTRINGS)}\n"


def _code(rng):
    return rng.choice(_CODE)


def _document(rng):
    return rng.choice(_PROSE)


# (name, filler(rng) -> text ending with a line break), in the order surround draws them.
SURROUNDINGS = (("markdown", _markdown), ("comment", _comment), ("docstring", _docstring),
                ("code", _code), ("document", _document))


def surround(prompt, rng):
    """(wrapped prompt, template name): prompt after realistic surroundings (a Markdown heading and a
    sentence, a Python comment, inside a docstring, after a few lines of code, in the middle of a
    document), with or without a blank line between them and the problem, all drawn from rng.
    wrapped = text + prompt: the problem's text is intact and ends the wrapped prompt, so the
    answer is the same. In a comment, a one-line problem sits in the comment itself
    ("# check the result\n# 4821 + 377 = "); a program (several lines) follows the comment lines."""
    name, filler = rng.choice(SURROUNDINGS)
    text = filler(rng)
    if rng.random() < 0.5:
        text += "\n"
    if name == "comment" and "\n" not in prompt:
        text += "# "
    return text + prompt, name


def heldout_surrounded_sets(seed=HELDOUT_SEED, n=HELDOUT_N):
    """{(family, d): [(wrapped prompt, answer, bare prompt)] * n}: the held-out problems of
    heldout_sets(seed) (the first n of each), in order, each wrapped by surround from a seed space of
    its own (item i is the same for every n > i). The bare prompt is the problem training rejects."""
    out = {}
    for (family, d), items in heldout_sets(seed).items():
        rng = random.Random(f"heldout-surround/{seed}/{family}/{d}")
        out[(family, d)] = [(surround(p, rng)[0], a, p) for p, a in items[:n]]
    return out


def export_surrounded(path, n=HELDOUT_N, seed=HELDOUT_SEED):
    """Writes heldout_surrounded_sets as JSON in export_heldout.py's layout (items also carry the
    bare prompt; the chance is the bare set's), for the TypeScript bench (evalLib.loadHeldout)."""
    import json
    sets = heldout_surrounded_sets(seed, n)
    out = {
        "seed": seed,
        "surroundings": True,
        "train_difficulties": {f: list(r) for f, r in TRAIN_D.items()},
        "sets": [
            {"family": f, "difficulty": d, "chance": chance_accuracy(f, [(bare, a) for _, a, bare in items]),
             "items": [{"prompt": w, "answer": a, "bare": bare} for w, a, bare in items]}
            for (f, d), items in sorted(sets.items())
        ],
    }
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(out, fh)


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


def _constant_lines(program):
    """[(variable, digit)] for the lines of a chain program that assign a constant, in order."""
    return [(v, rhs) for v, rhs in _assignments(program) if rhs.isdigit()]


def chance_accuracy(family, items):
    """Accuracy of answer-blind guessing on a set [(prompt, answer)]: the better of always giving
    the set's most common answer and, for chain, giving the program's most common constant
    (ties split). A split is worth reading only where a model beats this."""
    best = collections.Counter(a for _, a in items).most_common(1)[0][1] / len(items)
    if family == "chain":
        total = 0.0
        for prompt, answer in items:
            counts = collections.Counter(value for _, value in _constant_lines(prompt))
            top = max(counts.values())
            modes = {c for c, k in counts.items() if k == top}
            total += (answer in modes) / len(modes)
        best = max(best, total / len(items))
    return best


def heldout_hashes(seed=HELDOUT_SEED):
    """Prompt hashes of every held-out problem: training rejects these prompts."""
    return {prompt_hash(p) for items in heldout_sets(seed).values() for p, _ in items}


def training_stream(seed, heldout_seed=HELDOUT_SEED, mul=False, surroundings=0.0):
    """Infinite iterator of training texts (prompt + answer + END_TEXT) at training difficulties.

    Any prompt that is in the held-out sets is rejected (exact match by hash), which matters at
    small d where the space of prompts is small.

    Options, both off by default (the stream is then exactly what it was before they existed):
      mul: the mix is TRAIN_MIX_MUL (multiplication at a small weight) instead of TRAIN_MIX.
      surroundings: the probability that a row's prompt is wrapped in surroundings (surround):
        Markdown, a comment, a docstring, code or prose before it. The held-out filter hashes the
        bare problem, never the wrapper, so a held-out problem is rejected in any surroundings."""
    banned = heldout_hashes(heldout_seed)
    rng = random.Random(f"train/{seed}")
    fams, weights = zip(*(TRAIN_MIX_MUL if mul else TRAIN_MIX))
    while True:
        family = rng.choices(fams, weights)[0]
        p, a = generate(family, rng.choice(TRAIN_D[family]), rng)
        if prompt_hash(p) not in banned:
            if surroundings and rng.random() < surroundings:
                p = surround(p, rng)[0]
            yield p + a + END_TEXT


if __name__ == "__main__":
    TOKENIZER_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tokenizer")
    sys.path.insert(0, TOKENIZER_DIR)
    rng = random.Random(1)
    for fam in FAMILIES:
        for d in (1, 3, 6, 10):
            p, a = generate(fam, d, rng)
            print(f"--- {fam} d={d}\n{p}{a}")
    hs = heldout_sets()
    print({k: len(v) for k, v in hs.items()})
    banned = heldout_hashes()
    it = training_stream(0)
    sample = [next(it) for _ in range(20000)]
    held_texts = {p + a + END_TEXT for v in hs.values() for p, a in v}
    assert not held_texts.intersection(sample)
    # How often would a naive generator have collided with the held-out set at small d?
    r = random.Random(5)
    for fam, d in (("chain", 2), ("expr", 2), ("add", 3)):
        hits = sum(prompt_hash(generate(fam, d, r)[0]) in banned for _ in range(20000))
        print(f"{fam} d={d}: {hits}/20000 random prompts are held-out (rejected in training)")
    # No positional shortcut: the chain's root is the first constant line about as often as a
    # uniform pick among the constant lines would make it.
    r, first, expected = random.Random(7), 0, 0.0
    for _ in range(3000):
        program, names, _ = _chain_program(4, r)
        consts = [v for v, _ in _constant_lines(program)]
        first += consts[0] == names[0]
        expected += 1 / len(consts)
    assert abs(first - expected) < 0.05 * 3000, (first, expected)
    # A multi-query chain starts with exactly the single-query example of the same draw (default
    # style and letters), every answer is what Python prints for the program, and with per_chain
    # no two questions share a chain; the same for the repl style.
    def asked(style, question):
        return question.strip()[len("print("):-1] if style == "print" else question.strip()

    def split(prompt, style):  # (the program, the variable its first question asks)
        program = prompt[:prompt.rindex("\n") + 1] if style == "repl" else prompt[:prompt.index("print(")]
        return program, asked(style, prompt[len(program):])
    for seed in range(400):
        d, style, per_chain = 1 + seed % 6, ("print", "repl")[seed % 2], seed % 4 >= 2
        pairs = chain_training_text(d, random.Random(seed), 3, style=style, per_chain=per_chain)
        if style == HELDOUT_CHAIN_STYLE:
            assert pairs[0] == generate("chain", d, random.Random(seed)), pairs
        program, first = split(pairs[0][0], style)
        env, roots = {}, _roots(program)
        exec(program, {}, env)
        names = [first] + [asked(style, q) for q, _ in pairs[1:]]
        assert all(q.startswith("\n") for q, _ in pairs[1:]), pairs
        assert all(int(a) == env[v] for v, (_, a) in zip(names, pairs)), pairs
        if per_chain:
            assert len({roots[v] for v in names}) == len(pairs), pairs
    # Latent chain lines: the same draw, the program split at its line breaks, each line's value
    # its target, then the same questions.
    for seed in range(100):
        d, style = 1 + seed % 6, ("print", "repl")[seed % 2]
        plain = chain_training_text(d, random.Random(seed), 3, style=style)
        latent = chain_training_text(d, random.Random(seed), 3, style=style, latent=True)
        n = sum(len(pair) == 3 for pair in latent)
        program = "".join(q for q, *_ in latent[:n])
        assert n == len(program.splitlines()) and latent[n:] == [(plain[0][0][len(program):], plain[0][1])] + plain[1:], latent
        env = {}
        exec(program, {}, env)
        assert all(is_latent(pair) and pair[1] == str(env[_assignments(pair[0])[0][0]]) for pair in latent[:n]), latent
    # A question at hop h: h copy lines lead from the asked variable to its constant.
    for seed in range(100):
        d, h, style = 1 + seed % 8, seed % (1 + 1 + seed % 8), ("print", "repl")[seed % 2]
        prompt, answer, guessing = chain_hop_question(d, h, random.Random(seed), "abcdefghijklmnop", style)
        program, var = split(prompt, style)
        source = dict(_assignments(program))
        hops = 0
        while not source[var].isdigit():
            var, hops = source[var], hops + 1
        assert hops == h and source[var] == answer and 0 < guessing <= 1, (prompt, answer, h)
        assert set(source) <= set("abcdefghijklmnop"), prompt
    # The recall stage: names from the given letters, answers their values.
    for seed in range(50):
        style = ("print", "repl")[seed % 2]
        pairs = recall_training_text(random.Random(seed), "abcdef", 8, style)
        program, first = split(pairs[0][0], style)
        env = {}
        exec(program, {}, env)
        names = [first] + [asked(style, q) for q, _ in pairs[1:]]
        assert len(pairs) == 8 and set(env) <= set("abcdef"), pairs
        assert all(q.startswith("\n") for q, _ in pairs[1:]), pairs
        assert all(int(a) == env[v] for v, (_, a) in zip(names, pairs)), pairs
    # Chained operations: d update lines of one variable, 7 tokens each, answer what Python prints.
    from bpe import Tokenizer
    tok = Tokenizer(os.path.join(TOKENIZER_DIR, "tokenizer.json"))
    for seed in range(300):
        d, p, mode = 1 + seed % 10, (0, 0.3, 1)[seed % 3], ("print", "echo", "latent")[seed // 3 % 3]
        pairs = ops_training_text(d, random.Random(seed), p, mode)
        assert all(q.endswith("% 10)\n" if mode == "print" else "\n") for q, *_ in pairs[:-1]), pairs
        assert (pairs == [generate("ops", d, random.Random(seed))]) == (len(pairs) == 1), pairs
        assert len(pairs) == {0: 1, 1: d}.get(p, len(pairs)), pairs
        if mode == "latent":  # the text is generate's program, the middle answers unwritten
            assert "".join(q for q, *_ in pairs) + pairs[-1][1] == "".join(generate("ops", d, random.Random(seed))), pairs
            assert all(is_latent(pair) for pair in pairs[:-1]), pairs
        text, v = "", pairs[0][0][0]  # every answer is the value mod 10 at its question (an
        for pair in pairs:             # answer line is a no-op statement, prints are left out)
            text += pair[0]
            env = {}
            exec(text.replace("print(", "("), {}, env)
            assert pair[1] == str(env[v] % 10), pairs
            text += "" if is_latent(pair) else pair[1]
        prompt, answer = generate("ops", d, random.Random(seed))
        lines = prompt.splitlines()
        v = lines[0][0]
        assert len(lines) == d + 2 and lines[-1] == f"print({v} % 10)", prompt
        assert all(line.startswith(f"{v} = {v} ") and len(tok.encode(line + "\n")) == 7 for line in lines[1:-1]), prompt
        env = {}
        exec("\n".join(lines[:-1]), {}, env)
        assert answer == str(env[v] % 10), (prompt, answer)
    print("ok")
