// Prompts for greedy comparisons on the default model: code in the styles it was trained on, and
// arithmetic (the features bench and the int4 test).
export const PROMPTS = [
  'def fibonacci(n):\n    ',
  'import numpy as np\n\ndef normalize(v):\n    return ',
  'for i in range(10):\n    if i % 2 == 0:\n        ',
  'class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, x):\n        ',
  'const sum = (a, b) => ',
  'function isEven(n) {\n  return ',
  'a = 3\nq = 5\nb = a\nc = b\nprint(c)\n',
  '((2 + 5) * 3 - 4) % 10 = ',
  '4821 + 377 = ',
  'x = [1, 2, 3]\ny = [v * 2 for v in ',
  'if __name__ == "__main__":\n    ',
  '# compute the mean of a list\ndef mean(xs):\n    ',
];
