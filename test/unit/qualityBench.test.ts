// bench:quality's pure parts (test/bench/qualityCases.ts): scoring a ghost text against the truth,
// the figures over a case list, the cursor kinds a user typing a line sees, and the seeded draw.
import * as assert from 'assert';
import { auc, codeLines, cursorAt, figures, pickCases, pickNeighbors, scanLine, scoreGhost, seededRandom, SourceFile } from '../bench/qualityCases';

describe('quality bench (bench:quality)', function () {
  it('scores a ghost text: exact, a correct prefix, wrong, empty; and the characters it supplies', function () {
    assert.deepStrictEqual(scoreGhost('self, headers):', 'self, headers):'), { verdict: 'exact', supplied: 15 });
    assert.deepStrictEqual(scoreGhost('x ', 'x'), { verdict: 'exact', supplied: 1 }); // blanks before the closer aside
    assert.deepStrictEqual(scoreGhost('self, headers):', 'self'), { verdict: 'prefix', supplied: 4 });
    assert.deepStrictEqual(scoreGhost('self, headers):', 'self):'), { verdict: 'wrong', supplied: 0 });
    assert.deepStrictEqual(scoreGhost('self, headers):', 'self, headers): pass'), { verdict: 'wrong', supplied: 0 });
    assert.deepStrictEqual(scoreGhost('self', ''), { verdict: 'empty', supplied: 0 });
  });

  it('figures over a fixed case list', function () {
    const cases = [{ truth: 'abcd' }, { truth: 'xy' }, { truth: 'hello' }, { truth: 'q' }, { truth: 'longer text' }];
    const ghosts = ['abcd', 'x', 'help', '', 'lo'];
    const f = figures(cases, ghosts);
    assert.strictEqual(f.cursors, 5);
    assert.strictEqual(f.shown, 4 / 5);
    assert.strictEqual(f.exact, 1 / 4);
    assert.strictEqual(f.correctPrefix, 3 / 4); // abcd (exact), x, lo
    assert.strictEqual(f.meanRightChars, (4 + 1 + 2) / 3);
    assert.strictEqual(f.charsSupplied, (4 + 1 + 2) / (4 + 2 + 5 + 1 + 11));
    assert.deepStrictEqual(figures(cases, cases.map(() => '')), { cursors: 5, shown: 0, exact: 0, correctPrefix: 0, meanRightChars: 0, charsSupplied: 0 });
  });

  it('scans one line: brackets and strings opened on it, comments, escapes', function () {
    assert.deepStrictEqual(scanLine('foo(bar[1', 'python'), { closers: [')', ']'], quote: null, comment: false, at: 9 });
    assert.deepStrictEqual(scanLine('s = "a(\\"', 'python').quote, '"');
    assert.strictEqual(scanLine('x = 1  # f(', 'python').comment, true);
    assert.strictEqual(scanLine('x = 1  // f(', 'javascript').comment, true);
    assert.strictEqual(scanLine('x = 1  # f(', 'javascript').comment, false);
    assert.deepStrictEqual(scanLine('  ).then(f', 'javascript').closers, [')']); // closes a bracket of an earlier line
  });

  it('cursor kinds: end of line (nothing open, the rest deleted) and mid-line (the auto-closed closers kept)', function () {
    assert.deepStrictEqual(cursorAt('if resp.status_code not in (200, 201):', 3, 'python', 'eol'), { truth: 'resp.status_code not in (200, 201):', after: '' });
    assert.strictEqual(cursorAt('foo(bar, baz)', 5, 'python', 'eol'), undefined); // `(` open: mid-line
    assert.deepStrictEqual(cursorAt('foo(bar[1], baz)', 8, 'python', 'mid'), { truth: '1', after: '])' });
    assert.deepStrictEqual(cursorAt('foo(bar, baz) + 1', 5, 'python', 'mid'), { truth: 'ar, baz', after: ')' });
    assert.deepStrictEqual(cursorAt("import {a} from './unit.js';", 19, 'typescript', 'mid'), { truth: 'unit.js', after: "'" });
    assert.strictEqual(cursorAt('foo(bar,', 5, 'python', 'mid'), undefined); // not closed on this line
    assert.strictEqual(cursorAt('foo()', 4, 'python', 'mid'), undefined); // nothing left to type
    assert.strictEqual(cursorAt('x = 1  # a (comment)', 12, 'python', 'mid'), undefined);
  });

  it('code lines: not comments, docstrings or block comments, not the first five', function () {
    const py = ['a = 1', 'b = 2', 'c = 3', 'd = 4', 'e = 5', 'value = compute(1)', '    """Doc', '    string = 1', '    """', '# comment line', 'other = call(x)'].join('\n');
    assert.deepStrictEqual(codeLines(py, 'python'), [false, false, false, false, false, true, false, false, false, false, true]);
    const js = ['1', '2', '3', '4', '5', 'const x = f(1);', '/* block', 'not = code;', '*/', 'const y = g(2);'].join('\n');
    assert.deepStrictEqual(codeLines(js, 'javascript'), [false, false, false, false, false, true, false, false, false, true]);
  });

  it('draws the same cursors for a seed, each kind and language as asked', function () {
    const body = Array.from({ length: 40 }, (_, i) => `    value_${i} = compute(alpha, beta[${i}], "gamma")`).join('\n');
    const files: SourceFile[] = [
      { source: 'p', lang: 'python', path: 'a.py', text: body },
      { source: 'p', lang: 'python', path: 'b.py', text: body },
      { source: 't', lang: 'typescript', path: 'a.ts', text: body.replace(/^ {4}/gm, '  const ') + ';' },
      { source: 'j', lang: 'javascript', path: 'a.js', text: body.replace(/^ {4}/gm, '  let ') },
      { source: 'j', lang: 'javascript', path: 'b.js', text: body.replace(/^ {4}/gm, '  var ') },
    ];
    const a = pickCases(files, 4, 7);
    assert.deepStrictEqual(a, pickCases(files, 4, 7));
    assert.notDeepStrictEqual(a.map((c) => c.character), pickCases(files, 4, 8).map((c) => c.character));
    const count = (lang: string, kind: string) => a.filter((c) => c.lang === lang && c.kind === kind).length;
    assert.deepStrictEqual([count('python', 'mid'), count('python', 'eol'), count('typescript', 'mid'), count('javascript', 'eol')], [4, 4, 2, 2]);
    for (const c of a) {
      const line = c.text.split('\n')[c.line];
      assert.strictEqual(line, c.linePrefix + c.after);
      assert.ok(files.find((f) => f.path === c.file)!.text.split('\n')[c.line].startsWith(c.linePrefix + c.truth));
    }
    const r = seededRandom(1);
    assert.ok([r(), r(), r()].every((x) => x >= 0 && x < 1));

    // the files open beside a case: other files of its package only, distinct, as many as there are
    const more = [...files, { source: 'p', lang: 'python' as const, path: 'c.py', text: body }, { source: 'p', lang: 'python' as const, path: 'd.py', text: body }];
    const open = pickNeighbors(more, a, 2, 7);
    assert.deepStrictEqual(open, pickNeighbors(more, a, 2, 7));
    a.forEach((c, i) => {
      assert.strictEqual(open[i].length, c.source === 'p' ? 2 : c.source === 'j' ? 1 : 0);
      assert.ok(open[i].every((f) => f.source === c.source && f.path !== c.file));
      assert.strictEqual(new Set(open[i]).size, open[i].length);
    });
    assert.ok(pickNeighbors(more, a, 0, 7).every((o) => o.length === 0));
  });

  it('AUC: 1 when every right one scores above every wrong one, 0.5 for ties, NaN without both', function () {
    assert.strictEqual(auc([0.9, 0.8, 0.1], [true, true, false]), 1);
    assert.strictEqual(auc([0.1, 0.9], [true, false]), 0);
    assert.strictEqual(auc([0.5, 0.5], [true, false]), 0.5);
    assert.ok(Number.isNaN(auc([0.5], [true])));
  });
});
