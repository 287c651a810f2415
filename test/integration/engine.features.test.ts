// Recurrent inference features on a real (random-weight) model through the real engine:
// adaptive exit, KV-cache sharing, warm start and self-speculative decoding, and the error a
// failing graph run gives. Exact where the feature must be exact; bounds where it is approximate.
import * as assert from 'assert';
import * as ort from 'onnxruntime-node';
import { Engine } from '../../server/engine/engine';
import { generate } from '../../server/engine/generate';
import { GenerateRequest } from '../../server/engine/generateRequest';
import { HuginnModel } from '../../server/engine/huginnModel';
import { forwardChunk } from '../../server/engine/recurrence';
import { argmax } from '../../server/engine/sampling';
import { runGraph } from '../../server/engine/sessions';
import { builtModel } from '../helpers/reference';

describe('recurrent inference features', function () {
  let model: HuginnModel;
  let modelDir: string;
  const prompt = [5, 17, 200, 3, 99, 42, 7];
  const plain = (over: Partial<GenerateRequest> = {}) => generate(model, { ids: prompt, steps: 8, maxTokens: 16, stateInit: 'zero', ...over });

  before(async function () {
    modelDir = await builtModel({ nEmbd: 96, nHeads: 6, prelude: 2, core: 4, coda: 2, intermediate: 256, vocab: 1024, seed: 21 }, 'features');
    model = await HuginnModel.load(modelDir, { device: 'cpu', threads: 1 });
  });
  after(() => model?.release());

  describe('adaptive exit', function () {
    it('a threshold that never passes gives fixed-r decoding', async function () {
      const fixed = await plain();
      for (const criterion of ['kl', 'minp-kl', 'entropy-diff', 'latent-diff'] as const) {
        const r = await plain({ exit: { criterion, threshold: 0 } });
        assert.deepStrictEqual(r.ids, fixed.ids, criterion);
        assert.ok(r.iterations.every((n) => n === 8));
      }
    });

    it('a rule that always passes runs minSteps + 1 iterations, like fixed r = minSteps + 1', async function () {
      const r = await plain({ exit: { criterion: 'kl', threshold: 1e9, minSteps: 2, exitInPrefill: true } });
      assert.ok(r.iterations.every((n) => n === 3), `${r.iterations}`);
      assert.deepStrictEqual(r.ids, (await plain({ steps: 3 })).ids);
    });

    it('checkEvery n: a rule that always passes exits at the first check, after minSteps + n iterations', async function () {
      const r = await plain({ steps: 16, exit: { criterion: 'kl', threshold: 1e9, minSteps: 1, checkEvery: 4, exitInPrefill: true } });
      assert.ok(r.iterations.every((n) => n === 5), `${r.iterations}`);
      const never = await plain({ steps: 16, exit: { criterion: 'kl', threshold: 0, checkEvery: 4 } });
      assert.deepStrictEqual(never.ids, (await plain({ steps: 16 })).ids);
      assert.ok(never.iterations.every((n) => n === 16));
    });

    it('reports per-token iterations within [minSteps + 1, steps], reproducibly', async function () {
      const req = { steps: 32, exit: { criterion: 'latent-diff' as const, threshold: 0.05, minSteps: 1 } };
      const a = await plain(req);
      const b = await plain(req);
      assert.deepStrictEqual(a.iterations, b.iterations);
      assert.deepStrictEqual(a.ids, b.ids);
      assert.strictEqual(a.iterations.length, a.ids.length);
      assert.ok(a.iterations.every((n) => n >= 2 && n <= 32));
      assert.ok(a.iterations.slice(1).some((n) => n < 32), `no token exited early: ${a.iterations}`);
    });

    it('cancellation mid-token leaves the cache as it was', async function () {
      const cache = model.newCache();
      await forwardChunk(model, cache, prompt, { steps: 4, stateInit: 'zero', seed: 0, numLogits: 1 });
      let runs = 0;
      const cancel = { get cancelled() { return ++runs > 3; } };
      await assert.rejects(forwardChunk(model, cache, [1], { steps: 8, stateInit: 'zero', seed: 0, numLogits: 1, cancel }), /cancelled/);
      assert.strictEqual(cache.length, prompt.length);
      const after = await forwardChunk(model, cache, [1], { steps: 4, stateInit: 'zero', seed: 0, numLogits: 1 });
      const fresh = model.newCache();
      await forwardChunk(model, fresh, prompt, { steps: 4, stateInit: 'zero', seed: 0, numLogits: 1 });
      const expected = await forwardChunk(model, fresh, [1], { steps: 4, stateInit: 'zero', seed: 0, numLogits: 1 });
      assert.deepStrictEqual(Array.from(after.logits), Array.from(expected.logits));
    });
  });

  describe('KV-cache sharing', function () {
    it('compress-s keeps KV memory per token independent of r', async function () {
      const at = async (steps: number, kvStrategy: string) => (await plain({ steps, kvStrategy, maxTokens: 6 })).kvBytesPerToken;
      assert.strictEqual(await at(8, 'compress-s8'), await at(32, 'compress-s8'));
      assert.ok((await at(32, 'full')) > 3 * (await at(8, 'full')));
    });

    it('is exact when no slot is reused, and when every token ran every iteration', async function () {
      const full = await plain();
      assert.deepStrictEqual((await plain({ kvStrategy: 'compress-s32' })).ids, full.ids); // 8 x 4 layers fit
      assert.deepStrictEqual((await plain({ kvStrategy: 'skip' })).ids, full.ids);
      assert.deepStrictEqual((await plain({ kvStrategy: 'latest-m4' })).ids, full.ids);
    });

    it('works with adaptive exit under every strategy', async function () {
      for (const kvStrategy of ['full', 'skip', 'compress-s8', 'compress-r4']) {
        const r = await plain({ steps: 16, kvStrategy, exit: { criterion: 'latent-diff', threshold: 0.05 } });
        assert.ok(r.ids.length > 0 && r.iterations.every((n) => n >= 1 && n <= 16), kvStrategy);
      }
    });
  });

  describe('prompt cache', function () {
    it("reuses the previous prompt's KV entries and gives the same completion as a cold start", async function () {
      const engine = await Engine.open(modelDir, { device: 'cpu', threads: 1 });
      try {
        const req = { steps: 8, maxTokens: 10, stateInit: 'zero' as const };
        const first = await engine.generate({ ...req, ids: prompt, reusePrompt: true });
        assert.strictEqual(first.reusedTokens, 0);
        const longer = [...prompt, 11, 12, 13];
        const warm = await engine.generate({ ...req, ids: longer, reusePrompt: true });
        assert.strictEqual(warm.reusedTokens, prompt.length);
        const cold = await engine.generate({ ...req, ids: longer });
        assert.deepStrictEqual(warm.ids, cold.ids);
        // An edit inside the prompt reuses only the part before it.
        const edited = [...prompt.slice(0, 3), 500, ...prompt.slice(4)];
        const e = await engine.generate({ ...req, ids: edited, reusePrompt: true });
        assert.strictEqual(e.reusedTokens, 3);
        assert.deepStrictEqual(e.ids, (await engine.generate({ ...req, ids: edited })).ids);
        // A different budget cannot reuse entries computed with another iteration count.
        assert.strictEqual((await engine.generate({ ...req, steps: 4, ids: edited, reusePrompt: true })).reusedTokens, 0);
      } finally {
        await engine.close();
      }
    });
  });

  describe('resource limits', function () {
    it('stops before the KV cache passes its memory ceiling', async function () {
      const free = await plain({ maxTokens: 30 });
      const capped = await plain({ maxTokens: 30, maxKvBytes: 1 });
      assert.strictEqual(capped.finishReason, 'memory');
      assert.ok(capped.ids.length >= 1 && capped.ids.length < free.ids.length);
      assert.deepStrictEqual(capped.ids, free.ids.slice(0, capped.ids.length));
    });

    it('returns the tokens it has at the deadline', async function () {
      const r = await plain({ steps: 200, maxTokens: 10000, deadline: Date.now() + 200 });
      assert.strictEqual(r.finishReason, 'time');
    });
  });

  describe('beam search', function () {
    const logSoftmax = (row: Float32Array) => {
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
      return (id: number) => row[id] - lse;
    };

    it("returns a continuation whose log-probability is that of a fresh forward, and leaves the prompt's cache reusable", async function () {
      const engine = await Engine.open(modelDir, { device: 'cpu', threads: 1 });
      try {
        const req = { ids: prompt, steps: 6, maxTokens: 6, stateInit: 'zero' as const, beams: 4 };
        const beam = await engine.generate({ ...req, reusePrompt: true });
        assert.strictEqual(beam.ids.length, 6);
        assert.strictEqual(beam.finishReason, 'length');
        assert.deepStrictEqual(beam.iterations, [6, 6, 6, 6, 6, 6]);
        // Scored from scratch: the saved and restored KV rows were each beam's own.
        const rows = await engine.score({ ids: [...prompt, ...beam.ids], steps: 6, stateInit: 'zero' });
        const beamLogProb = beam.ids.reduce((a, id, t) => a + logSoftmax(rows[prompt.length - 1 + t])(id), 0);
        assert.ok(Math.abs(beam.logProb! - beamLogProb) < 1e-3, `${beam.logProb} vs ${beamLogProb}`);
        // Per token too (the confidence gate's input): each token's, given the ones before it.
        beam.ids.forEach((id, t) => assert.ok(Math.abs(beam.tokenLogProbs![t] - logSoftmax(rows[prompt.length - 1 + t])(id)) < 1e-3, `token ${t}`));
        assert.strictEqual(beam.alternatives!.length, beam.alternativeLogProbs!.length);
        assert.ok(beam.alternativeLogProbs!.every((lp, i) => lp <= beam.logProb! && (i === 0 || lp <= beam.alternativeLogProbs![i - 1])));
        assert.ok(beam.runnerUpLogProb! <= beam.logProb!);
        const greedy = await engine.generate({ ...req, beams: 1, reusePrompt: true });
        assert.strictEqual(greedy.reusedTokens, prompt.length - 1);
        const greedyRows = await engine.score({ ids: [...prompt, ...greedy.ids], steps: 6, stateInit: 'zero' });
        const greedyLogProb = greedy.ids.reduce((a, id, t) => a + logSoftmax(greedyRows[prompt.length - 1 + t])(id), 0);
        // Greedy decoding keeps its tokens' log-probabilities as well.
        greedy.ids.forEach((id, t) => assert.ok(Math.abs(greedy.tokenLogProbs![t] - logSoftmax(greedyRows[prompt.length - 1 + t])(id)) < 1e-3, `greedy token ${t}`));
        // On this prompt the search finds a likelier continuation than greedy decoding (not a
        // guarantee of beam search in general); the same request gives the same answer.
        assert.ok(beamLogProb >= greedyLogProb - 1e-4, `beam ${beamLogProb} < greedy ${greedyLogProb}`);
        assert.deepStrictEqual((await engine.generate({ ...req, reusePrompt: true })).ids, beam.ids);
        assert.deepStrictEqual((await engine.generate(req)).ids, beam.ids);
      } finally {
        await engine.close();
      }
    });

    it('ends a continuation at a stop sequence, with text before it', async function () {
      const engine = await Engine.open(modelDir, { device: 'cpu', threads: 1 });
      try {
        // Stop at any digit: the likeliest text up to one.
        const r = await engine.generate({ ids: prompt, steps: 4, maxTokens: 12, stateInit: 'zero', beams: 3, stop: [...'0123456789'] });
        assert.ok(r.alternatives!.length <= 3 && r.alternatives!.every((t) => !/[0-9]/.test(t)), JSON.stringify(r.alternatives));
        if (r.finishReason === 'stop-sequence') {
          assert.ok(r.text.trim().length > 0 && !/[0-9]/.test(r.text), JSON.stringify(r.text));
          assert.match(engine.model.tokenizer.decode(r.ids), /[0-9]/);
        } else {
          assert.strictEqual(r.finishReason, 'length');
        }
      } finally {
        await engine.close();
      }
    });

    it('answers with its best continuation so far at the deadline, and rejects a cancellation', async function () {
      const r = await plain({ beams: 4, steps: 200, maxTokens: 10000, deadline: Date.now() + 300 });
      assert.strictEqual(r.finishReason, 'time');
      const cancel = { cancelled: false };
      const pending = generate(model, { ids: prompt, steps: 200, maxTokens: 50, stateInit: 'zero', beams: 4 }, () => {}, cancel);
      setTimeout(() => (cancel.cancelled = true), 100);
      await assert.rejects(pending, /cancelled/);
    });

    it('refuses what it cannot combine with', async function () {
      for (const beams of [0, 17, 1.5]) await assert.rejects(plain({ beams }), /beams must be an integer/);
      await assert.rejects(plain({ beams: 2, sampling: { temperature: 0.7 } }), /beam search is greedy/);
      await assert.rejects(plain({ beams: 2, warmStart: true }), /beam search is greedy/);
      await assert.rejects(plain({ beams: 2, speculative: { draftSteps: 2, lookahead: 4 } }), /beam search is greedy/);
    });
  });

  describe('warm start', function () {
    it("starts each token's recurrence from the previous token's final state", async function () {
      const r = await plain({ warmStart: true, maxTokens: 4 });
      // The same by hand.
      const cache = model.newCache();
      const base = { steps: 8, stateInit: 'zero' as const, seed: 0, numLogits: 1, returnState: true };
      let step = await forwardChunk(model, cache, prompt, base);
      const ids: number[] = [];
      let last: Float32Array = step.state!.slice(step.state!.length - model.cfg.nEmbd);
      for (let i = 0; i < 4; i++) {
        ids.push(argmax(step.logits));
        if (i === 3) break;
        step = await forwardChunk(model, cache, [ids[i]], { ...base, initialState: last });
        last = step.state!;
      }
      assert.deepStrictEqual(r.ids, ids);
    });
  });

  describe('self-speculative decoding', function () {
    for (const [draftSteps, lookahead] of [[2, 4], [4, 3], [1, 6]]) {
      it(`greedy output equals plain decoding (draft ${draftSteps} steps, lookahead ${lookahead})`, async function () {
        const full = await plain({ steps: 16, maxTokens: 20 });
        const spec = await plain({ steps: 16, maxTokens: 20, speculative: { draftSteps, lookahead } });
        assert.deepStrictEqual(spec.ids, full.ids);
        assert.ok(spec.speculative!.accepted <= spec.speculative!.drafted);
      });
    }

    it('drafts at the full budget are all accepted', async function () {
      const spec = await plain({ steps: 6, maxTokens: 13, speculative: { draftSteps: 6, lookahead: 4 } });
      assert.strictEqual(spec.speculative!.accepted, spec.speculative!.drafted);
      assert.strictEqual(spec.ids.length, 13);
      assert.deepStrictEqual(spec.ids, (await plain({ steps: 6, maxTokens: 13 })).ids);
    });

    it('rejects combinations it does not support', async function () {
      await assert.rejects(plain({ speculative: { draftSteps: 2, lookahead: 4 }, warmStart: true }), /cannot be combined/);
      await assert.rejects(plain({ speculative: { draftSteps: 0, lookahead: 4 } }), /draftSteps/);
    });
  });

  describe('graph run errors', function () {
    /** Feeds for the core graph's first iteration on one token, with a state `width` wide. */
    function coreFeeds(width: number): Record<string, ort.Tensor> {
      const { nEmbd: h, nHeads, headDim, nLayersInRecurrentBlock: layers } = model.cfg;
      const feeds: Record<string, ort.Tensor> = {
        state: new ort.Tensor('float32', new Float32Array(width), [1, width]),
        injection: new ort.Tensor('float32', new Float32Array(h), [1, h]),
        position_ids: new ort.Tensor('int64', BigInt64Array.from([0n]), [1]),
        causal_bias: new ort.Tensor('float32', new Float32Array(1), [1, 1]),
        mask_pads: new ort.Tensor('int64', new BigInt64Array(4), [4]),
        past_bias: new ort.Tensor('float32', new Float32Array(1), [1]),
      };
      for (let i = 0; i < layers; i++) {
        feeds[`past_key.${i}`] = new ort.Tensor('float32', new Float32Array(0), [0, nHeads, headDim]);
        feeds[`past_value.${i}`] = new ort.Tensor('float32', new Float32Array(0), [0, nHeads, headDim]);
      }
      return feeds;
    }

    it('a wrongly shaped input names the graph, and each input with its type and shape', async function () {
      const { nEmbd: h, nHeads, headDim, nLayersInRecurrentBlock: layers } = model.cfg;
      await assert.rejects(runGraph(model.sessions, 'core', coreFeeds(h / 2)), (e: Error) => {
        assert.match(e.message, /^core\.onnx run failed: \S[^\n]*$/);
        assert.ok(e.message.includes(`; inputs: state float32[1,${h / 2}], injection float32[1,${h}], position_ids int64[1], causal_bias float32[1,1], mask_pads int64[4], past_bias float32[1], `), e.message);
        assert.ok(e.message.includes(`past_key.0 float32[0,${nHeads},${headDim}]`), e.message);
        assert.ok(e.message.endsWith(`past_value.${layers - 1} float32[0,${nHeads},${headDim}]`), e.message);
        assert.ok(e.cause instanceof Error, "onnxruntime's error is kept as the cause");
        return true;
      });
    });

    it('the same feeds with the right state width run', async function () {
      const out = await runGraph(model.sessions, 'core', coreFeeds(model.cfg.nEmbd));
      assert.strictEqual(out.state_out.dims.join(','), `1,${model.cfg.nEmbd}`);
    });
  });
});
