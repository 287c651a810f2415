import * as assert from 'assert';
import { CompletionCache } from '../../server/lsp/completionCache';

describe('completion cache', function () {
  const entry = { prefix: 'def f(', suffix: '', budgetKey: 'k', text: 'a, b):', info: 1 };

  it('serves an identical request and typed-ahead text', function () {
    const c = new CompletionCache<number>();
    c.put(entry);
    assert.strictEqual(c.get('def f(', '', 'k')?.text, 'a, b):');
    assert.strictEqual(c.get('def f(a, ', '', 'k')?.text, 'b):');
  });

  it('misses when the typed text diverges, the suffix or the budget differ, or nothing is left', function () {
    const c = new CompletionCache<number>();
    c.put(entry);
    assert.strictEqual(c.get('def f(x', '', 'k'), undefined);
    assert.strictEqual(c.get('def f(', ')', 'k'), undefined);
    assert.strictEqual(c.get('def f(', '', 'deeper'), undefined);
    assert.strictEqual(c.get('def f(a, b):', '', 'k'), undefined);
  });

  it('is bounded', function () {
    const c = new CompletionCache<number>(3);
    for (let i = 0; i < 10; i++) c.put({ ...entry, prefix: `p${i}` });
    assert.strictEqual(c.size, 3);
    assert.strictEqual(c.get('p0', '', 'k'), undefined);
    assert.ok(c.get('p9', '', 'k'));
  });
});
