import * as assert from 'assert';
import { DeviceRows, KvCache, parseKvStrategy } from '../../server/engine/kvCache';

const shape = { preludeLayers: 1, coreLayers: 2, codaLayers: 1, rowSize: 2 };

/** Writes token `pos` at iterations 0..ran-1 with values that encode (pos, k, j). */
function runToken(cache: KvCache, pos: number, ran: number): void {
  for (let k = 0; k < ran; k++) {
    cache.coreLayers(k, pos).forEach((layer, j) => {
      const v = Float32Array.from([pos * 100 + k * 10 + j, -1]);
      layer.write(pos, 1, v, v);
    });
  }
  cache.commit(1, ran);
}

describe('KV cache', function () {
  it('reads a token that exited early from its last iteration at the same layer (latest)', function () {
    const cache = new KvCache(shape, 'full');
    runToken(cache, 0, 4);
    runToken(cache, 1, 2); // exited after 2 iterations
    runToken(cache, 2, 3);
    const layers = cache.coreLayers(3, 3); // iteration 3 needs rows for positions 0..2
    assert.deepStrictEqual(Array.from(layers[0].past(3).key.filter((_, i) => i % 2 === 0)), [30, 110, 220]);
    assert.deepStrictEqual(Array.from(layers[1].past(3).key.filter((_, i) => i % 2 === 0)), [31, 111, 221]);
    assert.deepStrictEqual(cache.iterationsPerToken, [4, 2, 3]);
  });

  it('skip masks the tokens that did not reach an iteration', function () {
    const cache = new KvCache(shape, 'skip');
    runToken(cache, 0, 4);
    runToken(cache, 1, 2);
    assert.strictEqual(cache.skipMask(1, 2), undefined);
    assert.deepStrictEqual(cache.skipMask(2, 2), [false, true]);
  });

  it('compress-s keeps a fixed number of slots: memory per token does not grow with iterations', function () {
    const perToken = (steps: number, strategy: string) => {
      const cache = new KvCache(shape, parseKvStrategy(strategy));
      for (let t = 0; t < 5; t++) runToken(cache, t, steps);
      return cache.usedBytes / cache.length;
    };
    assert.strictEqual(perToken(8, 'compress-s4'), perToken(32, 'compress-s4'));
    assert.ok(perToken(32, 'full') > 3 * perToken(8, 'full'));
    // Slot (k * L + j) mod n: with n = 4 and 2 layers, iterations k and k + 2 share storage.
    const cache = new KvCache(shape, 'compress-s4');
    runToken(cache, 0, 3);
    assert.strictEqual(cache.coreLayers(0, 1)[1].past(1).key[0], 21); // iteration 2 overwrote iteration 0
  });

  it('truncate forgets tokens and uncommitted rows', function () {
    const cache = new KvCache(shape, 'full');
    runToken(cache, 0, 2);
    runToken(cache, 1, 2);
    cache.coreLayers(0, 2)[0].write(2, 1, Float32Array.from([9, 9]), Float32Array.from([9, 9])); // in flight
    cache.truncate(1);
    assert.strictEqual(cache.length, 1);
    assert.strictEqual(cache.coreLayers(0, 1)[0].rows, 1);
  });

  it('rejects unknown strategies', function () {
    assert.throws(() => parseKvStrategy('compress-x3'), /unknown KV cache strategy/);
    assert.strictEqual(parseKvStrategy('latest-m4'), 'latest');
  });

  it('saveRows/restoreRows put back one branch after another ran from the same prefix', function () {
    const cache = new KvCache(shape, 'full');
    runToken(cache, 0, 3); // the shared prefix
    runToken(cache, 1, 2); // branch a
    const a = cache.saveRows(1);
    const rowsOf = () => [...cache.prelude, ...cache.coreLayers(2, cache.length), ...cache.coda].map((l) => Array.from(l.past(l.rows).key));
    const withA = rowsOf();
    cache.truncate(1);
    runToken(cache, 1, 3); // branch b: another token, deeper
    runToken(cache, 2, 1);
    cache.restoreRows(a);
    assert.deepStrictEqual(cache.iterationsPerToken, [3, 2]);
    assert.deepStrictEqual(rowsOf(), withA);
  });

  describe('device copies (the bookkeeping; the GPU path itself runs in webgpu.test.ts)', function () {
    /** A stand-in for a GPU buffer's copy of `rows` rows that records its release. */
    const released: number[] = [];
    const copy = (rows: number): DeviceRows => ({ rows, bytes: rows * 16, release: () => released.push(rows) });

    it('counts as valid only the rows the host has not changed since', function () {
      const cache = new KvCache(shape, 'full');
      for (let pos = 0; pos < 4; pos++) runToken(cache, pos, 2);
      const [layer] = cache.coreLayers(0, 4);
      layer.attachDevice(copy(4));
      assert.deepStrictEqual(layer.device?.valid, 4);
      runToken(cache, 4, 2); // appending leaves the copy's rows as they were
      assert.strictEqual(layer.device?.valid, 4);
      cache.truncate(3); // a rollback
      assert.strictEqual(layer.device?.valid, 3);
      layer.write(1, 1, new Float32Array(2), new Float32Array(2)); // an overwrite (a reused slot, restored beam rows)
      assert.strictEqual(layer.device?.valid, 1);
      assert.throws(() => layer.attachDevice(copy(9)), /device copy of 9 rows, only 2 present/);
    });

    it('a replaced or dropped copy is released, once', function () {
      released.length = 0;
      const cache = new KvCache(shape, 'full');
      for (let pos = 0; pos < 3; pos++) runToken(cache, pos, 2);
      const [a, b] = cache.coreLayers(1, 3);
      a.attachDevice(copy(2));
      a.attachDevice(copy(3)); // a run's present_* output replaces the copy it was fed
      b.attachDevice(copy(1));
      assert.deepStrictEqual(released, [2]);
      assert.strictEqual(cache.deviceBytes, (3 + 1) * 16);
      cache.releaseDevice();
      assert.deepStrictEqual(released, [2, 3, 1]);
      assert.strictEqual(cache.deviceBytes, 0);
      assert.strictEqual(a.device, undefined);
      cache.releaseDevice();
      assert.deepStrictEqual(released, [2, 3, 1]);
    });
  });
});
