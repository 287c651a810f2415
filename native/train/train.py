"""Train a Huginn recurrent-depth model on CPU: math tasks + code (plain and fill-in-the-middle).

  /usr/bin/python3 native/train/train.py --config native/train/configs/default.json \
      --out native/train/runs/default [--max-minutes 75] [--steps N] [--seed S]

The recipe is the paper's (see docs/architecture.md#training-recipe): every step draws
one total depth p ~ Poisson(LogNormal(mu, 0.5)) + 1 for the whole batch, runs max(p - s, 0)
core iterations without gradient and min(s, p) with gradient (s = mean_backprop_depth), from a
random state s0. AdamW (or, with train.optimizer "muon", Muon for the hidden matrices: muon.py),
warmup + cosine, grad clip; float32, or bf16 autocast with float32
master weights ("precision" in the train config: bf16 pays only on CPUs with bf16 instructions,
where it was 1.7x faster per step than float32). The loss is the mean over the loss positions,
math answers weighted data.math_loss_weight (default 1) against code tokens.

--out receives the official checkpoint layout (config.json, model.safetensors in F32,
tokenizer.json, tokenizer_config.json), train_state.pt (everything needed to resume) and
train_log.jsonl. Rerunning the same command resumes from the last save.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when OpenMP loads: set before torch

import argparse
import hashlib
import json
import math
import random
import shutil
import string
import sys
import time
from types import SimpleNamespace

HERE = os.path.dirname(os.path.abspath(__file__))
NATIVE = os.path.dirname(HERE)
for sub in ("reference", "data", "tokenizer"):
    sys.path.insert(0, os.path.join(NATIVE, sub))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import code_corpus  # noqa: E402
import cpu_memory  # noqa: E402
import math_tasks  # noqa: E402
import muon  # noqa: E402
from bpe import Tokenizer  # noqa: E402
from huginn import Huginn, HuginnConfig  # noqa: E402
from make_checkpoint import make_config  # noqa: E402
from safetensors_io import save_checkpoint  # noqa: E402

TOKENIZER_DIR = os.path.join(NATIVE, "tokenizer")
DATA_BUILD = os.path.join(NATIVE, "data", "build")
CODE_TRAIN = os.path.join(DATA_BUILD, "code_train.jsonl")


# ---------------------------------------------------------------- data

def code_weight(record, weights):
    """How many times a corpus document enters the stream under data.code_weights (expected):
    the product of the weights whose key is its source ("sympy", "npm:yargs") or its language
    group ("lang:python", "lang:ts/js"); 1 where none is named."""
    w = 1.0
    for key in (record["source"], "lang:" + code_corpus.language_of(record["path"])):
        w *= weights.get(key, 1.0)
    return w


def weighted_documents(records, weights, rng):
    """The documents' texts, each repeated code_weight times: floor(w) copies and one more with
    probability w - floor(w) (0 leaves a document out)."""
    docs = []
    for r in records:
        w = code_weight(r, weights)
        frac = w - int(w)  # drawn only when fractional: unweighted runs keep their document order
        docs += [r["text"]] * (int(w) + (frac > 0 and rng.random() < frac))
    return docs


def code_tokens(tok, seed, fim_rate, piece_chars, weights=None):
    """The whole code corpus as one token stream, in a seeded document order, cached as .npy.

    A document becomes either one plain text (doc + <|end_text|>) or, with probability
    fim_rate, a series of FIM examples over its line-aligned pieces of at most piece_chars
    characters: so fim_rate is also about the share of code tokens that are FIM, and a 200 KB
    file turns into many short, self-contained FIM examples instead of one. weights
    (data.code_weights, see code_weight) repeat or thin documents by source or language before
    the shuffle: the corpus is 86% Python (a third of it sympy) where bench:quality asks half
    TypeScript/JavaScript."""
    with open(os.path.join(TOKENIZER_DIR, "tokenizer.json"), "rb") as f:
        tok_hash = hashlib.sha1(f.read()).hexdigest()[:8]
    key = f"{seed}-{fim_rate}-{piece_chars}-{os.path.getsize(CODE_TRAIN)}-{tok_hash}"
    if weights:  # unweighted runs keep their cache name
        key += "-" + json.dumps(weights, sort_keys=True)
    path = os.path.join(DATA_BUILD, f"code_tokens_{hashlib.sha1(key.encode()).hexdigest()[:12]}.npy")
    if os.path.exists(path):
        return np.load(path)
    if not os.path.exists(CODE_TRAIN):
        sys.exit(f"{CODE_TRAIN} missing: run /usr/bin/python3 native/data/code_corpus.py --out native/data/build")
    log(f"tokenizing the code corpus once into {path} ...")
    rng = random.Random(f"code/{seed}")
    docs = weighted_documents(code_corpus.iter_records(CODE_TRAIN), weights or {}, rng)
    rng.shuffle(docs)
    ids = []
    for doc in docs:
        if rng.random() < fim_rate:
            start = 0
            while start < len(doc):  # cut at line ends so each FIM example is a window of whole lines
                end = doc.rfind("\n", start, start + piece_chars) + 1 if start + piece_chars < len(doc) else len(doc)
                end = end if end > start else start + piece_chars  # one line longer than a piece
                ids += tok.encode(code_corpus.fim_example(doc[start:end], rng, max_chars=piece_chars))
                start = end
        else:
            ids += tok.encode(code_corpus.plain_example(doc))
    arr = np.array(ids, dtype=np.uint16)  # vocab 4096 fits
    np.save(path + ".tmp.npy", arr)
    os.replace(path + ".tmp.npy", path)
    return arr


def curriculum_stage(count, stage_problems, n_stages):
    """How many difficulties (d = 1..k) the problem after `count` problems draws from."""
    if not stage_problems:
        return n_stages
    if isinstance(stage_problems, list):
        passed = int(np.searchsorted(np.cumsum(stage_problems), count, side="right"))
        return n_stages if passed == len(stage_problems) else min(passed + 1, n_stages)
    return min(count // stage_problems + 1, n_stages)


def math_texts(seed, family_weights, d_weights, chain_extra_queries=0, stage_problems=0, chain_recipe=None, ops_recipe=None, surroundings=0.0):
    """Like math_tasks.training_stream (same generators, same held-out exclusion, training
    difficulties only), but with the family mix and the weights of d = 1..len(d_weights) taken
    from the config. Yields each problem as [(question, answer), ...] (several for a chain
    program with chain_extra_queries more questions, math_tasks.chain_training_text); its text is
    the pairs joined, then <|end_text|>.

    Curriculum: with stage_problems > 0, the first stage_problems problems have d = 1, the next
    d <= 2 (weights d_weights[:2]), and so on up to len(d_weights). A list gives each stage its
    own length ([n1, n2, ...]: d = 1 for n1 problems, then d <= 2 for n2, ...; after the list,
    every d). A pilot on the whole mix at once stayed at chance for 2,000 steps; at d = 1 alone
    it left chance after 700. The stages count problems, not steps, so a resumed run replays
    exactly the same stream.

    chain_recipe (absent: the third default model's chains), all keys optional:
      "style": a key of math_tasks.CHAIN_STYLES (math_tasks.HELDOUT_CHAIN_STYLE by default: a
        model trained in another style needs the held-out style switched with it);
      "per_chain": true: extra questions one per constant's chain (math_tasks.chain_training_text);
      "latent": true: each program line's value a target at its line break, not written (same);
      "recall": {"problems": n, "letters": k, "questions": q}: the first n chain problems are the
        bare lookup instead (math_tasks.recall_training_text, names from the first k letters).
        Chains need that lookup at every hop; on 26 letters from the start it stayed at guessing
        for thousands of steps in the probes, on 6 it formed in minutes and carried over to 26.

    ops_recipe (absent: generate's ops problems): {"print_p": [p1, p2, ...], "stages": [n1, ...],
      "questions": "print" | "echo" | "latent" or a list of them}: questions in the middle of an
      ops program (math_tasks.ops_training_text, whose mode "questions" is) with probability p1
      for the first n1 problems (of any family), p2 for the next n2, ..., the last p after the
      stages (curriculum_stage counts them); a list of modes goes by the same stages.

    surroundings (config math_surroundings, default 0): the fraction of problems whose first
      question is put after realistic surroundings (math_tasks.surround: Markdown, a comment, a
      docstring, code, prose), drawn from a generator of its own so that the problems themselves
      are the same stream; the held-out exclusion checks the bare problem."""
    banned = math_tasks.heldout_hashes()
    families, fw = zip(*family_weights.items())
    assert all(d in math_tasks.TRAIN_D[f] for f in families for d in range(1, len(d_weights) + 1)), "d beyond the training range"
    rng = random.Random(f"train/{seed}")
    recipe = chain_recipe or {}
    style, per_chain = recipe.get("style", math_tasks.HELDOUT_CHAIN_STYLE), recipe.get("per_chain", False)
    recall = recipe.get("recall", {"problems": 0})
    count = chains = 0
    around = random.Random(f"surround/{seed}")
    while True:
        k = curriculum_stage(count, stage_problems, len(d_weights))
        family = rng.choices(families, fw)[0]
        d = rng.choices(range(1, k + 1), d_weights[:k])[0]
        if family == "chain" and chains < recall["problems"]:
            chains += 1
            count += 1  # never a held-out prompt: those have chains of d >= 2
            yield math_tasks.recall_training_text(rng, string.ascii_lowercase[:recall["letters"]], recall["questions"], style)
            continue
        if family == "chain":  # with no extra queries this draws exactly what generate() does
            extra = rng.randint(0, chain_extra_queries) if chain_extra_queries else 0
            pairs = math_tasks.chain_training_text(d, rng, extra, style=style, per_chain=per_chain, latent=recipe.get("latent", False))
        elif family == "ops" and ops_recipe:
            print_p = ops_recipe["print_p"][curriculum_stage(count, ops_recipe["stages"], len(ops_recipe["print_p"])) - 1]
            questions = ops_recipe.get("questions", "print")
            if isinstance(questions, list):  # a mode per stage, like print_p
                questions = questions[curriculum_stage(count, ops_recipe["stages"], len(questions)) - 1]
            pairs = math_tasks.ops_training_text(d, rng, print_p, questions)
        else:
            pairs = [math_tasks.generate(family, d, rng)]
        if math_tasks.prompt_hash(first_prompt(pairs)) not in banned:
            count += 1
            if surroundings and around.random() < surroundings:
                pairs = [(math_tasks.surround(pairs[0][0], around)[0], *pairs[0][1:]), *pairs[1:]]
            yield pairs


def first_prompt(pairs):
    """The text before a problem's first written answer: the prompt the held-out exclusion checks
    (with latent answers first, the questions up to the first written one, e.g. a whole ops
    program)."""
    prompt = ""
    for pair in pairs:
        prompt += pair[0]
        if not math_tasks.is_latent(pair):
            return prompt
    return prompt


def problem_tokens(tok, pairs, answers_only):
    """[(token, in_loss)] of one math problem [(question, answer)], then <|end_text|>. Question and
    answer are tokenized apart, as the engine sees them (the prompt alone, then generated tokens);
    the formats make that equal to tokenizing the joined text. With answers_only the loss sees
    the answers and the stop after each (the first token of the next question, or <|end_text|>).
    A latent answer (question, answer, False), one token, is not in the text: the question's last
    token is (token, in_loss, answer's id), the target there in place of the next token
    (Batches.next), and the next question goes on with no stop."""
    out, after_answer = [], False
    for pair in pairs:
        question, answer = pair[:2]
        for i, t in enumerate(tok.encode(question)):
            out.append((t, not answers_only or (after_answer and i == 0)))
        if math_tasks.is_latent(pair):
            (target,) = tok.encode(answer)
            out[-1] = (out[-1][0], out[-1][1], target)
            after_answer = False
            continue
        out += [(t, True) for t in tok.encode(answer)]
        after_answer = True
    return out + [(tok.token_id("<|end_text|>"), True)]


class MathStream:
    """Tokens of math_texts(...), endless, each with a loss flag. Resumable: the position is the
    number of problems drawn so far plus the tokens left over from the last one.

    With answers_only, the loss sees only the answer tokens and the token after each answer (the
    stop: <|end_text|> or the line break before the next question). The questions are random
    digits and letters; their next-token loss is noise that, in the pilots, kept even
    `(a + b) % 10` at chance for 60k problems, while answer-only loss learnt it in 300 steps."""

    def __init__(self, tok, seed, data_cfg, state=None):
        self.tok, self.count, self.buf, self.pad = tok, 0, [], tok.token_id("<|pad|>")
        self.end = tok.token_id("<|end_text|>")
        self.answers_only = data_cfg.get("math_loss", "all") == "answers"
        self.texts = math_texts(seed, data_cfg["math_families"], data_cfg["math_d_weights"],
                                data_cfg.get("chain_extra_queries", 0), data_cfg.get("math_stage_problems", 0),
                                data_cfg.get("chain_recipe"), data_cfg.get("ops_recipe"), data_cfg.get("math_surroundings", 0.0))
        if state:
            for _ in range(state["count"]):  # replay the generator (fast: ~50k texts/s)
                next(self.texts)
            self.count, self.buf = state["count"], [tuple(t) for t in state["buf"]]

    def encode(self, pairs):
        return problem_tokens(self.tok, pairs, self.answers_only)

    def next_problem(self):
        self.count += 1
        return self.encode(next(self.texts))

    def take(self, n):
        """n (token, in_loss): whole problems back to back, then <|pad|> (no loss) up to n. A
        problem is never split across rows (its second half would be an answer without its
        question), unless it is longer than a row on its own."""
        out, self.buf = pack_whole(self.buf, self.next_problem, n, self.pad)
        return out

    def state(self):
        return {"count": self.count, "buf": list(self.buf)}


class CodeStream:
    """A cursor over the cached code token array; wraps around to the start after an epoch."""

    def __init__(self, tokens, state=None):
        self.tokens, self.pos = tokens, (state or {}).get("pos", 0)

    def take(self, n):
        idx = (self.pos + np.arange(n)) % len(self.tokens)
        self.pos = int((self.pos + n) % len(self.tokens))
        return [(t, True) for t in self.tokens[idx].tolist()]

    def state(self):
        return {"pos": self.pos}


def pack_whole(buf, next_item, n, pad):
    """A row of n (token, in_loss): whole items (lists of them; `buf`, then next_item()) back to
    back, then <|pad|> (no loss); an item longer than a row on its own is split. Returns the row
    and the item left over for the next row."""
    out = []
    while True:
        if not buf:
            buf = next_item()
        if len(out) + len(buf) > n:
            break
        out, buf = out + buf, []
    if not out:
        out, buf = buf[:n], buf[n:]
    return out + [(pad, False)] * (n - len(out)), buf


class FimRows:
    """Row-fitting fill-in-the-middle examples (data.fim_rows): PSM examples
    (code_corpus.fim_example) from random windows of random training documents, each window
    sized so that its whole example fits one row, packed whole into the row (a short document
    leaves room for another), then <|pad|> (no loss). FIM pieces packed into the code stream
    (fim_rate) are split across rows, so a row holds a middle without its prefix or a prefix
    without its middle: the shipped model learnt nothing from them (its FIM prompts do worse than
    plain ones)."""

    def __init__(self, tok, seed, row_len, state=None):
        self.tok, self.row_len = tok, row_len
        self.pad = tok.token_id("<|pad|>")
        self.docs = [d for d in code_corpus.iter_documents(CODE_TRAIN) if len(d.strip()) >= 64]
        self.rng = random.Random(f"fim-rows/{seed}")
        self.chars = 800  # window size, adapted so that a long document's example fills 80-100% of a row
        self.buf = []
        if state:
            self.rng.setstate(state["rng"])
            self.chars, self.buf = state["chars"], [tuple(t) for t in state["buf"]]

    def example(self):
        """The next FIM example as (token, True), at most a row long."""
        while True:
            doc = self.docs[self.rng.randrange(len(self.docs))]
            ids = self.tok.encode(code_corpus.fim_example(doc, self.rng, max_chars=self.chars))
            if len(ids) > self.row_len:
                self.chars = max(64, int(self.chars * 0.9))
                continue
            if len(ids) < 0.8 * self.row_len and len(doc) > self.chars:
                self.chars = int(self.chars * 1.05)
            return [(t, True) for t in ids]

    def take(self, n):
        out, self.buf = pack_whole(self.buf, self.example, n, self.pad)
        return out

    def state(self):
        return {"rng": self.rng.getstate(), "chars": self.chars, "buf": list(self.buf)}


class Batches:
    """Rows of <|begin_text|> + seq_len stream tokens. Each row comes wholly from one source,
    math with probability math_fraction, so the token mix is exact in expectation and each
    source stays a continuous stream (code is packed back to back and split across rows; math
    rows hold whole problems, padded)."""

    def __init__(self, tok, cfg, seed, state=None):
        state = state or {}
        self.seq_len, self.batch, self.math_fraction = cfg["train"]["seq_len"], cfg["train"]["batch_size"], cfg["data"]["math_fraction"]
        self.bos, self.pad = tok.token_id("<|begin_text|>"), tok.token_id("<|pad|>")
        self.math = MathStream(tok, seed, cfg["data"], state.get("math"))
        # a math-only config (a probe) needs no code corpus
        self.code = CodeStream(code_tokens(tok, seed, cfg["data"]["fim_rate"], cfg["data"]["code_piece_chars"], cfg["data"].get("code_weights")), state.get("code")) if self.math_fraction < 1 else None
        self.fim_rows = cfg["data"].get("fim_rows", 0.0)
        self.fim = FimRows(tok, seed, self.seq_len, state.get("fim")) if self.fim_rows > 0 else None
        self.rng = random.Random(f"mix/{seed}")
        if "rng" in state:
            self.rng.setstate(state["rng"])

    def next(self):
        is_math = [self.rng.random() < self.math_fraction for _ in range(self.batch)]
        # a code row is, with probability fim_rows, one row-fitting FIM example (no draw without)
        sources = [self.math if m else self.fim if self.fim and self.rng.random() < self.fim_rows else self.code for m in is_math]
        rows = [[(self.bos, False)] + src.take(self.seq_len) for src in sources]
        ids = torch.tensor([[t[0] for t in r] for r in rows], dtype=torch.long)
        in_loss = torch.tensor([[t[1] for t in r] for r in rows], dtype=torch.bool)
        latent = torch.tensor([[t[2] if len(t) > 2 else -1 for t in r] for r in rows], dtype=torch.long)[:, :-1]
        # inputs, next-token targets (<|pad|>, ignored by the loss, where a target is out of it;
        # a latent answer where problem_tokens set one), math rows
        y = ids[:, 1:].masked_fill(~in_loss[:, 1:], self.pad)
        return ids[:, :-1], torch.where(latent >= 0, latent, y), torch.tensor(is_math)

    def state(self):
        return {"math": self.math.state(), "code": self.code and self.code.state(), "fim": self.fim and self.fim.state(),
                "rng": self.rng.getstate()}


# ---------------------------------------------------------------- model, optimiser, schedule

def checkpoint_config(cfg, tok):
    """config.json with the official field names (make_checkpoint.make_config) for this shape."""
    m = cfg["model"]
    c = make_config(SimpleNamespace(
        n_embd=m["n_embd"], n_heads=m["n_heads"], prelude=m["n_layers_in_prelude"],
        core=m["n_layers_in_recurrent_block"], coda=m["n_layers_in_coda"],
        intermediate=m["intermediate_size"], vocab=m["vocab_size"], block_size=m["block_size"],
        mean_recurrence=m["mean_recurrence"], rope_base=m.get("rope_base", 50000.0),
        bias=False, no_qk_bias=False, no_tie=False, dtype="f32"))
    # make_config assumes its own toy tokenizer; ours places the specials elsewhere
    c.update(mean_backprop_depth=m["mean_backprop_depth"],
             bos_token_id=tok.token_id("<|begin_text|>"), eos_token_id=tok.token_id("<|end_text|>"),
             pad_token_id=tok.token_id("<|pad|>"),
             # whether completions may use FIM prompts (the engine's own field); a config says
             # false when its FIM examples were not learnt (see native/models/default/MODEL_CARD.md)
             fill_in_the_middle=bool((cfg["data"]["fim_rate"] > 0 or cfg["data"].get("fim_rows", 0) > 0)
                                     and cfg["data"].get("fill_in_the_middle", True)))
    return c


# The parameters train.core_lr_scale applies to: the recurrent core and the adapter that feeds it.
CORE_PARAM_PREFIXES = ("transformer.core_block.", "transformer.adapter.")


def make_optimizer(model, t):
    """AdamW with weight decay on matrices only (linears, embedding), not on norms or the per-head
    qk_bias. train.core_lr_scale (default 1) scales the lr of the recurrent core and its adapter
    against the rest: each parameter group carries its "lr_scale" for the schedule (lr12 in
    native/train/EXPERIMENTS.md: a doubled lr everywhere helped code and kept the latent ops from forming).
    train.optimizer "muon": the hidden matrices (every 2-D weight but the embedding, which is also the
    LM head) go to Muon instead, at lr_scale x train.muon_lr_scale (muon.py)."""
    core_scale = t.get("core_lr_scale", 1.0)
    use_muon = t.get("optimizer", "adamw") == "muon"
    groups, muon_groups = {}, {}
    for n, p in model.named_parameters():
        decays = p.dim() >= 2 and n.endswith("weight")
        scale = core_scale if n.startswith(CORE_PARAM_PREFIXES) else 1.0
        if use_muon and p.dim() == 2 and n != "transformer.wte.weight":
            splits = 3 if n.endswith("Wqkv.weight") else 2 if n.endswith("mlp.fc.weight") else 1
            g = muon_groups.setdefault((scale, splits), {"params": [], "weight_decay": t["weight_decay"],
                                                         "lr_scale": scale * t.get("muon_lr_scale", 1.0), "splits": splits})
        else:
            g = groups.setdefault((decays, scale), {"params": [], "weight_decay": t["weight_decay"] if decays else 0.0, "lr_scale": scale})
        g["params"].append(p)
    adamw = torch.optim.AdamW(list(groups.values()), lr=t["lr"], betas=(t["beta1"], t["beta2"]), eps=1e-8)
    if not use_muon:
        return adamw
    return muon.Optimizers(adamw, muon.Muon(list(muon_groups.values()), lr=t["lr"], momentum=t.get("muon_momentum", 0.95)))


def lr_at(step, t, total):
    if step < t["warmup_steps"]:
        return t["lr"] * (step + 1) / t["warmup_steps"]
    frac = min(1.0, (step - t["warmup_steps"]) / max(1, total - t["warmup_steps"]))
    return t["min_lr"] + 0.5 * (t["lr"] - t["min_lr"]) * (1 + math.cos(math.pi * frac))


def sample_depth(rng, mean_recurrence):
    # the paper's mu = log(t + s) - sigma^2 / 2 with t + s = mean_recurrence, so E[rate] = mean_recurrence
    sigma = 0.5
    rate = rng.lognormal(math.log(mean_recurrence) - sigma ** 2 / 2, sigma)
    return int(rng.poisson(rate)) + 1


def document_mask(ids, end_id):
    """[B, 1, S, S] attention mask of packed rows: causal, and each token sees only its own
    document (a document ends with its <|end_text|>) and the row's first token (<|begin_text|>,
    which every prompt starts with at inference). Without it a packed math row shows each problem
    the earlier ones, which assign the same names other values: context a prompt never has at
    inference. (Not yet shown to matter: in the packing probes of native/train/EXPERIMENTS.md the lookup
    stayed at guessing with and without it, and with one program per row.)"""
    doc = torch.cumsum(ids == end_id, dim=1) - (ids == end_id).long()  # <|end_text|> ends its own document
    same = doc[:, :, None] == doc[:, None, :]
    same[:, :, 0] = True
    S = ids.shape[1]
    return (same & torch.ones(S, S, dtype=torch.bool).tril())[:, None]


def autocast_bf16(t):
    """Whether a train config computes in bfloat16 autocast ("precision": "bf16", the default of
    configs that predate the key) or in float32 ("fp32")."""
    precision = t.get("precision", "bf16")
    assert precision in ("bf16", "fp32"), f"precision {precision!r}: bf16 or fp32"
    return precision == "bf16"


def cpu_has_bf16():
    """Whether this CPU has bfloat16 instructions (AVX512-BF16 or AMX-BF16; Linux flags). Without
    them PyTorch emulates bf16 matmuls, about 12x slower than float32 on the AVX2 CPUs seen here."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def weighted_loss(logits, targets, row_is_math, math_weight):
    """Cross-entropy over the loss positions (logits [N, V], targets [N], row_is_math [N]), each
    math position weighted math_weight against 1 for code. A math row has ~40 loss positions (its
    answers) and a code row 256, so with many code rows the math answers would otherwise be a
    small share of the gradient (data.math_loss_weight; 1 = the plain mean)."""
    if math_weight == 1:
        return F.cross_entropy(logits, targets)
    w = torch.where(row_is_math, float(math_weight), 1.0)
    return (F.cross_entropy(logits, targets, reduction="none") * w).sum() / w.sum()


def train_forward(model, x, rope, p, backprop_depth, init_scale, s0_gen, mask=None, bf16=True, at=None):
    """Logits of one training step at total depth p: max(p - k, 0) core iterations without
    gradient, then min(k, p) with it (k = backprop_depth), from a random state s0. mask: an
    attention mask (document_mask) or None for plain causal attention. bf16: autocast to bfloat16
    (fast only on CPUs with bf16 instructions; on AVX2 alone a bf16 matmul was 12x slower than
    float32, so configs say "precision": "fp32" there). at: only these positions' logits
    (Huginn.coda_forward)."""
    n_nograd, n_grad = max(p - backprop_depth, 0), min(backprop_depth, p)
    # cache_enabled=False: autocast caches the bf16 copy of each weight at its first use; the
    # first use of the core is inside no_grad, so the cached copies carry no autograd history
    # and the core and adapter would silently get no gradient (pilots 1-3 trained that way)
    with torch.autocast("cpu", dtype=torch.bfloat16, cache_enabled=False, enabled=bf16):
        e = model.prelude_forward(x, rope, mask=mask)
        s = model.init_state(e, init_scale, s0_gen)
        with torch.no_grad():  # truncated backprop: the first iterations only move the state
            s = model.iterate(s, e, n_nograd, rope, mask=mask)
        s = model.iterate(s, e, n_grad, rope, first_step=n_nograd, mask=mask)  # gradients also reach e here
        return model.coda_forward(s, rope, mask=mask, at=at)


# ---------------------------------------------------------------- saving

def save(out, model, ckpt_config, state):
    """Export the official checkpoint, then train_state.pt. Every file is written under a temporary
    name and renamed, so a crash leaves the previous complete file. train_state.pt also holds the
    weights: resuming reads only it, so it can never pair with weights from another step."""
    tmp = os.path.join(out, ".saving")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    tensors = {n: p.detach().float().numpy() for n, p in model.state_dict().items() if n != "lm_head.weight"}  # tied
    save_checkpoint(tensors, tmp, dtype="F32")
    with open(os.path.join(tmp, "config.json"), "w") as f:
        json.dump(ckpt_config, f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(TOKENIZER_DIR, name), os.path.join(tmp, name))
    torch.save(state, os.path.join(tmp, "train_state.pt"))
    for name in ("model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", "train_state.pt"):
        os.replace(os.path.join(tmp, name), os.path.join(out, name))
    os.rmdir(tmp)


def log(msg, end="\n"):
    print(msg, end=end, file=sys.stderr, flush=True)


def hms(s):
    s = int(s)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


# ---------------------------------------------------------------- main loop

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-minutes", type=float, default=None, help="stop (and save) after this long")
    ap.add_argument("--steps", type=int, default=None, help="total steps (overrides train.max_steps)")
    ap.add_argument("--stop-at", type=int, default=None, help="stop (and save) at this step; the schedule stays that of the total")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--from", dest="start_from", metavar="RUN_DIR",
                    help="a fresh --out starts where that run's train_state.pt stopped (weights, optimiser, "
                         "step, data position), under --config: a curriculum changed mid-run (probes)")
    ap.add_argument("--init-weights", metavar="CHECKPOINT_DIR",
                    help="a fresh --out starts from these weights (a checkpoint folder of the same shape, e.g. the "
                         "shipped model) with a new optimiser, schedule and data stream: a further phase (probes)")
    a = ap.parse_args(argv)

    torch.set_num_threads(2)
    if not cpu_memory.keep_freed_memory():
        log("note: not glibc; freed memory goes back to the system (slower steps where page faults are dear)")
    with open(a.config) as f:
        cfg = json.load(f)
    t = cfg["train"]
    total = a.steps or t["max_steps"]
    os.makedirs(a.out, exist_ok=True)
    tok = Tokenizer(os.path.join(TOKENIZER_DIR, "tokenizer.json"))
    ckpt_config = checkpoint_config(cfg, tok)
    model = Huginn(HuginnConfig.from_dict(ckpt_config))
    model.takase_init_(seed=a.seed)  # biases zero, as in training
    if a.init_weights:
        if a.start_from:
            sys.exit("--from and --init-weights: one start at a time")
        init = Huginn.from_checkpoint(a.init_weights)
        if init.cfg != model.cfg:
            sys.exit(f"{a.init_weights} has another model shape than {a.config}")
        model.load_state_dict(init.state_dict())
    model.train()
    opt = make_optimizer(model, t)

    state_path = os.path.join(a.out, "train_state.pt")
    if a.start_from and not os.path.exists(state_path):
        st = torch.load(os.path.join(a.start_from, "train_state.pt"))
        if st["seed"] != a.seed or st["config"]["model"] != cfg["model"]:
            sys.exit(f"{a.start_from} was made with another --seed or model shape")
        st["config"] = cfg
        torch.save(st, state_path)  # from here on an ordinary resumable run of this config
    if os.path.exists(state_path):
        st = torch.load(state_path)
        if st["seed"] != a.seed or st["config"] != cfg:
            sys.exit(f"{state_path} was made with another --seed or config; use a fresh --out")
        model.load_state_dict(st["model"])
        scales = [g["lr_scale"] for g in opt.param_groups]
        opt.load_state_dict(st["optimizer"])
        for g, scale in zip(opt.param_groups, scales):  # the config's scales, not those saved (--from)
            g["lr_scale"] = scale
        step, elapsed_before = st["step"], st["elapsed_s"]
        depth_rng = np.random.default_rng()
        depth_rng.bit_generator.state = st["depth_rng"]
        s0_gen = torch.Generator()
        s0_gen.set_state(st["s0_rng"])
        torch.set_rng_state(st["torch_rng"])
        batches = Batches(tok, cfg, a.seed, st["data"])
        loss_ema = st["loss_ema"]
        log(f"resumed from {state_path} at step {step}")
    else:
        step, elapsed_before, loss_ema = 0, 0.0, None
        depth_rng = np.random.default_rng(a.seed)  # depth p per step
        s0_gen = torch.Generator().manual_seed(a.seed)  # random initial states
        torch.manual_seed(a.seed)
        batches = Batches(tok, cfg, a.seed)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model {n_params / 1e6:.2f}M parameters; {total} steps of {t['batch_size']} x {t['seq_len']} tokens")

    def snapshot():
        return {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step, "seed": a.seed,
                "config": cfg, "elapsed_s": elapsed_before + time.time() - start,
                "depth_rng": depth_rng.bit_generator.state, "s0_rng": s0_gen.get_state(),
                "torch_rng": torch.get_rng_state(), "data": batches.state(), "loss_ema": loss_ema}

    m = cfg["model"]
    rope = model.rope(0, t["seq_len"])
    bf16 = autocast_bf16(t)
    if bf16 and not cpu_has_bf16():
        log("warning: bf16 autocast on a CPU without bf16 instructions is many times slower than float32 here")
    math_weight = cfg["data"].get("math_loss_weight", 1.0)
    log_path = os.path.join(a.out, "train_log.jsonl")
    start = last_save = time.time()
    first_step = step
    tokens_done, t_window, tok_window = 0, time.time(), 0
    eot, pad, ans_hits, ans_count = tok.token_id("<|end_text|>"), tok.token_id("<|pad|>"), 0, 0
    tty = sys.stderr.isatty()
    while step < min(total, a.stop_at or total):
        if a.max_minutes is not None and time.time() - start > a.max_minutes * 60:
            log(f"\n--max-minutes {a.max_minutes} reached at step {step}")
            break
        x, y, is_math = batches.next()
        p = sample_depth(depth_rng, m["mean_recurrence"])
        lr = lr_at(step, t, total)
        for g in opt.param_groups:
            g["lr"] = lr * g["lr_scale"]  # set by make_optimizer, kept over a resume
        mask = document_mask(x, eot) if t.get("document_mask") else None
        # the LM head runs only where the loss looks (on math rows: the answers), the same loss
        in_loss = y != pad
        logits = train_forward(model, x, rope, p, m["mean_backprop_depth"], t["init_scale"], s0_gen, mask,
                               bf16=bf16, at=in_loss)
        loss = weighted_loss(logits, y[in_loss], is_math[:, None].expand_as(y)[in_loss], math_weight)
        with torch.no_grad():  # monitor: the last answer token of each math text (just before <|end_text|>)
            pred = torch.full_like(y, -1)
            pred[in_loss] = logits.argmax(-1)
            at = (y[:, 1:] == eot) & is_math[:, None]
            ans_hits += int((pred[:, :-1][at] == y[:, :-1][at]).sum())
            ans_count += int(at.sum())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), t["grad_clip"])
        opt.step()
        step += 1
        tokens_done += x.numel()
        tok_window += x.numel()
        loss_ema = loss.item() if loss_ema is None else 0.95 * loss_ema + 0.05 * loss.item()

        if step % t["log_every"] == 0 or step == total:
            now = time.time()
            tok_s = tok_window / (now - t_window)
            t_window, tok_window = now, 0
            elapsed = now - start
            eta = elapsed / (step - first_step) * (total - step)
            ans_acc, ans_hits, ans_count = ans_hits / max(ans_count, 1), 0, 0
            done = int(30 * step / total)
            line = (f"[{'#' * done}{'.' * (30 - done)}] step {step}/{total} loss {loss_ema:.3f} p {p:2d} "
                    f"answers {ans_acc:.0%} lr {lr:.2e} {tok_s:,.0f} tok/s elapsed {hms(elapsed_before + elapsed)} ETA {hms(eta)}")
            log(("\r" + line) if tty else line, end="" if tty else "\n")
            with open(log_path, "a") as f:
                f.write(json.dumps({"step": step, "loss": round(loss.item(), 4), "loss_ema": round(loss_ema, 4),
                                    "p": p, "answer_acc": round(ans_acc, 4), "lr": lr, "tok_s": round(tok_s), "elapsed_s": round(elapsed_before + elapsed, 1)}) + "\n")
        if time.time() - last_save > t["save_every_minutes"] * 60:
            save(a.out, model, ckpt_config, snapshot())
            last_save = time.time()
    save(a.out, model, ckpt_config, snapshot())
    log(f"\nsaved {a.out} at step {step} ({tokens_done:,} tokens this run, {hms(time.time() - start)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
