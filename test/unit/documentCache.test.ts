import * as assert from 'assert';
import { DocumentCache, documentTokens, MAX_PIECES } from '../../server/engine/documentCache';
import { logSoftmax } from '../../server/engine/sampling';

const V = 8;
const flat = () => new Float32Array(V); // the model's own distribution: uniform
const probs = (lp: Float32Array) => Array.from(lp, Math.exp);

describe('document cache', function () {
  it('mixes in what followed the longest earlier match of the tail, weighted by its length', function () {
    // 0 [1 2 3] 4 5 [1 2 3] 5 7 [2 3] 6, then the text ends with 7 1 2 3: two three-token
    // matches (a fourth token differs) and a two-token one
    const doc = [0, 1, 2, 3, 4, 5, 1, 2, 3, 5, 7, 2, 3, 6, 7, 1, 2, 3];
    const p = probs(new DocumentCache(doc).mix(flat(), []));
    assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    // length-3 matches are followed by 4 and 5 (weight 0.5, split); 6 follows only a shorter one
    assert.ok(Math.abs(p[4] - (0.5 / V + 0.25)) < 1e-5, String(p[4]));
    assert.ok(Math.abs(p[5] - p[4]) < 1e-6);
    assert.ok(Math.abs(p[6] - 0.5 / V) < 1e-6);
    // the generated tokens extend the text the tail is taken from
    const q = probs(new DocumentCache(doc.slice(0, 14)).mix(flat(), [7, 1, 2, 3]));
    assert.ok(Math.abs(q[4] - p[4]) < 1e-5);
  });

  it('finds matches after the cursor too', function () {
    // before the cursor: ... 1 2; after it: 1 2 5 ... (a match that ends at the last token after
    // the cursor has no follower)
    const p = probs(new DocumentCache([0, 3, 1, 2], [4, 1, 2, 5, 6, 1, 2]).mix(flat(), []));
    assert.ok(Math.abs(p[5] - (0.7 / V + 0.3)) < 1e-5, String(p[5]));
    assert.ok(Math.abs(p[6] - 0.7 / V) < 1e-6);
  });

  it('finds matches in other open documents, the longest match anywhere winning', function () {
    // the text ends with 1 2; another document has 1 2 5 and a third 0 1 2 6, where the text
    // itself has 0 1 2 first: the three-token match in the third document wins
    const p = probs(new DocumentCache([0, 1, 2], [], [[1, 2, 5], [3, 0, 1, 2, 6]]).mix(flat(), []));
    assert.ok(Math.abs(p[6] - (0.5 / V + 0.5)) < 1e-5, String(p[6]));
    assert.ok(Math.abs(p[5] - 0.5 / V) < 1e-6);
    // two-token matches in the text and another document count alike
    const q = probs(new DocumentCache([1, 2, 4, 1, 2], [], [[1, 2, 5]]).mix(flat(), []));
    assert.ok(Math.abs(q[4] - q[5]) < 1e-6 && Math.abs(q[4] - (0.7 / V + 0.15)) < 1e-5, String(q[4]));
  });

  it('adds nothing for a one-token match and keeps masked tokens masked', function () {
    const logits = Float32Array.from([1, 2, 3, 0, 0, 0, 0, 0]);
    // the tail (token 5) occurred once, followed by 6: a one-token match
    assert.strictEqual(new DocumentCache([5, 6, 0, 5]).mix(logits, []), logits);
    // under a mask (token healing's), the document's own allowed tokens get the no-match weight
    const masked = Float32Array.from([1, -Infinity, 3, -Infinity, 0, 0, -Infinity, 0]);
    const p = probs(new DocumentCache([6, 6, 2, 1, 4]).mix(masked, []));
    for (const t of [1, 3, 6]) assert.strictEqual(p[t], 0);
    const model = probs(Float32Array.from(logSoftmax(masked)));
    assert.ok(Math.abs(p[2] - (0.8 * model[2] + 0.1)) < 1e-5);
    assert.ok(Math.abs(p[4] - (0.8 * model[4] + 0.1)) < 1e-5);
    assert.ok(Math.abs(p[0] - 0.8 * model[0]) < 1e-6);
  });

  it('skips followers the mask forbids and falls back to shorter matches', function () {
    // 1 2 -> 3 (forbidden), 2 -> 4 only one token long: nothing but the masked fallback
    const masked = Float32Array.from([0, 0, 0, -Infinity, 0, 0, 0, 0]);
    const p = probs(new DocumentCache([1, 2, 3, 0, 2, 4, 1, 2]).mix(masked, []));
    assert.strictEqual(p[3], 0);
    // the fallback: the document's allowed tokens (1, 2, 0, 2, 4, 1, 2: seven) share 0.2
    const model = 1 / 7;
    assert.ok(Math.abs(p[2] - (0.8 * model + (0.2 * 3) / 7)) < 1e-5, String(p[2]));
  });

  it('tokenizes a document in remembered pieces of 16 lines', function () {
    const encoded: string[] = [];
    // a stand-in tokenizer: one id per character, recording what it was asked to encode
    const tokenizer = { encodeUntrusted: (t: string) => (encoded.push(t), Array.from(t, (c) => c.charCodeAt(0))) };
    const lines = Array.from({ length: 40 }, (_, i) => `line ${i}\n`);
    const text = lines.join('') + 'x = ';
    assert.deepStrictEqual(documentTokens(tokenizer, text), Array.from(text, (c) => c.charCodeAt(0)));
    assert.deepStrictEqual(encoded, [lines.slice(0, 16).join(''), lines.slice(16, 32).join(''), lines.slice(32).join('') + 'x = ']);
    // a keystroke at the end: only the last piece is tokenized again
    encoded.length = 0;
    documentTokens(tokenizer, text + 'f');
    assert.deepStrictEqual(encoded, [lines.slice(32).join('') + 'x = f']);
  });

  it('keeps the pieces of documents in use when the memo turns over, and drops the others', function () {
    const encoded: string[] = [];
    const tokenizer = { encodeUntrusted: (t: string) => (encoded.push(t), [t.length]) };
    const open = Array.from({ length: 40 }, (_, i) => `open ${i}\n`).join('');
    documentTokens(tokenizer, open);
    documentTokens(tokenizer, 'typed once\n');
    // keystrokes in another document: a new piece each, for three turnovers of the memo, while
    // the open document is read at every request
    for (let k = 0; k < 3 * MAX_PIECES; k++) {
      documentTokens(tokenizer, `x = ${k}`);
      if (k % 100 === 0) documentTokens(tokenizer, open);
    }
    encoded.length = 0;
    documentTokens(tokenizer, open);
    assert.deepStrictEqual(encoded, []);
    documentTokens(tokenizer, 'typed once\n');
    assert.deepStrictEqual(encoded, ['typed once\n']);
  });
});
