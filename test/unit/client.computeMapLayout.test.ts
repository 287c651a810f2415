import * as assert from 'assert';
import { layoutTokens, SHADES, shadeOf } from '../../src/computeMapLayout';

describe('compute map layout', function () {
  const tokens = [
    { text: 'return', iterations: 32 },
    { text: ' ', iterations: 2 },
    { text: 'x', iterations: 8 },
  ];

  it('spans follow the tokens from the start of the generated text; blanks get no span', function () {
    const spans = layoutTokens('return x', 0, tokens, 32);
    assert.deepStrictEqual(spans.map((s) => [s.start, s.end, s.iterations]), [[0, 6, 32], [7, 8, 8]]);
    assert.strictEqual(spans[0].intensity, 1);
    assert.strictEqual(spans[1].intensity, 0.25);
  });

  it('skips text the user had typed before the cursor (range starting before it)', function () {
    const spans = layoutTokens('  return x', 2, tokens, 32);
    assert.deepStrictEqual(spans.map((s) => [s.start, s.end]), [[2, 8], [9, 10]]);
  });

  it('finds the tokens when the server post-processed the start of the text', function () {
    const spans = layoutTokens('x = return x', 0, tokens, 32);
    assert.deepStrictEqual(spans.map((s) => [s.start, s.end]), [[4, 10], [11, 12]]);
  });

  it('clips to a text shorter than the tokens (cut at a line end)', function () {
    const spans = layoutTokens('retu', 0, tokens, 32);
    assert.deepStrictEqual(spans.map((s) => [s.start, s.end]), [[0, 4]]);
  });

  it('shades: 0 for no iterations, SHADES-1 for the full budget, clamped above', function () {
    assert.strictEqual(shadeOf(0), 0);
    assert.strictEqual(shadeOf(1), SHADES - 1);
    assert.strictEqual(shadeOf(0.5), 2);
    assert.strictEqual(layoutTokens('ab', 0, [{ text: 'ab', iterations: 99 }], 8)[0].shade, SHADES - 1);
    assert.strictEqual(layoutTokens('ab', 0, [{ text: 'ab', iterations: 3 }], 0)[0].intensity, 0);
  });
});
