import * as assert from 'assert';
import { GenerateResult } from '../../server/engine/generate';
import { intraOpThreads } from '../../server/engine/huginnModel';
import { ServingLimits } from '../../server/lsp/servingLimits';

/** A small model's cost: far below a millisecond a token. */
const COST = { outerMs: 0.05, iterationMs: 0.02 };
const result = (tokens: number, decodeMs: number) => ({ ids: Array(tokens).fill(1), decodeMs }) as GenerateResult;

describe('serving limits of a loaded engine', function () {
  it('keeps the beam width until a step is measured, and while the beams fit half the time cap', function () {
    const limits = new ServingLimits(COST);
    assert.strictEqual(limits.beamWidth(4, 8, 2000), 4);
    limits.record(result(3, 36), 8, 4); // 3 ms a forward: 4 beams x 8 tokens = 96 ms
    assert.strictEqual(limits.beamWidth(4, 8, 2000), 4);
    assert.strictEqual(limits.beamWidth(4, 4, 2000), 4, 'another depth is not measured yet');
  });

  it('falls back to greedy where the beams would not fit (huginn-0125 on a CPU)', function () {
    const limits = new ServingLimits(COST);
    limits.record(result(2, 7000), 4, 4); // 875 ms a forward
    assert.strictEqual(limits.beamWidth(4, 4, 10000), 1);
    assert.strictEqual(limits.beamWidth(1, 4, 10000), 1);
    limits.record(result(0, 0), 4, 1); // nothing decoded: nothing learnt
    assert.strictEqual(limits.beamWidth(4, 4, 10000), 1);
  });

  it('caps a cursor prompt at what 45 s of prompt pass take in, as a power of two, never below 128', function () {
    // huginn-0125 int4 on 2 cores: ~50 ms outside the core, ~25 ms a core iteration per token.
    const full = new ServingLimits({ outerMs: 50, iterationMs: 25 });
    assert.strictEqual(full.maxPromptTokens(4), 256); // 45000 / 150 = 300
    assert.strictEqual(full.maxPromptTokens(8), 128); // 45000 / 250 = 180
    assert.strictEqual(full.maxPromptTokens(32), 128); // floor
    assert.ok(new ServingLimits(COST).maxPromptTokens(8) >= 2 ** 17, 'the default model is not capped below its context');
    assert.strictEqual(new ServingLimits({ outerMs: 0, iterationMs: 0 }).maxPromptTokens(8), Infinity);
  });

  it('a KV ceiling within its bounds', function () {
    const bytes = new ServingLimits(COST).kvCeilingBytes;
    assert.ok(bytes >= 256 * 2 ** 20 && bytes <= 16 * 2 ** 30, `${bytes}`);
  });

  it('one intra-op thread for a small model, every core for a large one', function () {
    assert.strictEqual(intraOpThreads(6e6), 1);
    assert.ok(intraOpThreads(2.3e9) >= 1);
    assert.strictEqual(intraOpThreads(2.3e9), require('os').availableParallelism());
  });
});
