// Prompt passes that a large model can afford: chunked prefill computes what a one-shot prefill
// does, a cancelled or timed-out prompt pass keeps the chunks it finished and the next request
// continues from them, a background (prefill-only) pass leaves the whole prompt for the next
// request, and the cursor's window keeps its start while the user types at the end.
import * as assert from 'assert';
import { CancelSignal } from '../../server/engine/cancel';
import { Engine } from '../../server/engine/engine';
import { generate } from '../../server/engine/generate';
import { GenerateRequest } from '../../server/engine/generateRequest';
import { HuginnModel } from '../../server/engine/huginnModel';
import { PromptCache } from '../../server/engine/promptCache';
import { cursorPrompt, cursorWindow } from '../../server/engine/prompt';
import { forwardChunk, forwardChunked, prefillChunkTokens } from '../../server/engine/recurrence';
import { defaultModelDir } from '../../server/engine/modelResolver';
import { kvCeilingBytes } from '../../server/engine/memory';
import { builtModel } from '../helpers/reference';

/** A cancel signal that fires at its `n`-th poll: forwardChunk polls once before its prelude, once
 *  before each core iteration and once before its coda, so `n` picks a point inside a prompt pass
 *  deterministically. */
function cancelAtPoll(n: number): CancelSignal {
  let polls = 0;
  return {
    get cancelled() {
      return ++polls >= n;
    },
  };
}

describe('prefill: chunks, resumption, background passes, anchored windows', function () {
  let model: HuginnModel;
  const prompt = Array.from({ length: 40 }, (_, i) => (i * 37 + 11) % 1000);
  const req: GenerateRequest = { ids: prompt, steps: 4, maxTokens: 6, beams: 3, stop: [], prefillChunk: 8 };

  before(async function () {
    const dir = await builtModel({ nEmbd: 64, nHeads: 4, prelude: 1, core: 2, coda: 1, intermediate: 128, vocab: 1024, seed: 5 }, 'prefill');
    model = await HuginnModel.load(dir, { device: 'cpu', threads: 1 });
  });
  after(() => model?.release());

  it('a chunked prefill gives the logits of a one-shot prefill', async function () {
    const opts = { steps: 4, stateInit: 'random' as const, seed: 3, numLogits: 1 };
    const whole = await forwardChunk(model, model.newCache(), prompt, opts);
    for (const chunk of [1, 7, 8, 39]) {
      const cache = model.newCache();
      const chunked = await forwardChunked(model, cache, prompt, opts, chunk);
      assert.strictEqual(cache.length, prompt.length);
      let num = 0;
      let den = 0;
      for (let i = 0; i < whole.logits.length; i++) {
        num += (chunked.logits[i] - whole.logits[i]) ** 2;
        den += whole.logits[i] ** 2;
      }
      assert.ok(Math.sqrt(num / den) < 1e-5, `chunk ${chunk}: relative error ${Math.sqrt(num / den)}`);
    }
  });

  it('a cancelled prompt pass keeps its finished chunks, and the next request continues from them with the same result', async function () {
    const uninterrupted = await generate(model, req);
    const prompts = new PromptCache();
    // Cancelled inside the third chunk: polls per chunk are 1 + steps + 1.
    await assert.rejects(generate(model, req, () => {}, cancelAtPoll(2 * (req.steps + 2) + 3), prompts), /cancel/i);
    const resumed = await generate(model, req, () => {}, undefined, prompts);
    assert.strictEqual(resumed.reusedTokens, 16, 'two chunks of 8 were kept');
    assert.deepStrictEqual(resumed.ids, uninterrupted.ids);
    assert.strictEqual(resumed.logProb, uninterrupted.logProb, 'the beam score (a sum of log-probabilities) is bit-identical');
  });

  it('a prompt pass past its deadline answers "time" and keeps what it finished', async function () {
    // A deadline that leaves time for a few one-token chunks of the forty (measured on one).
    const t0 = performance.now();
    await forwardChunk(model, model.newCache(), prompt.slice(0, 1), { steps: 64, stateInit: 'random', seed: 0, numLogits: 1 });
    const chunkMs = performance.now() - t0;
    const prompts = new PromptCache();
    const late = await generate(model, { ...req, prefillChunk: 1, steps: 64, deadline: Date.now() + 4 * chunkMs }, () => {}, undefined, prompts);
    assert.strictEqual(late.finishReason, 'time');
    assert.strictEqual(late.ids.length, 0);
    const next = await generate(model, { ...req, prefillChunk: 1, steps: 64 }, () => {}, undefined, prompts);
    assert.ok(next.reusedTokens > 0 && next.reusedTokens < prompt.length, `${next.reusedTokens} tokens reused`);
  });

  it('a background prefill leaves all but the last prompt token for the request that follows', async function () {
    const prompts = new PromptCache();
    const warm = await generate(model, { ...req, prefillOnly: true }, () => {}, undefined, prompts);
    assert.deepStrictEqual(warm.ids, []);
    const next = await generate(model, req, () => {}, undefined, prompts);
    assert.strictEqual(next.reusedTokens, prompt.length - 1);
    assert.deepStrictEqual(next.ids, (await generate(model, req)).ids);
  });

  it('chunks are the whole prompt for a small model and about 16 tokens at huginn-0125 size', function () {
    assert.ok(prefillChunkTokens(model) >= model.cfg.blockSize);
    const full = { ...model, cfg: { ...model.cfg, nEmbd: 5280, intermediateSize: 17920, nLayersInRecurrentBlock: 4 } } as HuginnModel;
    assert.strictEqual(prefillChunkTokens(full), 15);
  });

  it('rejects a bad chunk size', async function () {
    await assert.rejects(generate(model, { ...req, prefillChunk: 0 }), /prefillChunk must be a positive integer/);
  });

  it('the cursor window keeps its start while the user types at the end', function () {
    const text = 'x'.repeat(5000);
    const starts = new Set<number>();
    for (let offset = 3000; offset < 3100; offset++) {
      const { prefix } = cursorWindow(text, offset, 2000, 0);
      assert.ok(prefix.length <= 2000 && prefix.length > 1500, `${prefix.length}`);
      starts.add(offset - prefix.length);
    }
    assert.ok(starts.size <= 2, `${starts.size} different starts in 100 keystrokes`);
    assert.strictEqual(cursorWindow('abc', 3, 2000, 0).prefix, 'abc');
  });

  it("a cursor prompt longer than the room is cut at an anchored start, so consecutive prompts share their tokens' start", async function () {
    const engine = await Engine.open(defaultModelDir(), { device: 'cpu', threads: 1 });
    try {
      const body = Array.from({ length: 80 }, (_, i) => `value_${i} = compute(${i}, data[${i}])\n`).join('');
      let shared = 0;
      let previous: number[] | undefined;
      for (const typed of ['r', 're', 'res', 'resu', 'resul', 'result']) {
        const { ids } = cursorPrompt(engine.model, body + typed, '', 16, false, 120);
        assert.ok(ids.length <= 120, `${ids.length}`);
        if (previous && ids.slice(0, 60).join() === previous.slice(0, 60).join()) shared++;
        previous = ids;
      }
      assert.ok(shared >= 4, `${shared} of 5 consecutive prompts share their start`);
      // The caller's cap on a cursor prompt reaches the prompt builder.
      const capped = await engine.generate({ fim: { prefix: body, suffix: '' }, steps: 2, maxTokens: 2, maxPromptTokens: 64 });
      assert.ok(capped.promptTokens <= 64 && capped.promptTokens > 40, `${capped.promptTokens}`);
      const cost = engine.info().promptCost;
      assert.ok(cost.outerMs > 0 && cost.iterationMs >= 0, JSON.stringify(cost));
    } finally {
      await engine.close();
    }
  });

  it('the KV ceiling scales with available memory, within bounds', function () {
    const GiB = 2 ** 30;
    assert.strictEqual(kvCeilingBytes(16 * GiB), 4 * GiB);
    assert.strictEqual(kvCeilingBytes(0.5 * GiB), 256 * 2 ** 20);
    assert.strictEqual(kvCeilingBytes(1024 * GiB), 16 * GiB);
  });
});
