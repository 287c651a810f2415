// The language server as a real process over stdio: inline completions, cancellation,
// supersession, the completion cache, status, and clear errors for bad requests and models.
import * as assert from 'assert';
import { CancellationTokenSource } from 'vscode-jsonrpc';
import { Engine } from '../../server/engine/engine';
import { postprocess } from '../../server/lsp/postprocess';
import { DEFAULT_SETTINGS } from '../../server/lsp/settings';
import { LspSession } from '../helpers/lspClient';
import { builtModel } from '../helpers/reference';

const DOC = 'file:///project/example.py';
const TEXT = 'def add(a, b):\n    return a + b\n\nx = add(1, ';

describe('language server over stdio', function () {
  let modelDir: string;
  let lsp: LspSession;

  before(async function () {
    modelDir = await builtModel({ nEmbd: 64, nHeads: 4, prelude: 1, core: 2, coda: 1, intermediate: 128, vocab: 512, seed: 9 }, 'lsp');
    lsp = new LspSession({ RECURRENT_COPILOT_DEFAULT_MODEL: modelDir });
    // A random model is never sure of its ghost text: the confidence gate off (confidenceGate.test.ts tests it).
    const init = await lsp.initialize({ device: 'cpu', minConfidence: 0 });
    assert.strictEqual(init.capabilities.inlineCompletionProvider, true);
    const status = await lsp.waitForState(['ready', 'error']);
    assert.strictEqual(status.state, 'ready', status.message);
    lsp.open(DOC, TEXT);
  });
  after(() => lsp?.close());

  it('reports status: ready, device and model', async function () {
    const s = await lsp.waitForState(['ready']);
    assert.strictEqual(s.device, 'cpu');
    assert.strictEqual(s.model, modelDir);
  });

  it('answers an inline completion with the post-processed model output for the FIM prompt', async function () {
    const budget = { level: 1, steps: 3, exitThreshold: null, maxTokens: 12, timeCapMs: 60000, multiline: true };
    const r = await lsp.complete(DOC, 3, 11, budget);
    // The same generation, directly through the engine.
    const engine = await Engine.open(modelDir, { device: 'cpu', threads: 1 });
    try {
      const prefix = TEXT;
      // (The document before the cursor, shorter than the prompt's window, is the document cache's.)
      const direct = await engine.generate({ fim: { prefix, suffix: '' }, document: { before: prefix, after: '' }, heal: true, steps: 3, maxTokens: 12, stop: ['\n\n'], beams: DEFAULT_SETTINGS.beamWidth });
      const ctx = { linePrefix: 'x = add(1, ', lineSuffix: '', multiline: true };
      // The server shows the likeliest finished continuation that post-processing leaves non-empty.
      const expected = [direct.text, ...(direct.alternatives ?? [])].map((t) => postprocess(t, ctx)).find((t) => t !== '') ?? '';
      if (expected === '') assert.deepStrictEqual(r.items, []);
      else {
        assert.strictEqual(r.items.length, 1);
        assert.strictEqual(r.items[0].insertText, expected);
        assert.strictEqual(r.items[0].recurrent.cached, false);
        assert.ok(r.items[0].recurrent.tokens.every((t) => t.iterations === 3));
      }
    } finally {
      await engine.close();
    }
  });

  it('serves an identical request from the cache', async function () {
    const budget = { level: 2, steps: 2, exitThreshold: null, maxTokens: 8, timeCapMs: 60000, multiline: false };
    await lsp.complete(DOC, 0, 8, budget);
    const again = await lsp.complete(DOC, 0, 8, budget);
    for (const item of again.items) assert.strictEqual(item.recurrent.cached, true);
    const s = await lsp.waitForState(['ready']);
    assert.ok(s.recent.length >= 1 && s.lastLatencyMs !== undefined);
  });

  it('cancels a long request promptly and keeps serving', async function () {
    const source = new CancellationTokenSource();
    const budget = { level: 4, steps: 256, exitThreshold: null, maxTokens: 512, timeCapMs: 60000, multiline: true };
    const t0 = Date.now();
    const pending = lsp.complete(DOC, 3, 11, budget, source.token).catch((e) => e);
    setTimeout(() => source.cancel(), 100);
    await pending;
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    const ok = await lsp.complete(DOC, 3, 11, { ...budget, steps: 1, maxTokens: 2 });
    assert.ok(Array.isArray(ok.items));
  });

  it('a newer request for the same document supersedes the older one', async function () {
    const slow = { level: 4, steps: 256, exitThreshold: null, maxTokens: 512, timeCapMs: 60000, multiline: true };
    const t0 = Date.now();
    const first = lsp.complete(DOC, 3, 11, slow);
    await new Promise((r) => setTimeout(r, 50));
    const second = lsp.complete(DOC, 1, 4, { ...slow, steps: 1, maxTokens: 2 });
    const [a, b] = await Promise.all([first, second]);
    assert.deepStrictEqual(a.items, []);
    assert.ok(Array.isArray(b.items));
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  });

  it('returns what it has when the time cap is reached', async function () {
    const t0 = Date.now();
    const r = await lsp.complete(DOC, 3, 11, { level: 4, steps: 256, exitThreshold: null, maxTokens: 512, timeCapMs: 300, multiline: true });
    assert.ok(Array.isArray(r.items));
    assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
  });

  it('reads the other open documents of the language into the document cache', async function () {
    const here = 'file:///project/use.py';
    const text = 'from lib import tally\n\ntotal = tally(';
    const lib = 'def tally(xs, start=0):\n    return sum(xs, start)\n\n\ntotal = tally(zebra_counts, start=0)\n';
    lsp.open('file:///project/lib.py', lib);
    // another language family: not read
    lsp.open('file:///project/app.js', 'total = tally(giraffe_list)\n', 'javascript');
    lsp.open(here, text);
    const budget = { level: 1, steps: 3, exitThreshold: null, maxTokens: 12, timeCapMs: 60000, multiline: false };
    const r = await lsp.complete(here, 2, 14, budget);
    const engine = await Engine.open(modelDir, { device: 'cpu', threads: 1 });
    try {
      const ghost = async (others: string[]) => {
        const g = await engine.generate({ fim: { prefix: text, suffix: '' }, document: { before: text, after: '', others }, heal: true, steps: 3, maxTokens: 12, stop: ['\n'], beams: DEFAULT_SETTINGS.beamWidth });
        const ctx = { linePrefix: 'total = tally(', lineSuffix: '', multiline: false };
        return [g.text, ...(g.alternatives ?? [])].map((t) => postprocess(t, ctx)).find((t) => t !== '') ?? '';
      };
      // the python documents open beside it (example.py of the tests above, and lib.py)
      const expected = await ghost([lib, TEXT]);
      assert.notStrictEqual(expected, await ghost([]));
      assert.strictEqual(r.items[0]?.insertText ?? '', expected);
    } finally {
      await engine.close();
    }
  });

  const bad: [string, () => Promise<unknown>, RegExp][] = [
    ['an unknown document', () => lsp.complete('file:///nope.py', 0, 0), /unknown document/],
    ['a line past the end', () => lsp.complete(DOC, 999999, 0), /outside the document/],
    ['a character past the line', () => lsp.complete(DOC, 0, 500), /outside line 0/],
    ['a negative position', () => lsp.complete(DOC, -1, 0), /outside the document/],
    ['a malformed budget', () => lsp.complete(DOC, 0, 3, { steps: 'many' }), /budget\.steps/],
    ['an absurd budget', () => lsp.complete(DOC, 0, 3, { steps: 100000 }), /budget\.steps/],
  ];
  for (const [what, call, message] of bad) {
    it(`answers ${what} with a clear error and keeps serving`, async function () {
      await assert.rejects(call(), (e: Error) => message.test(e.message));
      const s = await lsp.waitForState(['ready']);
      assert.strictEqual(s.state, 'ready');
    });
  }

  it('falls back to the default model, with one clear message, when the configured model is broken', async function () {
    await lsp.conn.sendNotification('recurrent/configure', { modelPath: '/nonexistent/model', device: 'cpu' });
    await new Promise((r) => setTimeout(r, 200));
    const s = await lsp.waitForState(['ready']);
    assert.match(s.message ?? '', /model \/nonexistent\/model could not be loaded: model folder not found.*using the default model/);
    assert.strictEqual(s.model, modelDir);
  });
});
