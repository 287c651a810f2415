"""Test of the math task generator (native/data/math_tasks.py), run by `npm run test:python` (part
of `npm test`): its self-check (held-out prompts never trained on, chain root not first by
position, multi-query chain and chained-operation answers are what Python prints) passes.

Alone: /usr/bin/python3 -m unittest discover -s native/data -p 'test_*.py'
"""
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class MathTasksTests(unittest.TestCase):
    def test_self_check(self):
        """math data: held-out prompts never trained on, chain root not first by position, multi-query
        chain and chained-operation answers are what Python prints"""
        out = subprocess.run([sys.executable, os.path.join(HERE, "math_tasks.py")], capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"\nok\n\Z")


if __name__ == "__main__":
    unittest.main(verbosity=2)
