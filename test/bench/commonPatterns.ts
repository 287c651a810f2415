// Common code patterns for bench:completions: short Python and JavaScript files with the cursor at
// the end of an unfinished line (the rest of that line empty, the lines after it present), the
// completion a programmer would usually write there (`idiom`), and a syntax check that says
// whether a ghost text makes the file valid code. Ghost text is *plausible* when it is not empty
// and the file parses with it (`for i in range(` -> `len(xs)):` is plausible without being the
// idiom; `self, 'f8'` is not). Written before the models they measure were trained.
import { execFileSync } from 'child_process';
import * as vm from 'vm';
import { PYTHON } from '../helpers/reference';

export interface Pattern {
  lang: 'python' | 'javascript';
  /** The file up to the cursor. */
  before: string;
  /** The file after the cursor's line (starting with its line break). */
  after: string;
  /** The usual completion. */
  idiom: string;
}

const py = (before: string, idiom: string, after = '\n'): Pattern => ({ lang: 'python', before, after, idiom });
const js = (before: string, idiom: string, after = '\n'): Pattern => ({ lang: 'javascript', before, after, idiom });

export const PATTERNS: Pattern[] = [
  py('import numpy as ', 'np'),
  py('import os\nimport sys\n\n\ndef main():\n    pass\n\n\nif __name__ == ', '"__main__":', '\n    main()\n'),
  py('class Point:\n    def __init__(self', ', x, y):', '\n        pass\n'),
  py('def mean(values):\n    total = 0\n    for v in ', 'values:', '\n        total += v\n    return total / len(values)\n'),
  py('for i in range(', '10):', '\n    print(i)\n'),
  py('for i in range(10):\n    print(', 'i)'),
  py('with open(path) as ', 'f:', '\n    data = f.read()\n'),
  py('try:\n    value = int(text)\nexcept ', 'ValueError:', '\n    value = 0\n'),
  py('class Stack(', 'object):', '\n    pass\n'),
  py('class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n\n    def __repr__(self', '):', "\n        return 'Point'\n"),
  py('class Counter:\n    def __init__(self):\n        self.count = 0\n\n    def get(self):\n        return self.', 'count'),
  py('values = [1, 2, 3', ']'),
  py('print("Hello, world', '!")'),
  py('def first(items):\n    if not items', ':', '\n        return None\n    return items[0]\n'),
  py('while True', ':', '\n    break\n'),
  py('def check(x):\n    if x < 0:\n        raise ValueError(', '"x must not be negative")', '\n    return x\n'),
  py('from collections import ', 'defaultdict'),
  py('import unittest\n\n\nclass TestAdd(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(', '1 + 1, 2)'),
  py('def show(d):\n    for key, value in d.', 'items():', '\n        print(key, value)\n'),
  py('import os\n\npath = os.path.join(', '"a", "b")'),
  py('result = {}\nfor name in names:\n    result[name] = len(', 'name)'),
  py('import argparse\n\nparser = argparse.ArgumentParser(', ')'),
  py('def is_even(n):\n    return n % 2 ==', ' 0'),
  py('lines = text.split(', '"\\n")'),
  js('const fs = require(', "'fs');"),
  js("const path = require('", "path');"),
  js('function add(a, b) {\n  return a + ', 'b;', '\n}\n'),
  js('console.log(', "'hello');"),
  js('function double(x) {\n  return x * 2;\n}\n\nmodule.exports = ', 'double;'),
  js('for (let i = 0; i < ', '10; i++) {', '\n  console.log(i);\n}\n'),
  js("function load(file, callback) {\n  fs.readFile(file, 'utf8', (err, data) => {\n    if (err", ') {', '\n      return callback(err);\n    }\n    callback(null, data);\n  });\n}\n'),
  js('const items = [1, 2, 3', '];'),
  js('const total = items.reduce((a, b) => a + b, ', '0);'),
  js('function sleep(ms) {\n  return new Promise((resolve) => ', 'setTimeout(resolve, ms));', '\n}\n'),
  js('class Point {\n  constructor(x, y', ') {', '\n    this.x = x;\n    this.y = y;\n  }\n}\n'),
  js('function f(value) {\n  if (typeof value === ', "'string') {", '\n    return value;\n  }\n}\n'),
  js('const names = users.map((user) => user.', 'name);'),
  js('const point = { x: 1, y: ', '2 };'),
  js('throw new Error(', "'not implemented');"),
  js('try {\n  run();\n} catch (', 'err) {', '\n  console.error(err);\n}\n'),
];

/** Whether each source is syntactically valid: Python through compile() in one python3 process,
 *  JavaScript through vm.Script (compiled, never run). */
export function parses(sources: { lang: Pattern['lang']; text: string }[]): boolean[] {
  const pyTexts = sources.filter((s) => s.lang === 'python').map((s) => s.text);
  const script = 'import json, sys\nok = []\nfor src in json.load(sys.stdin):\n    try:\n        compile(src, "<pattern>", "exec")\n        ok.append(True)\n    except SyntaxError:\n        ok.append(False)\nprint(json.dumps(ok))';
  const pyOk: boolean[] = pyTexts.length ? JSON.parse(execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(pyTexts), encoding: 'utf8' })) : [];
  let k = 0;
  return sources.map((s) => {
    if (s.lang === 'python') return pyOk[k++];
    try {
      new vm.Script(s.text);
      return true;
    } catch {
      return false;
    }
  });
}

/** Whether each ghost text (for PATTERNS[i]) is plausible: not empty, and the file parses with it. */
export function plausible(texts: string[]): boolean[] {
  const ok = parses(PATTERNS.map((p, i) => ({ lang: p.lang, text: p.before + texts[i] + p.after })));
  return ok.map((o, i) => o && texts[i].length > 0);
}

/** The patterns are sound: every idiom parses, and no file parses with its line left unfinished
 *  (so a pattern can only be passed by text that finishes the line). */
export function checkPatterns(): void {
  const withIdiom = parses(PATTERNS.map((p) => ({ lang: p.lang, text: p.before + p.idiom + p.after })));
  const unfinished = parses(PATTERNS.map((p) => ({ lang: p.lang, text: p.before + p.after })));
  const bad = PATTERNS.filter((_, i) => !withIdiom[i] || unfinished[i]);
  if (bad.length) throw new Error(`unsound patterns: ${bad.map((p) => JSON.stringify(p.before.slice(-30))).join(', ')}`);
}
