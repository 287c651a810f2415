// Background prefill in the language server: at a pause the server runs the prompt a completion
// would have into the engine's prompt cache, the completion that follows reuses it, and a real
// request never waits behind it (it cancels the prefill, keeping what it finished).
import * as assert from 'assert';
import { CancellationTokenSource } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { GenerateResult } from '../../server/engine/generate';
import { CompletionService } from '../../server/lsp/completionService';
import { ModelHost } from '../../server/lsp/modelHost';
import { DEFAULT_SETTINGS } from '../../server/lsp/settings';
import { CompletionStats } from '../../server/lsp/stats';
import { builtModel } from '../helpers/reference';

describe('background prefill in the server', function () {
  let host: ModelHost;
  let service: CompletionService;
  /** The engine's results, as the service received them (a spy on the real engine client). */
  const results: GenerateResult[] = [];
  const lines = Array.from({ length: 60 }, (_, i) => `value_${i} = compute(${i})`).join('\n') + '\nresult = ';
  const doc = TextDocument.create('file:///prefill.py', 'python', 1, lines);
  const end = { line: 60, character: 9 };
  const budget = { level: 2, steps: 6, exitThreshold: null, maxTokens: 4, timeCapMs: 60000, multiline: false };
  const token = () => new CancellationTokenSource().token;

  before(async function () {
    const model = await builtModel({ nEmbd: 64, nHeads: 4, prelude: 1, core: 2, coda: 1, intermediate: 128, vocab: 512, blockSize: 1024, seed: 13 }, 'bgprefill');
    host = new ModelHost({ ...DEFAULT_SETTINGS, modelPath: model, device: 'cpu' }, () => {}, () => {});
    await host.load();
    const engine = host.engine()!;
    const generate = engine.generate.bind(engine);
    engine.generate = (req, onToken) => {
      const handle = generate(req, onToken);
      handle.result.then((r) => results.push(r)).catch(() => undefined);
      return handle;
    };
    service = new CompletionService(host, new CompletionStats(), () => DEFAULT_SETTINGS, () => {}, () => {});
  });
  after(() => host?.dispose());

  it('a completion after a background prefill reuses all of its prompt but the last token', async function () {
    assert.strictEqual(await service.prefill(doc, end, budget), true);
    const warm = results[results.length - 1];
    assert.ok(warm.promptTokens > 100 && warm.ids.length === 0, JSON.stringify(warm));
    await service.complete(doc, end, budget, token());
    const real = results[results.length - 1];
    assert.strictEqual(real.promptTokens, warm.promptTokens);
    assert.strictEqual(real.reusedTokens, real.promptTokens - 1);
  });

  it('a second prefill of the same place runs nothing', async function () {
    const before = results.length;
    assert.strictEqual(await service.prefill(doc, end, budget), true);
    const again = results[before];
    assert.strictEqual(again.prefillMs, 0);
    assert.strictEqual(again.reusedTokens, again.promptTokens - 1);
  });

  it('a real request cancels a running prefill and is served', async function () {
    const edited = TextDocument.create('file:///prefill.py', 'python', 2, 'import os\n' + lines);
    const slow = { ...budget, steps: 200 };
    const prefill = service.prefill(edited, { line: 61, character: 9 }, slow);
    await new Promise((r) => setTimeout(r, 50));
    const items = await service.complete(edited, { line: 61, character: 9 }, budget, token());
    assert.ok(Array.isArray(items));
    assert.strictEqual(await prefill, false, 'the prefill was cancelled');
    assert.strictEqual(service.pending, 0);
  });
});
