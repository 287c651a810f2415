import * as assert from 'assert';
import { GenerateResult } from '../../server/engine/generate';
import { intraOpThreads } from '../../server/engine/huginnModel';
import { ServingLimits } from '../../server/lsp/servingLimits';

const result = (tokens: number, decodeMs: number) => ({ ids: Array(tokens).fill(1), decodeMs }) as GenerateResult;

describe('serving limits of a loaded engine', function () {
  it('keeps the beam width until a step is measured, and while the beams fit half the time cap', function () {
    const limits = new ServingLimits();
    assert.strictEqual(limits.beamWidth(4, 8, 2000), 4);
    limits.record(result(3, 36), 8, 4); // 3 ms a forward: 4 beams x 8 tokens = 96 ms
    assert.strictEqual(limits.beamWidth(4, 8, 2000), 4);
    assert.strictEqual(limits.beamWidth(4, 4, 2000), 4, 'another depth is not measured yet');
  });

  it('falls back to greedy where the beams would not fit (huginn-0125 on a CPU)', function () {
    const limits = new ServingLimits();
    limits.record(result(2, 7000), 4, 4); // 875 ms a forward
    assert.strictEqual(limits.beamWidth(4, 4, 10000), 1);
    assert.strictEqual(limits.beamWidth(1, 4, 10000), 1);
    limits.record(result(0, 0), 4, 1); // nothing decoded: nothing learnt
    assert.strictEqual(limits.beamWidth(4, 4, 10000), 1);
  });

  it('a KV ceiling within its bounds', function () {
    const bytes = new ServingLimits().kvCeilingBytes;
    assert.ok(bytes >= 256 * 2 ** 20 && bytes <= 16 * 2 ** 30, `${bytes}`);
  });

  it('one intra-op thread for a small model, every core for a large one', function () {
    assert.strictEqual(intraOpThreads(6e6), 1);
    assert.ok(intraOpThreads(2.3e9) >= 1);
    assert.strictEqual(intraOpThreads(2.3e9), require('os').availableParallelism());
  });
});
