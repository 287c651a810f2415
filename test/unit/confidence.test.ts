// The confidence gate (server/lsp/confidence.ts): the calibrated confidence, the bar of automatic
// and explicit requests, and which start of the likeliest line passes it.
import * as assert from 'assert';
import { afterTyped, barFor, CALIBRATION, confidenceOf, gate, MIN_AUTOMATIC_CHARS, Piece } from '../../server/lsp/confidence';
import { DEFAULT_MIN_CONFIDENCE, EXPLICIT_CONFIDENCE_FACTOR } from '../../server/protocol';

const at = (linePrefix: string, lineSuffix = '') => ({ linePrefix, lineSuffix, multiline: false });
/** Pieces whose probabilities (not logs) are given. */
const pieces = (...ps: [string, number][]): Piece[] => ps.map(([text, p]) => ({ text, logProb: Math.log(p) }));
/** The probability whose calibrated confidence is `c`. */
const probFor = (c: number) => Math.exp((Math.log(c / (1 - c)) - CALIBRATION.a) / CALIBRATION.b);

describe('confidence gate', function () {
  it('the confidence is calibrated from the probability of the shown text: increasing, in [0, 1]', function () {
    const lps = [-40, -5, -2, -1, -0.5, -0.1, 0];
    const cs = lps.map(confidenceOf);
    cs.forEach((c, i) => assert.ok(c >= 0 && c <= 1 && (i === 0 || c > cs[i - 1]), String(cs)));
    assert.ok(Math.abs(confidenceOf(Math.log(probFor(0.5))) - 0.5) < 1e-9);
    assert.strictEqual(confidenceOf(-1e6), 0);
    assert.strictEqual(confidenceOf(NaN), 0);
  });

  it('automatic requests: the setting and at least MIN_AUTOMATIC_CHARS characters; explicit: a lower bar, any length; 0 turns it off', function () {
    assert.deepStrictEqual(barFor(0.6, false), { minConfidence: 0.6, minChars: MIN_AUTOMATIC_CHARS });
    assert.deepStrictEqual(barFor(0.6, true), { minConfidence: 0.6 * EXPLICIT_CONFIDENCE_FACTOR, minChars: 1 });
    assert.deepStrictEqual(barFor(0, false), { minConfidence: 0, minChars: 1 });
    assert.deepStrictEqual(barFor(0, true), { minConfidence: 0, minChars: 1 });
    assert.ok(EXPLICIT_CONFIDENCE_FACTOR < 1 && DEFAULT_MIN_CONFIDENCE > 0 && DEFAULT_MIN_CONFIDENCE < 1);
  });

  it('shows the longest start of the line whose confidence passes the bar, at piece boundaries', function () {
    // P: 'self' 0.95, then ', x' (0.95 x 0.5), then '):' (x 0.9).
    const line = pieces(['self', 0.95], [', x', 0.5], ['):', 0.9]);
    const c1 = confidenceOf(Math.log(0.95));
    const c2 = confidenceOf(Math.log(0.95 * 0.5));
    const c3 = confidenceOf(Math.log(0.95 * 0.5 * 0.9));
    assert.deepStrictEqual(gate(line, at('def f('), { minConfidence: 0, minChars: 1 }), { insertText: 'self, x):', confidence: c3 });
    assert.deepStrictEqual(gate(line, at('def f('), { minConfidence: c3, minChars: 1 }), { insertText: 'self, x):', confidence: c3 });
    assert.deepStrictEqual(gate(line, at('def f('), { minConfidence: (c2 + c3) / 2, minChars: 1 }), { insertText: 'self, x', confidence: c2 });
    assert.deepStrictEqual(gate(line, at('def f('), { minConfidence: c2 + 1e-9, minChars: 1 }), { insertText: 'self', confidence: c1 });
    // Even the first piece below the bar: nothing.
    assert.strictEqual(gate(line, at('def f('), { minConfidence: c1 + 1e-9, minChars: 1 }), undefined);
  });

  it('every shown text passes the bar it was gated at (a sweep of bars)', function () {
    const line = pieces(['re', 0.9], ['turn', 0.8], [' self', 0.6], ['.', 0.7], ['x', 0.3]);
    for (let bar = 0; bar <= 1; bar += 0.05) {
      const shown = gate(line, at('    '), { minConfidence: bar, minChars: 1 });
      if (shown) assert.ok(shown.confidence >= bar && 'return self.x'.startsWith(shown.insertText), `${bar}: ${JSON.stringify(shown)}`);
      else assert.ok(confidenceOf(Math.log(0.9)) < bar, String(bar));
    }
  });

  it('too short for an automatic request: a one-character text is not shown, a longer start is', function () {
    assert.strictEqual(gate(pieces([')', 0.99]), at('f(x'), barFor(0.5, false)), undefined);
    assert.deepStrictEqual(gate(pieces([')', 0.99]), at('f(x'), barFor(0.5, true))?.insertText, ')');
    assert.deepStrictEqual(gate(pieces([')', 0.99], [':', 0.99]), at('def f(x'), barFor(0.5, false))?.insertText, '):');
  });

  it('gates the post-processed text: a cut tail does not count against it, text past the cut is never shown', function () {
    // The line's `)` is already after the cursor: the ghost text ends before it, and so does the confidence.
    const line = pieces(['lf', 0.9], [')', 0.9], [':', 0.01]);
    assert.deepStrictEqual(gate(line, at('for c in iter(se', ')'), barFor(0.5, false)), { insertText: 'lf', confidence: confidenceOf(Math.log(0.9)) });
    assert.strictEqual(gate(pieces(['\n', 0.9]), at('x = 1'), barFor(0, false)), undefined);
  });

  it('a typed-ahead cache hit gates what is left: typed pieces drop, a piece typed in part keeps its probability', function () {
    const line = pieces(['re', 0.9], ['turn', 0.8], [' x', 0.5]);
    assert.deepStrictEqual(afterTyped(line, 0), line);
    assert.deepStrictEqual(afterTyped(line, 2), line.slice(1));
    assert.deepStrictEqual(afterTyped(line, 3), [{ text: 'urn', logProb: Math.log(0.8) }, line[2]]);
    assert.deepStrictEqual(afterTyped(line, 8), []);
  });
});
