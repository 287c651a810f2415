"""Tests of the probe scripts' data (native/train/recall_probe.py, chain_probe.py), run by
`npm run test:python` (part of `npm test`): the answer targets of every row are the values the
programs give. (Their command lines are run by test/integration/training.test.ts.)

Alone: OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 -m unittest discover -s native/train -p 'test_*.py'
"""
import os
import random
import re
import sys
import unittest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when OpenMP loads: set before torch
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import chain_probe as C  # noqa: E402
import recall_probe as R  # noqa: E402


class RecallProbeTests(unittest.TestCase):
    def test_each_answer_is_the_value_of_the_name_asked(self):
        """recall probe: in every format each answer target is the value of the name asked before it"""
        tok = R.T.Tokenizer(R.T.os.path.join(R.T.TOKENIZER_DIR, "tokenizer.json"))
        rng, n = random.Random(1), 0
        for fmt, (line, question) in R.FORMATS.items():
            line_re = re.compile(re.escape(line).replace(r"\{\}", "([a-z])", 1).replace(r"\{\}", "([0-9])"))
            for _ in range(20):
                ids, targets, k = R.program(rng, tok, fmt, 4, n_names=6)
                program = tok.decode(ids).split("\n")
                values = dict(line_re.fullmatch(l + "\n").groups() for l in program[:k])
                assert len(values) == k and set(values) <= set("abcdef") and len(set(values.values())) == k
                if fmt in ("python", "compact"):  # valid Python: the answers are what it prints
                    env = {}
                    exec("".join(l + "\n" for l in program[:k]), {}, env)
                    assert {v: str(x) for v, x in env.items()} == values
                asked = None
                for j, t in enumerate(targets):
                    if t < 0:
                        continue
                    assert ids[j + 1] == t
                    before = tok.decode(ids[:j + 1])
                    if asked is None:  # the answer digit: the question just before it names the variable
                        asked = re.search(re.escape(question).replace(r"\{\}", "([a-z])") + "$", before).group(1)
                        assert tok.decode([t]) == values[asked], (fmt, before)
                        n += 1
                    else:  # the stop after it
                        assert tok.decode([t]) == "\n"
                        asked = None
        assert n == 4 * 20 * len(R.FORMATS), n
        assert R.parse_phases("pairs/6@1,compact+python/26@3") == [(1, ["pairs"], 6), (3, ["compact", "python"], 26)]
        self.assertEqual(n, 400)


class ChainProbeTests(unittest.TestCase):
    def test_loss_sees_exactly_the_answers_and_their_stops(self):
        """chain probe: the loss sees exactly the answers and their stops"""
        tok = C.T.Tokenizer(C.T.os.path.join(C.T.TOKENIZER_DIR, "tokenizer.json"))
        rng, n = random.Random(3), 0
        for d in range(1, 7):
            pairs = C.math_tasks.chain_training_text(d, rng, 4, "abcdefghijkl")
            ids, targets = C.encode(tok, pairs)
            assert tok.decode(ids) == "".join(q + a for q, a in pairs) + "<|end_text|>"
            want = "".join(a + "\n" for _, a in pairs)[:-1] + "<|end_text|>"
            assert tok.decode([t for t in targets if t >= 0]) == want, (pairs, targets)
            assert all(t < 0 or ids[j + 1] == t for j, t in enumerate(targets))
            n += 1
        self.assertEqual(n, 6)


if __name__ == "__main__":
    unittest.main(verbosity=2)
