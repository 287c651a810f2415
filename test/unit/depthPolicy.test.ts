import * as assert from 'assert';
import { BUDGET_LIMITS, INVOKE_TIME_FACTOR } from '../../server/protocol';
import { decideBudget, type PolicyContext, type PolicySettings } from '../../src/depthPolicy';

const settings = (over: Partial<PolicySettings> = {}): PolicySettings => ({
  baseLevel: 2,
  languageLevels: {},
  stepsPerLevel: [2, 4, 8, 16, 32],
  exitThreshold: 0.001,
  maxTokens: 64,
  timeCapMs: 2000,
  thinkOffset: 0,
  ...over,
});

/** A request at the end of `textBefore`'s last line, in a TypeScript file unless told otherwise. */
const ctx = (over: Partial<PolicyContext> = {}): PolicyContext => ({
  languageId: 'typescript',
  fileName: '/w/a.ts',
  triggerKind: 'automatic',
  textBefore: 'const x = foo(1);',
  lineSuffix: '',
  documentHead: '',
  ...over,
});

const level = (c: Partial<PolicyContext>, s: Partial<PolicySettings> = {}) => decideBudget(ctx(c), settings(s)).budget.level;

describe('depth policy', function () {
  it('plain code at the end of a line: base level, its steps, multi-line, the settings as given', function () {
    const { budget, reasons } = decideBudget(ctx(), settings());
    assert.deepStrictEqual(budget, { level: 2, steps: 8, exitThreshold: 0.001, maxTokens: 64, timeCapMs: 2000, multiline: true, explicit: false });
    assert.ok(reasons[0].includes('base level 2'));
    assert.ok(reasons.some((r) => r.includes('multi-line allowed')));
    assert.ok(reasons[reasons.length - 1].includes('level 2: up to 8 iterations per token'));
  });

  it('steps come from the settings table; exit threshold 0 means no adaptive exit (null)', function () {
    const { budget, reasons } = decideBudget(ctx(), settings({ stepsPerLevel: [1, 3, 5, 7, 9], exitThreshold: 0 }));
    assert.strictEqual(budget.steps, 5);
    assert.strictEqual(budget.exitThreshold, null);
    assert.ok(reasons.some((r) => r.includes('adaptive exit off')));
  });

  it('math-heavy languages and files go one level deeper', function () {
    for (const [languageId, fileName] of [['latex', '/p.tex'], ['julia', '/a.jl'], ['r', '/a.R'], ['matlab', '/a.m'], ['octave', '/a.m']]) {
      assert.strictEqual(level({ languageId, fileName }), 3, languageId);
    }
    // A .tex file VS Code does not know as LaTeX still counts.
    assert.strictEqual(level({ languageId: 'plaintext', fileName: '/doc.tex' }), 3);
  });

  it('.m files: MATLAB unless the content is Objective-C', function () {
    assert.strictEqual(level({ languageId: 'objective-c', fileName: '/a.m', documentHead: 'x = linspace(0, 1);\n' }), 3);
    assert.strictEqual(level({ languageId: 'objective-c', fileName: '/a.m', documentHead: '#import <Foundation/Foundation.h>\n' }), 2);
  });

  it('plain text goes one level shallower', function () {
    const d = decideBudget(ctx({ languageId: 'plaintext', fileName: '/notes.txt', textBefore: 'Dear team,' }), settings());
    assert.strictEqual(d.budget.level, 1);
    assert.ok(d.reasons.includes('plain text: -1'));
  });

  it('Markdown: deeper inside or near $…$ math, not for prose', function () {
    const md = (textBefore: string) => level({ languageId: 'markdown', fileName: '/r.md', textBefore });
    assert.strictEqual(md('Some prose here'), 2);
    assert.strictEqual(md('The energy is $E = mc'), 3); // inside inline math
    assert.strictEqual(md('$$\n\\int_0^1 f(x)'), 3); // inside display math
    assert.strictEqual(md('We have $a^2+b^2=c^2$ and so'), 3); // math nearby
    assert.strictEqual(md('We have $a^2+b^2=c^2$.\n\nA new paragraph'), 2);
  });

  it('Python with numpy / sympy / math imports goes deeper; without them it does not', function () {
    const py = (documentHead: string) => level({ languageId: 'python', fileName: '/a.py', textBefore: 'y = 1', documentHead });
    assert.strictEqual(py('import numpy as np\n'), 3);
    assert.strictEqual(py('from sympy import symbols\n'), 3);
    assert.strictEqual(py('import math\n'), 3);
    assert.strictEqual(py('import os\nimport mathutils\n'), 2);
    const d = decideBudget(ctx({ languageId: 'python', fileName: '/a.py', textBefore: 'y = 1', documentHead: 'import numpy\n' }), settings());
    assert.ok(d.reasons.includes('file imports numpy: +1'));
  });

  it('a per-language level replaces the base level and the language adjustment', function () {
    assert.strictEqual(level({ languageId: 'latex', fileName: '/p.tex' }, { languageLevels: { latex: 1 } }), 1);
    assert.strictEqual(level({ languageId: 'plaintext', fileName: '/n.txt', textBefore: 'hi' }, { languageLevels: { plaintext: 3 } }), 3);
    const d = decideBudget(ctx(), settings({ languageLevels: { typescript: 4 } }));
    assert.strictEqual(d.budget.level, 4);
    assert.ok(d.reasons[0].includes('typescript: level 4 (per-language setting)'));
  });

  it('math does not count twice (math file plus math content)', function () {
    // A Sage file is Python to VS Code: math by extension and by its imports, still one level.
    assert.strictEqual(level({ languageId: 'python', fileName: '/a.sage', textBefore: 'y = 1', documentHead: 'import numpy\n' }), 3);
  });

  it('an explicit request goes one level deeper and allows twice the tokens', function () {
    const d = decideBudget(ctx({ triggerKind: 'invoke' }), settings());
    assert.strictEqual(d.budget.level, 3);
    assert.strictEqual(d.budget.maxTokens, 128);
    assert.ok(d.reasons.some((r) => r.startsWith('explicit request: +1')));
  });

  it('the budget says whether the request is explicit (the server then takes a lower confidence bar)', function () {
    assert.strictEqual(decideBudget(ctx({ triggerKind: 'invoke' }), settings()).budget.explicit, true);
    assert.strictEqual(decideBudget(ctx({ triggerKind: 'automatic' }), settings()).budget.explicit, false);
  });

  it('inside a comment or a string: shallower and single-line', function () {
    for (const textBefore of ['// compute the', 'x = 1; /* the', 'const s = "hello']) {
      const d = decideBudget(ctx({ textBefore }), settings());
      assert.strictEqual(d.budget.level, 1, textBefore);
      assert.strictEqual(d.budget.multiline, false, textBefore);
    }
    const py = decideBudget(ctx({ languageId: 'python', fileName: '/a.py', textBefore: 'def f():\n    """Return the' }), settings());
    assert.strictEqual(py.budget.level, 1);
    assert.ok(py.reasons.includes('cursor in a string literal: -1, single line'));
  });

  it('after an unfinished expression: deeper', function () {
    for (const textBefore of ['const total = ', 'return compute(a,', 'if (a &&', 'const xs = [', 'foo(\n  a,\n  b']) {
      const d = decideBudget(ctx({ textBefore }), settings());
      assert.strictEqual(d.budget.level, 3, textBefore);
      assert.ok(d.reasons.some((r) => r.startsWith('unfinished expression')), textBefore);
    }
    assert.strictEqual(level({ textBefore: 'i++' }), 2);
    assert.strictEqual(level({ textBefore: 'const s = "a + "' }), 2); // the '+' is inside the string
  });

  it('mid-line cursor: single line; end of line (whitespace only after it): multi-line', function () {
    assert.strictEqual(decideBudget(ctx({ lineSuffix: ')' }), settings()).budget.multiline, false);
    assert.strictEqual(decideBudget(ctx({ lineSuffix: '   ' }), settings()).budget.multiline, true);
    const d = decideBudget(ctx({ lineSuffix: ' + 1;' }), settings());
    assert.ok(d.reasons.includes('cursor mid-line: single line'));
  });

  it('think harder / less move the level, and the result is clamped to 0..4', function () {
    assert.strictEqual(level({}, { thinkOffset: 1 }), 3);
    assert.strictEqual(level({}, { thinkOffset: -2 }), 0);
    const high = decideBudget(ctx({ triggerKind: 'invoke', textBefore: 'x = ' }), settings({ thinkOffset: 3 }));
    assert.strictEqual(high.budget.level, 4);
    assert.strictEqual(high.budget.steps, 32);
    assert.ok(high.reasons.includes('think harder: +3'));
    assert.ok(high.reasons.includes('clamped to level 4'));
    const low = decideBudget(ctx({ textBefore: '// x' }), settings({ thinkOffset: -4 }));
    assert.strictEqual(low.budget.level, 0);
    assert.ok(low.reasons.includes('think less: -4'));
  });

  it('a steps table shorter than five levels falls back to the defaults for the missing levels', function () {
    assert.strictEqual(decideBudget(ctx(), settings({ stepsPerLevel: [1, 2] })).budget.steps, 8);
  });

  it('explicit requests never ask for more tokens than a request may carry', function () {
    assert.strictEqual(decideBudget(ctx({ triggerKind: 'invoke' }), settings({ maxTokens: 400 })).budget.maxTokens, 512);
  });

  it('passes the time cap through unchanged for automatic requests', function () {
    assert.strictEqual(decideBudget(ctx(), settings({ timeCapMs: 750 })).budget.timeCapMs, 750);
  });

  it('an explicit request (Trigger Inline Suggestion, Think Harder) gets INVOKE_TIME_FACTOR times the time cap, within the limit', function () {
    const d = decideBudget(ctx({ triggerKind: 'invoke' }), settings({ timeCapMs: 750 }));
    assert.strictEqual(d.budget.timeCapMs, 750 * INVOKE_TIME_FACTOR);
    assert.ok(d.reasons.includes(`explicit request: +1, up to 128 tokens and ${750 * INVOKE_TIME_FACTOR} ms`), d.reasons.join('; '));
    assert.ok(d.reasons[d.reasons.length - 1].endsWith(`${750 * INVOKE_TIME_FACTOR} ms cap`));
    assert.strictEqual(decideBudget(ctx({ triggerKind: 'invoke' }), settings({ timeCapMs: 30_000 })).budget.timeCapMs, BUDGET_LIMITS.timeCapMs);
  });
});
