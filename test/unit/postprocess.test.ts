import * as assert from 'assert';
import { postprocess } from '../../server/lsp/postprocess';
import { spansLines } from '../../server/protocol';

const at = (linePrefix: string, lineSuffix = '', budgetAllows = true) => ({ linePrefix, lineSuffix, multiline: spansLines(budgetAllows, lineSuffix) });

describe('completion post-processing', function () {
  it('keeps one line when multi-line is not allowed or text follows the cursor', function () {
    assert.strictEqual(postprocess('a + b\n    c', at('x = ', '', false)), 'a + b');
    assert.strictEqual(postprocess('a\nb', at('f(', ')')), 'a');
  });

  it('stops at a blank line', function () {
    assert.strictEqual(postprocess('(a, b):\n    return a\n\ndef g():', at('def f')), '(a, b):\n    return a');
  });

  it('stops when indentation drops below the cursor line', function () {
    const raw = 'total += x\n    print(total)\nreturn total\n';
    assert.strictEqual(postprocess(raw, at('    ')), 'total += x\n    print(total)');
  });

  it('does not repeat the text after the cursor', function () {
    assert.strictEqual(postprocess('a, b)', at('f(', ')')), 'a, b');
    assert.strictEqual(postprocess('x]', at('v[', ']  ')), 'x');
  });

  it('cuts at a closing bracket that closes nothing', function () {
    assert.strictEqual(postprocess('a + b) * 2', at('y = ')), 'a + b');
    assert.strictEqual(postprocess('1, 2) + g(3)', at('f(')), '1, 2) + g(3)');
    assert.strictEqual(postprocess('x]', at('f(')), 'x');
  });

  it("ends before the closers and quotes the editor put after the cursor", function () {
    // `iter(se|)`: the line already has the `)`; a completion that writes it and goes on stops there.
    assert.strictEqual(postprocess('lf):', at('for c in iter(se', ')')), 'lf');
    assert.strictEqual(postprocess('x], y)', at('f(a[', '])')), 'x');
    assert.strictEqual(postprocess('kages.{target}"] = x', at('m[f"requests.pac', '"]')), 'kages.{target}');
    assert.strictEqual(postprocess("it\\'s' + b", at("s = 'x", "'")), "it\\'s");
    // Not inside a string the line opened, or a closer that closes nothing before the cursor: as before.
    assert.strictEqual(postprocess('a, "b")', at('f(', ')')), 'a, "b"');
    assert.strictEqual(postprocess('1, 2', at('x = ', '"')), '1, 2');
    assert.strictEqual(postprocess('(a) + b', at('y = ', ')')), '(a) + b');
  });

  it('keeps one instance of a degenerate loop', function () {
    assert.strictEqual(postprocess(' 1, 1, 1, 1, 1, 1, 1', at('f(')), ' 1,');
    assert.strictEqual(postprocess('abababab', at('x = ')), 'ab');
    assert.strictEqual(postprocess('a = [0, 1, 2, 3]', at('')), 'a = [0, 1, 2, 3]');
    assert.strictEqual(postprocess('# ' + '='.repeat(10), at('')), '# ' + '='.repeat(10));
    assert.strictEqual(postprocess('x' + '-'.repeat(40), at('')), 'x-');
  });

  it('cuts at control and replacement characters', function () {
    assert.strictEqual(postprocess('abc\u0007def', at('x = ')), 'abc');
    assert.strictEqual(postprocess('ok\ufffd\ufffd', at('x = ')), 'ok');
    assert.strictEqual(postprocess('a\tb', at('x = ')), 'a\tb');
  });

  it('trims trailing whitespace and returns empty for nothing useful', function () {
    assert.strictEqual(postprocess('return 1   \n\n', at('    ')), 'return 1');
    assert.strictEqual(postprocess('\nfoo', at('x = 1', '', false)), '');
  });
});
