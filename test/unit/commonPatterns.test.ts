// The common-pattern set of bench:completions is sound: each usual completion makes its file valid
// code, no file is valid with its line left unfinished, and the plausibility check (a real parser:
// Python's compile(), V8's through vm.Script) tells finished lines from junk.
import * as assert from 'assert';
import { checkPatterns, PATTERNS, plausible } from '../bench/commonPatterns';

describe('common code patterns (bench:completions)', function () {
  it('every usual completion parses; no unfinished line does', function () {
    this.timeout(30_000);
    checkPatterns();
    assert.ok(PATTERNS.some((p) => p.lang === 'python') && PATTERNS.some((p) => p.lang === 'javascript'));
  });

  it('plausible: the usual completion and other valid endings pass; junk and empty text do not', function () {
    this.timeout(30_000);
    const at = (start: string) => PATTERNS.findIndex((p) => p.before.endsWith(start));
    const cases: [number, string, boolean][] = [
      [at('for i in range('), '10):', true],
      [at('for i in range('), 'len(values)):', true],
      [at('for i in range('), "self, 'f8'", false],
      [at('for i in range('), '', false],
      [at('const fs = require('), "'fs');", true],
      [at('const fs = require('), "'./_.is80", false],
      [at('} catch ('), ') {', false],
    ];
    assert.ok(cases.every(([i]) => i >= 0));
    const texts = PATTERNS.map(() => '');
    const got = cases.map(([i, text]) => plausible(texts.map((t, k) => (k === i ? text : t)))[i]);
    assert.deepStrictEqual(got, cases.map(([, , want]) => want));
  });
});
