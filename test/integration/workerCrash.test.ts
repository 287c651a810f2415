// A crashed engine worker inside the server is contained: requests answer nothing instead of
// failing, the host starts a new worker, and completions resume. (The worker is stopped between
// runs: stopping it inside onnxruntime's run aborts the whole process, which is the process-level
// crash the VS Code end-to-end test "server crash" covers by killing the server mid-request.)
import * as assert from 'assert';
import { CancellationTokenSource } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { CompletionService } from '../../server/lsp/completionService';
import { ModelHost } from '../../server/lsp/modelHost';
import { DEFAULT_SETTINGS } from '../../server/lsp/settings';
import { CompletionStats } from '../../server/lsp/stats';
import { builtModel } from '../helpers/reference';

describe('engine worker crash inside the server', function () {
  let host: ModelHost;
  let service: CompletionService;
  const doc = TextDocument.create('file:///crash.py', 'python', 1, 'def f(x):\n    return ');
  const budget = { level: 2, steps: 64, exitThreshold: null, maxTokens: 200, timeCapMs: 30000, multiline: false };

  before(async function () {
    const model = await builtModel({ nEmbd: 64, nHeads: 4, prelude: 1, core: 2, coda: 1, intermediate: 128, vocab: 512, seed: 12 }, 'crash');
    host = new ModelHost({ ...DEFAULT_SETTINGS, modelPath: model, device: 'cpu' }, () => {}, () => {});
    await host.load();
    service = new CompletionService(host, new CompletionStats(), () => DEFAULT_SETTINGS, () => {}, () => {});
  });
  after(() => host?.dispose());

  it('answers with nothing, restarts the worker, and serves again', async function () {
    const engine = host.engine()!;
    assert.ok(engine.alive);
    await service.complete(doc, { line: 1, character: 11 }, { ...budget, steps: 2, maxTokens: 4 }, new CancellationTokenSource().token);
    await engine.terminate(); // the worker dies
    assert.strictEqual(engine.alive, false);
    // The next request (not a cache hit) finds the dead worker and starts a new one.
    assert.deepStrictEqual(await service.complete(doc, { line: 1, character: 11 }, { ...budget, steps: 3, maxTokens: 4 }, new CancellationTokenSource().token), []);
    await host.load();
    const fresh = host.engine();
    assert.ok(fresh && fresh !== engine && fresh.alive);
    const r = await service.complete(doc, { line: 1, character: 11 }, { ...budget, steps: 2, maxTokens: 4 }, new CancellationTokenSource().token);
    assert.ok(Array.isArray(r));
    assert.strictEqual(host.status.state, 'ready');
  });
});
