// The engine behind its worker thread: streaming, cancellation between runs, errors.
import * as assert from 'assert';
import { CancelledError } from '../../server/engine/cancel';
import { EngineClient, EngineError } from '../../server/engine/engineClient';
import { builtModel } from '../helpers/reference';

describe('engine worker', function () {
  let client: EngineClient;
  before(async function () {
    const dir = await builtModel({ nEmbd: 64, nHeads: 4, prelude: 1, core: 2, coda: 1, intermediate: 128, vocab: 512, seed: 5 }, 'worker');
    client = await EngineClient.open(dir, { device: 'cpu', threads: 1 });
  });
  after(() => client?.close());

  it('reports the provider and model facts', function () {
    assert.strictEqual(client.info.provider, 'cpu');
    assert.strictEqual(client.info.vocabSize, 512);
  });

  it('streams one event per token, whose deltas add up to the text', async function () {
    const deltas: string[] = [];
    const r = await client.generate({ prompt: 'x = 1', steps: 2, maxTokens: 12, sampling: { temperature: 1 }, seed: 3 }, (e) => deltas.push(e.delta)).result;
    assert.strictEqual(deltas.length, r.ids.length);
    assert.ok(r.text.startsWith(deltas.join('')));
  });

  it('stops at a stop sequence, never streaming any part of it', async function () {
    const base = await client.generate({ prompt: 'a', steps: 2, maxTokens: 24, sampling: { temperature: 1 }, seed: 8 }).result;
    const text = base.text;
    assert.ok(text.length >= 6, `need some text, got ${JSON.stringify(text)}`);
    const stop = text.slice(3, 5);
    const deltas: string[] = [];
    const r = await client.generate({ prompt: 'a', steps: 2, maxTokens: 24, sampling: { temperature: 1 }, seed: 8, stop: [stop] }, (e) => deltas.push(e.delta)).result;
    assert.strictEqual(r.finishReason, 'stop-sequence');
    assert.strictEqual(r.text, text.slice(0, text.indexOf(stop)));
    assert.strictEqual(deltas.join(''), r.text);
  });

  it('cancels within one core iteration while the worker is busy', async function () {
    let tokens = 0;
    const handle = client.generate({ ids: [1, 2, 3], steps: 64, maxTokens: 100000 }, () => {
      tokens++;
      if (tokens === 2) handle.cancel();
    });
    await assert.rejects(handle.result, CancelledError);
    assert.ok(tokens >= 2 && tokens <= 3, `tokens after cancel: ${tokens}`);
    // The worker is still usable afterwards.
    const r = await client.generate({ ids: [1, 2, 3], steps: 2, maxTokens: 3 }).result;
    assert.ok(r.ids.length > 0);
  });

  it('answers an invalid request with an error and keeps serving', async function () {
    await assert.rejects(client.generate({ ids: [1, 100000], steps: 2, maxTokens: 3 }).result, (e: EngineError) => e.kind === 'invalid-request' && /outside the vocabulary/.test(e.message));
    await assert.rejects(client.generate({ ids: [1], steps: 0, maxTokens: 3 }).result, /steps must be a positive integer/);
    const r = await client.score({ ids: [1, 2], steps: 2 }).result;
    assert.strictEqual(r.length, 2);
  });

  it('fails to open a missing model with one clear message', async function () {
    await assert.rejects(EngineClient.open('/nonexistent/model'), /model folder not found/);
  });
});
