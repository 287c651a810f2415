import * as assert from 'assert';
import { spansLines } from '../../server/protocol';
import { classifyCursor, markdownMath, scanToCursor, syntaxFor, unfinishedReason } from '../../src/cursorContext';

const at = (languageId: string, textBefore: string) => classifyCursor(textBefore, syntaxFor(languageId));

describe('cursor context', function () {
  it('comments: line, block (open across lines), closed block is code again', function () {
    assert.strictEqual(at('typescript', 'let a = 1; // the answer').region, 'comment');
    assert.strictEqual(at('typescript', '/**\n * Returns the').region, 'comment');
    assert.strictEqual(at('typescript', '/* done */ let a =').region, 'code');
    assert.strictEqual(at('python', 'x = 1  # note').region, 'comment');
    assert.strictEqual(at('sql', 'SELECT 1 -- why').region, 'comment');
    assert.strictEqual(at('latex', 'x^2 % a remark').region, 'comment');
    assert.strictEqual(at('lua', '--[[ long\ncomment').region, 'comment');
    assert.strictEqual(at('markdown', 'text <!-- hidden').region, 'comment');
  });

  it('a line comment ends with its line', function () {
    assert.strictEqual(at('typescript', '// note\nconst a =').region, 'code');
  });

  it('strings: quotes, escapes, multi-line literals', function () {
    assert.strictEqual(at('typescript', 'const s = "say \\"hi').region, 'string');
    assert.strictEqual(at('typescript', 'const s = "done";').region, 'code');
    assert.strictEqual(at('typescript', 'const t = `line one\nline two').region, 'string');
    assert.strictEqual(at('python', 'def f():\n    """Doc\n    more').region, 'string');
    assert.strictEqual(at('python', 's = """x""" + ').region, 'code');
    // An unterminated single-line string does not run into the next line.
    assert.strictEqual(at('typescript', 'const s = "oops\nconst b =').region, 'code');
  });

  it('language quirks: Rust lifetimes and prose apostrophes are not strings', function () {
    assert.strictEqual(at('rust', "fn f<'a>(x: &'a str) ->").region, 'code');
    assert.strictEqual(at('markdown', "It's a nice day and").region, 'code');
    assert.strictEqual(at('plaintext', "don't stop").region, 'code');
  });

  it('string delimiters stay in the code view; comments and string contents are blanked', function () {
    const { codeOnly } = scanToCursor('x = "a+b" // c =', syntaxFor('typescript'));
    assert.strictEqual(codeOnly.trimEnd(), 'x = "   "');
  });

  it('unfinished expressions: trailing operators, open brackets, keywords', function () {
    for (const line of ['a =', 'a +', 'f(', 'f(a,', 'xs = [', 'x =>', 'a &&', 'a ||', 'return', 'if x and', 'obj = {']) {
      assert.ok(unfinishedReason(line), line);
    }
    assert.strictEqual(unfinishedReason('call(\n  a,\n  b'), "unbalanced '(' before the cursor");
    for (const line of ['a = 1;', 'i++', 'x--', 'foo()', 'List<String>', 'x?', 'done.', 'function f() {\n  return 1;']) {
      assert.strictEqual(unfinishedReason(line), undefined, line);
    }
  });

  it('unfinished only in code of programming languages', function () {
    assert.ok(at('typescript', 'const a =').unfinished);
    assert.strictEqual(at('typescript', '// a =').unfinished, undefined);
    assert.strictEqual(at('markdown', 'a list -').unfinished, undefined);
    assert.strictEqual(at('plaintext', 'x =').unfinished, undefined);
  });

  it('end of line: only whitespace after the cursor (the multi-line rule)', function () {
    assert.strictEqual(spansLines(true, ''), true);
    assert.strictEqual(spansLines(true, '  \t'), true);
    assert.strictEqual(spansLines(true, ')'), false);
    assert.strictEqual(spansLines(false, ''), false);
  });

  it('unknown languages get a C-and-hash fallback', function () {
    assert.strictEqual(at('some-new-language', 'x = 1 # c').region, 'comment');
    assert.strictEqual(at('some-new-language', 'x = 1 // c').region, 'comment');
  });

  it('Markdown math: inside $…$, $$…$$, \\(…\\), \\[…\\]; nearby in the paragraph', function () {
    assert.strictEqual(markdownMath('where $x'), 'inside');
    assert.strictEqual(markdownMath('$$\na + b'), 'inside');
    assert.strictEqual(markdownMath('so \\(a + '), 'inside');
    assert.strictEqual(markdownMath('\\[\n\\sum_i'), 'inside');
    assert.strictEqual(markdownMath('with $x$ we'), 'nearby');
    assert.strictEqual(markdownMath('$x$ above\nand below'), 'nearby');
    assert.strictEqual(markdownMath('$x$ above\n\nnew paragraph'), undefined);
    assert.strictEqual(markdownMath('costs \\$5 only'), undefined);
    assert.strictEqual(markdownMath('no math here'), undefined);
  });
});
