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
    /** A stand-in for a GPU buffer's copy of `rows` rows, reference-counted, that records when it is freed. */
    const released: number[] = [];
    const copy = (rows: number): DeviceRows & { refs: () => number } => {
      let refs = 1;
      return {
        rows,
        bytes: rows * 16,
        refs: () => refs,
        retain: () => void refs++,
        release: () => {
          if (--refs === 0) released.push(rows);
        },
      };
    };

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
      assert.throws(() => layer.attachDevice(copy(9)), /device copy of 9 valid rows, only 2 present/);
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

    it("a run's new rows are held on the device only, and read back into JS memory on demand", function () {
      const cache = new KvCache(shape, 'full');
      runToken(cache, 0, 1);
      const [layer] = cache.coreLayers(0, 1);
      layer.writeDevice(1, copy(3)); // a run of two tokens after one cached
      assert.deepStrictEqual([layer.rows, layer.hostRows, layer.device?.valid], [3, 1, 3]);
      assert.throws(() => layer.past(3), /KV read of 3 rows, only 1 in JS memory \(3 present\)/);
      assert.throws(() => layer.write(2, 1, new Float32Array(2), new Float32Array(2)), /leaves a gap after 1 rows in JS memory/);
      assert.throws(() => layer.fillHost(1, 3, new Float32Array(6), new Float32Array(6)), /does not extend 1 host rows from 3 valid device rows/);
      layer.fillHost(1, 2, Float32Array.from([1, 2, 3, 4]), Float32Array.from([5, 6, 7, 8]));
      assert.deepStrictEqual(Array.from(layer.past(3).key.subarray(2)), [1, 2, 3, 4]);
      assert.strictEqual(layer.device?.valid, 3, 'a read-back changes nothing on the device');
      cache.truncate(0);
      layer.releaseDevice();
    });

    it('fills for tokens that exited early are listed per source, in order', function () {
      const cache = new KvCache(shape, 'full');
      runToken(cache, 0, 4);
      runToken(cache, 1, 2);
      runToken(cache, 2, 2);
      runToken(cache, 3, 3);
      const fills = cache.coreFills(3, 4);
      const [deep0, deep1] = cache.coreLayers(3, 0);
      const [two0, two1] = cache.coreLayers(1, 4);
      const [three0, three1] = cache.coreLayers(2, 4);
      assert.deepStrictEqual(
        fills.map((f) => [f.layer, f.from, f.to, f.src]),
        [
          [deep0, 1, 3, two0],
          [deep0, 3, 4, three0],
          [deep1, 1, 3, two1],
          [deep1, 3, 4, three1],
        ],
      );
    });

    it('saved beam rows hold their own reference to a device copy', function () {
      released.length = 0;
      const cache = new KvCache(shape, 'full');
      runToken(cache, 0, 1);
      runToken(cache, 1, 1);
      const layers = cache.coreLayers(0, 2);
      const branchA = layers.map((l) => {
        const c = copy(2);
        l.writeDevice(1, c);
        return c;
      });
      const saved = cache.saveRows(1);
      assert.deepStrictEqual(branchA.map((c) => c.refs()), [2, 2]);
      cache.truncate(1);
      layers.forEach((l) => l.writeDevice(1, copy(2))); // branch b replaces the layers' copies
      assert.deepStrictEqual(branchA.map((c) => c.refs()), [1, 1]);
      cache.restoreRows(saved);
      assert.deepStrictEqual(cache.iterationsPerToken, [1, 1]);
      assert.ok(layers.every((l, i) => l.device?.rows === branchA[i] && l.device.valid === 2 && l.rows === 2));
      saved.release();
      saved.release(); // once only
      assert.deepStrictEqual(branchA.map((c) => c.refs()), [1, 1]);
      released.length = 0;
      cache.releaseDevice();
      assert.deepStrictEqual(released, [2, 2]);
    });

    it('releasing the device copies drops the tokens whose rows only they held', function () {
      const cache = new KvCache(shape, 'full');
      runToken(cache, 0, 1);
      runToken(cache, 1, 1);
      cache.coreLayers(0, 2)[1].writeDevice(1, copy(2)); // token 1's row of one layer only on the device
      cache.releaseDevice();
      assert.strictEqual(cache.length, 1);
    });
  });
});
