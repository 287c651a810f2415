import * as assert from 'assert';
import { DEFAULT_THRESHOLDS, ExitEvaluator, validateExit } from '../../server/engine/exitRules';

const V = 4;
const h = 3;
const logitsOf = (p: number[]) => Float32Array.from(p.map(Math.log));

describe('adaptive exit rules', function () {
  it('kl: KL(previous || current), starting from the uniform distribution', function () {
    const e = new ExitEvaluator({ criterion: 'kl' }, new Float32Array(h), V, h);
    const p = [0.7, 0.1, 0.1, 0.1];
    const first = e.check(new Float32Array(h), logitsOf(p));
    const expected = p.reduce((s, pi) => s + 0.25 * (Math.log(0.25) - Math.log(pi)), 0);
    assert.ok(Math.abs(first.value - expected) < 1e-6);
    assert.strictEqual(first.exit, false);
    const same = e.check(new Float32Array(h), logitsOf(p));
    assert.ok(same.value < 1e-9 && same.exit);
    assert.strictEqual(e.threshold, DEFAULT_THRESHOLDS.kl);
  });

  it('minp-kl: probabilities below a tenth of the max are flattened before the KL', function () {
    const e = new ExitEvaluator({ criterion: 'minp-kl', threshold: 1e-5 }, new Float32Array(h), V, h);
    e.check(new Float32Array(h), logitsOf([0.9, 0.05, 0.03, 0.02]));
    // Only the small probabilities change: after min-p filtering both distributions are equal.
    const r = e.check(new Float32Array(h), logitsOf([0.9, 0.02, 0.05, 0.03]));
    assert.ok(r.value < 1e-12 && r.exit);
  });

  it('entropy-diff, argmax-stability, latent-diff and cosine', function () {
    const ent = new ExitEvaluator({ criterion: 'entropy-diff' }, new Float32Array(h), V, h);
    assert.strictEqual(ent.check(new Float32Array(h), logitsOf([0.25, 0.25, 0.25, 0.25])).exit, false); // from 100
    assert.strictEqual(ent.check(new Float32Array(h), logitsOf([0.25, 0.25, 0.25, 0.25])).exit, true);

    const arg = new ExitEvaluator({ criterion: 'argmax-stability', threshold: 2 }, new Float32Array(h), V, h);
    const l = logitsOf([0.1, 0.6, 0.2, 0.1]);
    assert.deepStrictEqual([1, 2, 3].map(() => arg.check(new Float32Array(h), l).exit), [false, false, true]);

    const lat = new ExitEvaluator({ criterion: 'latent-diff', threshold: 0.1 }, Float32Array.from([1, 0, 0]), V, h);
    const r1 = lat.check(Float32Array.from([0, 1, 0]), undefined);
    assert.ok(Math.abs(r1.value - Math.SQRT2) < 1e-9 && !r1.exit);
    assert.ok(lat.check(Float32Array.from([0, 1.01, 0]), undefined).exit);
    assert.strictEqual(lat.needsLogits, false);

    const cos = new ExitEvaluator({ criterion: 'cosine', threshold: 1e-3 }, Float32Array.from([1, 0, 0, 1, 0, 0]), V, h);
    const rc = cos.check(Float32Array.from([2, 0, 0, 0, 1, 0]), undefined); // two rows: 0 and 1 -> mean 0.5
    assert.ok(Math.abs(rc.value - 0.5) < 1e-9);
  });

  it('is consulted only from minSteps on', function () {
    const e = new ExitEvaluator({ criterion: 'kl', minSteps: 3 }, new Float32Array(h), V, h);
    assert.deepStrictEqual([0, 1, 2, 3, 4].map((k) => e.consulted(k)), [false, false, false, true, true]);
    assert.strictEqual(new ExitEvaluator({ criterion: 'none' }, new Float32Array(h), V, h).consulted(5), false);
  });

  it('checkEvery n consults every n-th iteration from minSteps on, and rejects a bad n', function () {
    const e = new ExitEvaluator({ criterion: 'kl', minSteps: 1, checkEvery: 3 }, new Float32Array(h), V, h);
    assert.deepStrictEqual([0, 1, 2, 3, 4, 5, 6, 7].map((k) => e.consulted(k)), [false, false, false, true, false, false, true, false]);
    for (const checkEvery of [0, 1.5, -2]) assert.throws(() => validateExit({ criterion: 'kl', checkEvery }), /checkEvery must be a positive integer/);
  });
});
