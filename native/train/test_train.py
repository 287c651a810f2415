"""Tests of the trainer's data and loss code (native/train/train.py), run by `npm run test:python`
(part of `npm test`). Each test builds the trainer's own rows or tensors and checks them against
what the generators and the model say they must be. Needs the code corpus in native/data/build
(built here on first use, as `npm run train:default` builds it).

Alone: OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 -m unittest discover -s native/train -p 'test_*.py'
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when OpenMP loads: set before torch
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch  # noqa: E402

import train as T  # noqa: E402

SMOKE = os.path.join(HERE, "configs", "smoke.json")


def smoke_config():
    with open(SMOKE) as f:
        return json.load(f)


def setUpModule():
    if not os.path.exists(T.CODE_TRAIN):
        subprocess.run([sys.executable, os.path.join(T.NATIVE, "data", "code_corpus.py"), "--out", T.DATA_BUILD],
                       check=True, stdout=subprocess.DEVNULL)


class MathRowsTests(unittest.TestCase):
    def test_answers_loss_sees_exactly_the_answers_and_their_stops(self):
        """math rows with math_loss "answers": the loss sees exactly the answers and the stop after each"""
        # Rebuild each problem's supervised text from the trainer's own rows and compare it with the
        # answers the generator gave: "<answer><stop>" per question, stop = "\n" or <|end_text|>.
        cfg = smoke_config()
        assert cfg["data"]["math_loss"] == "answers"
        tok = T.Tokenizer(T.os.path.join(T.TOKENIZER_DIR, "tokenizer.json"))
        ms = T.MathStream(tok, 0, cfg["data"])
        problems = T.math_texts(0, cfg["data"]["math_families"], cfg["data"]["math_d_weights"], cfg["data"]["chain_extra_queries"])
        row = ms.take(4000)
        n = 0
        for pairs in problems:
            want = "".join(a + "\n" for _, a in pairs)[:-1] + "<|end_text|>"
            toks = ms.encode(pairs)
            assert [t for t, _ in row[:len(toks)]] == [t for t, _ in toks]
            got = tok.decode([t for t, k in row[:len(toks)] if k])
            assert got == want, (pairs, got, want)
            assert sum(k for _, k in toks) < len(toks) / 2
            row, n = row[len(toks):], n + 1
            if not row or row[0][0] == tok.token_id("<|pad|>"):
                break
        # the curriculum (math_stage_problems): the first stage is d = 1 only (a chain of d hops has
        # d + 1 main lines and at most d + 1 distractors), the next stages go deeper
        staged = T.math_texts(0, {"chain": 1.0}, [1, 1, 1], 0, 30)
        lines = [pairs[0][0].count("\n") - 1 for pairs in (next(staged) for _ in range(90))]
        assert max(lines[:30]) <= 4 and max(lines[60:]) > 6, lines
        # a list gives each stage its own length; after the list, every d
        assert [T.curriculum_stage(c, [10, 5], 3) for c in (0, 9, 10, 14, 15, 99)] == [1, 1, 2, 2, 3, 3]
        assert T.curriculum_stage(7, 0, 3) == 3 and T.curriculum_stage(25, 10, 6) == 3
        # ops_recipe: questions in the middle of ops programs, with a probability set per stage: echoes
        # (the bare value after its update line) one update deep, then none
        ops = T.math_texts(0, {"ops": 1.0}, [1, 1, 1, 1], 0, 0, None, {"print_p": [1.0, 0.0], "stages": [10], "questions": "echo"})
        first, later = [next(ops) for _ in range(10)], [next(ops) for _ in range(10)]
        assert all([q.count(" = ") for q, _ in pairs] == [2] + [1] * (len(pairs) - 1) for pairs in first), first
        assert all(q.endswith("\n") and "print" not in q for pairs in first for q, _ in pairs[:-1]), first
        assert all(len(pairs) == 1 and pairs[0][0].endswith("% 10)\n") for pairs in later), later
        # a mode per stage: echoes for the first 10 problems, then latent questions
        staged_q = T.math_texts(0, {"ops": 1.0}, [1, 1, 1, 1], 0, 0, None, {"print_p": [1.0, 1.0], "stages": [10], "questions": ["echo", "latent"]})
        first, later = [next(staged_q) for _ in range(10)], [next(staged_q) for _ in range(10)]
        assert all(len(p) == 2 for pairs in first for p in pairs) and all(len(p) == 3 for pairs in later for p in pairs[:-1]), (first, later)
        # latent questions: the rows hold the plain program, and the target at each update line's break
        # is that line's value in place of the next token (the next line's first letter)
        cfg_l = {"train": {"seq_len": 255, "batch_size": 2}, "data": {"math_fraction": 1.0, "math_families": {"ops": 1.0},
                 "math_d_weights": [1, 1, 1, 1], "math_loss": "answers", "ops_recipe": {"print_p": [1.0], "stages": [], "questions": "latent"}}}
        x, y, _ = T.Batches(tok, cfg_l, 0).next()
        latent = T.math_texts(0, {"ops": 1.0}, [1, 1, 1, 1], 0, 0, None, cfg_l["data"]["ops_recipe"])
        pad, seen = tok.token_id("<|pad|>"), 0
        row_x, row_y = x[0].tolist()[1:], y[0].tolist()[1:]  # (after <|begin_text|>)
        while row_x and row_x[0] != pad:
            pairs = next(latent)
            text = "".join(q for q, *_ in pairs)
            whole = tok.encode(text + pairs[-1][1] + "<|end_text|>")  # as the engine tokenizes a prompt
            n_tok = len(whole)
            if n_tok > len(row_x):  # (the row's last token is a target only)
                break
            assert row_x[:n_tok] == whole, (pairs, tok.decode(row_x[:n_tok]))
            targets = tok.decode([t for t in row_y[:n_tok] if t != pad])
            assert targets == "".join(a for _, a, *_ in pairs) + "<|end_text|>", (pairs, targets)
            assert all(len(p) == 3 for p in pairs[:-1]) and text.count("\n") == len(pairs) + 2, pairs
            seen += len(pairs) > 1
            row_x, row_y = row_x[n_tok:], row_y[n_tok:]
        assert seen > 3, seen
        # and the held-out exclusion checks the text before the first written answer: with latent
        # questions the whole program, which is generate's prompt (so a held-out one is recognised)
        for seed in range(50):
            d = 2 + seed % 5
            assert T.first_prompt(T.math_tasks.ops_training_text(d, T.random.Random(seed), 1.0, "latent")) == T.math_tasks.generate("ops", d, T.random.Random(seed))[0]
            echo = T.math_tasks.ops_training_text(d, T.random.Random(seed), 1.0, "echo")
            assert T.first_prompt(echo) == echo[0][0]
        # chain_recipe (repl style, recall stage): the first chain problems are bare lookups on the
        # first letters, then chains
        recall = T.math_texts(0, {"chain": 1.0}, [1], 0, 0, {"style": "repl", "recall": {"problems": 20, "letters": 4, "questions": 5}})
        first, later = [next(recall) for _ in range(20)], [next(recall) for _ in range(20)]
        copies = lambda pairs: [l for l in pairs[0][0].split("\n")[:-1] if l[2:].isalpha()]
        for pairs in first:
            env = {}
            exec(pairs[0][0][:-1], {}, env)
            assert len(pairs) == 5 and set(env) <= set("abcd") and not copies(pairs), pairs
            assert all(a == str(env[q[-1]]) for q, a in pairs), pairs
        assert all(copies(pairs) for pairs in later), later
        # chain_recipe latent: every program line's value is a latent target before the questions
        lat = T.math_texts(0, {"chain": 1.0}, [1, 1], 2, 0, {"latent": True})
        for pairs in (next(lat) for _ in range(20)):
            n_latent = sum(len(p) == 3 for p in pairs)
            assert n_latent + 1 == T.first_prompt(pairs).count("\n") and len(pairs) > n_latent, pairs
        self.assertGreater(n, 20)


class SurroundingsTests(unittest.TestCase):
    def test_math_surroundings_wrap_the_first_question_and_keep_the_problems(self):
        mix, dw = {"ops": 1.0, "add": 1.0, "chain": 1.0}, [1.0, 1.0]
        bare = T.math_texts(0, mix, dw)
        wrapped = T.math_texts(0, mix, dw, surroundings=1.0)
        for _ in range(300):
            b, w = next(bare), next(wrapped)
            self.assertEqual(len(b), len(w))
            self.assertTrue(w[0][0].endswith(b[0][0]) and len(w[0][0]) > len(b[0][0]), (b[0][0], w[0][0]))
            self.assertEqual([p[1:] for p in w], [p[1:] for p in b])  # the answers
            self.assertEqual(w[1:], b[1:])
        none = T.math_texts(0, mix, dw, surroundings=0.0)
        again = T.math_texts(0, mix, dw)
        self.assertEqual([next(none) for _ in range(200)], [next(again) for _ in range(200)])


class FimRowsTests(unittest.TestCase):
    def test_fim_rows_hold_whole_examples_then_padding_and_resume(self):
        """fim_rows: each FIM row holds whole prefix-suffix-middle examples of one document window, then
        padding, and resumes where it stopped"""
        cfg = smoke_config()
        cfg["data"].update(math_fraction=0.0, fim_rows=1.0)
        tok = T.Tokenizer(T.os.path.join(T.TOKENIZER_DIR, "tokenizer.json"))
        b = T.Batches(tok, cfg, 0)
        fp, fs, fm, end, pad = (tok.token_id(t) for t in ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|end_text|>", "<|pad|>"))
        filled = []
        for _ in range(6):
            x, y, is_math = b.next()
            assert not is_math.any()
            for row, target in zip(x.tolist(), y.tolist()):
                # the row's tokens and the last target: an example that fills the row exactly has
                # its <|end_text|> only in the targets
                body = (row + target[-1:])[1:]
                n = len(body)
                while body[n - 1] == pad:
                    n -= 1
                text, rest = body[:n], body[n:]
                assert text[0] == fp and text[-1] == end and all(t == pad for t in rest), (text[:3], text[-3:])
                # whole examples only: markers come in order, once per example
                examples = tok.decode(text).split("<|end_text|>")[:-1]
                for e in examples:
                    assert e.startswith("<|fim_prefix|>") and e.index("<|fim_suffix|>") < e.index("<|fim_middle|>"), e[:80]
                assert all(t == pad for t in target[n:])  # no loss on the padding
                filled.append(n / len(body))
        assert sum(filled) / len(filled) > 0.6, filled
        state = b.state()
        after = b.next()[0]
        again = T.Batches(tok, cfg, 0, state).next()[0]
        assert (after == again).all()
        cfgfile = T.checkpoint_config(cfg, tok)
        assert cfgfile["fill_in_the_middle"] is True


class CodeWeightsTests(unittest.TestCase):
    def test_code_weights_repeat_and_thin_documents_by_source_and_language(self):
        """data.code_weights: a document enters the stream its source's weight times its language's
        (floor, plus one with the fraction's probability); unnamed ones once, in the unweighted order"""
        import random
        recs = [{"source": "sympy", "path": "a.py", "text": "s"}, {"source": "npm:x", "path": "b.ts", "text": "t"},
                {"source": "npm:y", "path": "c.js", "text": "j"}, {"source": "numpy", "path": "d.py", "text": "n"}]
        w = {"lang:ts/js": 3, "sympy": 0.5, "numpy": 0}
        self.assertEqual([T.code_weight(r, w) for r in recs], [0.5, 3, 3, 0])
        self.assertEqual(T.code_weight({"source": "sympy", "path": "e.py"}, {"sympy": 2, "lang:python": 1.5}), 3)
        kept = [T.weighted_documents(recs, w, random.Random(s)).count("s") for s in range(400)]
        self.assertTrue(150 < sum(kept) < 250, sum(kept))  # about half the draws keep the sympy file
        docs = T.weighted_documents(recs, w, random.Random(0))
        self.assertEqual((docs.count("t"), docs.count("j"), docs.count("n")), (3, 3, 0))
        # without weights (or with whole ones) no random number is drawn: the document order of
        # runs made before code_weights is unchanged
        rng = random.Random(0)
        state = rng.getstate()
        self.assertEqual(T.weighted_documents(recs, {}, rng), ["s", "t", "j", "n"])
        self.assertEqual(rng.getstate(), state)


class LossTests(unittest.TestCase):
    def test_math_loss_weight(self):
        """math_loss_weight: each math position counts that many times a code position; 1 is the plain mean"""
        F = T.F
        g = torch.Generator().manual_seed(0)
        logits, targets = torch.randn(7, 11, generator=g), torch.randint(0, 11, (7,), generator=g)
        math = torch.tensor([True, True, False, False, False, True, False])
        plain = F.cross_entropy(logits, targets)
        assert torch.equal(T.weighted_loss(logits, targets, math, 1), plain)
        each = F.cross_entropy(logits, targets, reduction="none")
        want = (3 * each[math].sum() + each[~math].sum()) / (3 * 3 + 4)
        got = T.weighted_loss(logits, targets, math, 3)
        assert abs(float(got - want)) < 1e-6, (float(got), float(want))
        # the weight goes to the math positions, not the code ones
        swapped = (each[math].sum() + 3 * each[~math].sum()) / (3 + 3 * 4)
        assert abs(float(got - swapped)) > 1e-3

    def test_document_mask_and_logits_at_chosen_positions(self):
        """document mask: a packed document sees only itself and the row start, and a lone document gets
        the plain causal logits; logits at chosen positions only"""
        E = 9  # <|end_text|> in this toy row
        ids = torch.tensor([[0, 5, 6, E, 7, 8, E, 4]])
        m = T.document_mask(ids, E)[0, 0]
        docs = [0, 0, 0, 0, 1, 1, 1, 2]
        for i in range(8):
            for j in range(8):
                assert bool(m[i, j]) == (j <= i and (j == 0 or docs[i] == docs[j])), (i, j, m)
        cfg = smoke_config()
        tok = T.Tokenizer(T.os.path.join(T.TOKENIZER_DIR, "tokenizer.json"))
        model = T.Huginn(T.HuginnConfig.from_dict(T.checkpoint_config(cfg, tok)))
        model.takase_init_(seed=0)
        x = torch.tensor([[tok.token_id("<|begin_text|>")] + tok.encode("a=4\nb=a\nb4\n")])
        run = lambda mask: T.train_forward(model, x, model.rope(0, x.shape[1]), 3, 1, 1.0, torch.Generator().manual_seed(0), mask)
        plain, masked = run(None), run(T.document_mask(x, tok.token_id("<|end_text|>")))
        assert torch.equal(plain, masked), (plain - masked).abs().max()
        # the LM head only where the loss looks (at): the same logits at those positions
        at = torch.rand(x.shape, generator=torch.Generator().manual_seed(1)) < 0.3
        full, few = (T.train_forward(model, x, model.rope(0, x.shape[1]), 3, 1, 1.0, torch.Generator().manual_seed(0), bf16=False, at=a) for a in (None, at))
        assert few.shape == (int(at.sum()), full.shape[-1]) and torch.allclose(few, full[at], atol=1e-5), few.shape


class OptimizerTests(unittest.TestCase):
    def test_core_lr_scale_groups(self):
        """core_lr_scale: the core and its adapter get their own lr scale; weight decay on matrices only;
        without the key the two groups of earlier runs' saved optimiser states, in their order"""
        cfg = smoke_config()
        tok = T.Tokenizer(T.os.path.join(T.TOKENIZER_DIR, "tokenizer.json"))
        model = T.Huginn(T.HuginnConfig.from_dict(T.checkpoint_config(cfg, tok)))
        names = {id(p): n for n, p in model.named_parameters()}
        plain = T.make_optimizer(model, cfg["train"]).param_groups
        assert [(g["weight_decay"] > 0, g["lr_scale"]) for g in plain] == [(True, 1.0), (False, 1.0)], plain
        split = T.make_optimizer(model, {**cfg["train"], "core_lr_scale": 0.5}).param_groups
        seen = [id(p) for g in split for p in g["params"]]
        assert sorted(seen) == sorted(names) and len(seen) == len(set(seen))
        for g in split:
            for p in g["params"]:
                n = names[id(p)]
                assert g["lr_scale"] == (0.5 if n.startswith(T.CORE_PARAM_PREFIXES) else 1.0), n
                assert (g["weight_decay"] > 0) == (p.dim() >= 2 and n.endswith("weight")), n
        assert {g["lr_scale"] for g in split} == {0.5, 1.0}


    def test_muon_for_hidden_matrices_adamw_for_the_rest(self):
        """optimizer "muon": every hidden matrix (not the embedding) in a Muon group, fused ones split
        per part, at lr_scale x muon_lr_scale; a step moves them by orthogonalized momentum; the state
        dict round-trips (a resume)"""
        cfg = smoke_config()
        tok = T.Tokenizer(T.os.path.join(T.TOKENIZER_DIR, "tokenizer.json"))
        torch.manual_seed(0)
        model = T.Huginn(T.HuginnConfig.from_dict(T.checkpoint_config(cfg, tok)))
        names = {id(p): n for n, p in model.named_parameters()}
        t = {**cfg["train"], "optimizer": "muon", "muon_lr_scale": 5, "core_lr_scale": 0.5}
        opt = T.make_optimizer(model, t)
        adamw, muon_opt = opt.opts
        in_muon = {names[id(p)]: g for g in muon_opt.param_groups for p in g["params"]}
        assert sorted(list(in_muon) + [names[id(p)] for g in adamw.param_groups for p in g["params"]]) == sorted(names.values())
        for n, p in model.named_parameters():
            assert (n in in_muon) == (p.dim() == 2 and n != "transformer.wte.weight"), n
        for n, g in in_muon.items():
            assert g["splits"] == (3 if n.endswith("Wqkv.weight") else 2 if n.endswith("mlp.fc.weight") else 1), n
            assert g["lr_scale"] == 5 * (0.5 if n.startswith(T.CORE_PARAM_PREFIXES) else 1.0), n
        for rows, cols in ((64, 32), (32, 96)):
            s = torch.linalg.svdvals(T.muon.orthogonalize(torch.randn(rows, cols)).float())
            assert s.min() > 0.5 and s.max() < 1.3, s
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        for g in opt.param_groups:
            g["lr"] = 1e-3 * g["lr_scale"]
        x = torch.randint(0, 200, (2, 16))
        logits = T.train_forward(model, x, model.rope(0, 16), 2, 1, 1.0, torch.Generator().manual_seed(0), bf16=False)
        logits.float().logsumexp(-1).mean().backward()
        opt.step()
        moved = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
        assert set(in_muon) <= moved, set(in_muon) - moved
        again = T.make_optimizer(model, t)
        again.load_state_dict(opt.state_dict())
        p = muon_opt.param_groups[0]["params"][0]
        assert torch.equal(again.opts[1].state[p]["momentum"], muon_opt.state[p]["momentum"])

    def test_step_cost_times_both_optimizers(self):
        """bench:train-step (step_cost.py) on the smoke model: a row per optimizer, AdamW the 1.00x base"""
        cfg = smoke_config()
        cfg["train"].update({"optimizer": "muon", "muon_lr_scale": 5})
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "config.json")
            with open(path, "w") as f:
                json.dump(cfg, f)
            out = subprocess.run([sys.executable, os.path.join(os.path.dirname(T.__file__), "step_cost.py"), "--config", path, "--steps", "2"],
                                 check=True, capture_output=True, text=True).stdout
        rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
        assert set(rows) == {"adamw", "muon"}, out
        assert rows["adamw"][2] == "1.00x" and float(rows["muon"][1]) > 0, out


class CpuMemoryTests(unittest.TestCase):
    def test_keep_freed_memory_takes_effect_on_glibc(self):
        """cpu_memory.keep_freed_memory: mallopt accepts every setting where the C library is glibc (the
        trainer's and eval_scaling's speed-up), and reports False elsewhere instead of failing"""
        import platform
        import cpu_memory
        self.assertEqual(cpu_memory.keep_freed_memory(), platform.libc_ver()[0] == "glibc")
        big = torch.ones(8 << 20)  # 32 MB, above glibc's default mmap threshold: still a working tensor
        self.assertEqual(float(big.sum()), 8 << 20)


if __name__ == "__main__":
    unittest.main(verbosity=2)
