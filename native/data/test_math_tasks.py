"""Test of the math task generator (native/data/math_tasks.py), run by `npm run test:python` (part
of `npm test`): its self-check (held-out prompts never trained on, chain root not first by
position, multi-query chain and chained-operation answers are what Python prints) passes.

Alone: /usr/bin/python3 -m unittest discover -s native/data -p 'test_*.py'
"""
import hashlib
import itertools
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import math_tasks as M  # noqa: E402

# Computed with the module before mul and surroundings existed (commit 09875bf): the default
# training stream's first 3,000 rows and the held-out sets of the families there were then.
STREAM_3000_SHA256 = "fa6650978ce2d5150dbe31d6576883206ee58029fa1c8070a6e7daf74f5223aa"
HELDOUT_OLD_SHA256 = "d4dba79dfc34be6f0846d936bbccb3cb7f45580dda6f8ea4ffd15fcbe5d37252"
OLD_FAMILIES = ("chain", "expr", "add", "ops")


class MathTasksTests(unittest.TestCase):
    def test_self_check(self):
        """math data: held-out prompts never trained on, chain root not first by position, multi-query
        chain and chained-operation answers are what Python prints"""
        out = subprocess.run([sys.executable, os.path.join(HERE, "math_tasks.py")], capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"\nok\n\Z")



class SurroundingsTests(unittest.TestCase):
    def test_wrapper_keeps_problem_and_answer(self):
        """surroundings: the wrapped prompt is text + the bare prompt (so it ends as the bare one
        does), deterministic from the rng, and every template is used for every family"""
        rng = random.Random(11)
        used = {f: set() for f in M.FAMILIES}
        for i in range(1500):
            family = M.FAMILIES[i % len(M.FAMILIES)]
            p, a = M.generate(family, 1 + i % 6, rng)
            state = rng.getstate()
            wrapped, name = M.surround(p, rng)
            rng2 = random.Random()
            rng2.setstate(state)
            self.assertEqual(M.surround(p, rng2), (wrapped, name))
            used[family].add(name)
            self.assertTrue(wrapped.endswith(p) and len(wrapped) > len(p), (wrapped, p))
            self.assertIn(p, wrapped)
            if name == "comment" and "\n" not in p:
                self.assertTrue(wrapped.endswith("# " + p), wrapped)
            else:
                self.assertTrue(wrapped[: -len(p)].endswith("\n"), wrapped)
        names = {n for n, _ in M.SURROUNDINGS}
        for family, got in used.items():
            self.assertEqual(got, names, family)

    def test_blank_line_variants(self):
        """surroundings: both with and without a blank line before the problem, for every template"""
        rng, seen = random.Random(5), set()
        for _ in range(600):
            wrapped, name = M.surround("4821 + 377 = ", rng)
            text = wrapped[: -len("4821 + 377 = ")]
            if name == "comment":
                text = text[: -len("# ")]
            seen.add((name, text.endswith("\n\n")))
        self.assertEqual(seen, {(n, b) for n, _ in M.SURROUNDINGS for b in (False, True)})

    def test_heldout_surrounded(self):
        """held-out in surroundings: the same problems and answers as the bare held-out sets, each
        wrapped, and its bare problem rejected by the training stream's held-out filter"""
        bare, banned = M.heldout_sets(), M.heldout_hashes()
        sur = M.heldout_surrounded_sets(n=50)
        self.assertEqual(set(sur), set(bare))
        for key, items in sur.items():
            self.assertEqual([(p, a) for _, a, p in items], bare[key][:50])
            for wrapped, a, p in items:
                self.assertTrue(wrapped.endswith(p) and wrapped != p)
                self.assertIn(M.prompt_hash(p), banned)
        # a prefix of the set is the same for every n; and the export holds the same items
        self.assertEqual(M.heldout_surrounded_sets(n=10)[("add", 3)], sur[("add", 3)][:10])
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "s.json")
            M.export_surrounded(out, 7)
            with open(out) as fh:
                data = json.load(fh)
        self.assertEqual(len(data["sets"]), len(bare))
        for s in data["sets"]:
            items = sur[(s["family"], s["difficulty"])][:7]
            self.assertEqual([(i["prompt"], i["answer"], i["bare"]) for i in s["items"]], items)

    def test_training_surroundings_never_heldout(self):
        """training rows in surroundings never contain a held-out problem (with its answer)"""
        held = {p + a + M.END_TEXT for items in M.heldout_sets().values() for p, a in items}
        it = M.training_stream(0, mul=True, surroundings=0.5)
        rows = [next(it) for _ in range(4000)]
        bare = re.compile(r"(\d|\(|[a-z] = )")  # how a bare problem starts; no filler does
        wrapped = [r for r in rows if not bare.match(r)]
        self.assertTrue(1600 < len(wrapped) < 2400, len(wrapped))
        self.assertTrue(any(re.match(r"\d+ \* \d+ = ", r) for r in rows))
        for r in wrapped:  # END_TEXT only ends a row: a held-out text inside it is a suffix
            self.assertFalse(any(r[i:] in held for i in range(len(r))), r)


class MulTests(unittest.TestCase):
    def test_mul_answers(self):
        """mul: the answer is the product, the first operand (or the second) has d digits"""
        rng = random.Random(2)
        small = 0
        for i in range(3000):
            d = 1 + i % 10
            p, a = M.generate("mul", d, rng)
            self.assertTrue(p.endswith(" = "), p)
            x, y = (int(t) for t in p[: -len(" = ")].split(" * "))
            self.assertEqual(a, str(x * y))
            self.assertEqual(max(len(str(x)), len(str(y))), d)
            self.assertTrue(min(x, y) >= 2)
            small += min(len(str(x)), len(str(y))) == 1
        self.assertGreater(small, 1000)
        self.assertEqual(sorted(d for f, d in M.heldout_sets() if f == "mul"), list(M.HELDOUT_D["mul"]))


class UnchangedTests(unittest.TestCase):
    def test_default_stream_unchanged(self):
        """the default training stream's first 3,000 rows and the older families' held-out sets are
        exactly what they were before mul and surroundings"""
        h = hashlib.sha256()
        for row in itertools.islice(M.training_stream(0), 3000):
            h.update(row.encode())
        self.assertEqual(h.hexdigest(), STREAM_3000_SHA256)
        h, sets = hashlib.sha256(), M.heldout_sets()
        for k in sorted(k for k in sets if k[0] in OLD_FAMILIES):
            h.update(repr((k, sets[k])).encode())
        self.assertEqual(h.hexdigest(), HELDOUT_OLD_SHA256)
        # the options off give the same stream as not passing them
        a = list(itertools.islice(M.training_stream(1), 200))
        self.assertEqual(a, list(itertools.islice(M.training_stream(1, mul=False, surroundings=0.0), 200)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
