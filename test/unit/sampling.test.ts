import * as assert from 'assert';
import { Rng } from '../../server/engine/random';
import { argmax, sampleToken } from '../../server/engine/sampling';

describe('sampling', function () {
  const logits = Float32Array.from([0.1, 2.0, 1.9, -3, 0.5]);

  it('greedy picks the first maximum', function () {
    assert.strictEqual(sampleToken(logits, { temperature: 0, topK: 0, topP: 1 }, new Rng(1)), 1);
    assert.strictEqual(argmax(Float32Array.from([1, 3, 3])), 1);
  });

  it('is reproducible for a seed and varies across seeds', function () {
    const opts = { temperature: 1, topK: 0, topP: 1 };
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 50 }, () => sampleToken(logits, opts, rng));
    };
    assert.deepStrictEqual(draw(3), draw(3));
    assert.notDeepStrictEqual(draw(3), draw(4));
  });

  it('top-k and top-p restrict the candidates', function () {
    const rng = new Rng(9);
    for (let i = 0; i < 200; i++) {
      assert.ok([1, 2].includes(sampleToken(logits, { temperature: 1, topK: 2, topP: 1 }, rng)));
      assert.ok([1, 2].includes(sampleToken(logits, { temperature: 1, topK: 0, topP: 0.6 }, rng)));
    }
  });

  it('truncated normal stays within three standard deviations', function () {
    const rng = new Rng(5);
    let sum = 0;
    for (let i = 0; i < 10000; i++) {
      const z = rng.truncatedNormal(2);
      assert.ok(Math.abs(z) <= 6);
      sum += z * z;
    }
    const std = Math.sqrt(sum / 10000);
    assert.ok(std > 1.8 && std < 2.0, `std ${std}`); // 2 * 0.9866 for the truncated law
  });
});
