// Malformed and out-of-range LSP traffic: thousands of messages with wrong types, huge or invalid
// positions, unknown and gigantic documents, broken UTF-16 offsets and invalid JSON frames. The
// server must answer (errors are fine), stay up, and keep serving valid requests.
import * as assert from 'assert';
import { Rng } from '../../server/engine/random';
import { LspSession } from '../helpers/lspClient';
import { builtModel } from '../helpers/reference';

const MESSAGES = Number(process.env.FUZZ_MESSAGES ?? 3000);

describe('protocol fuzzing', function () {
  let lsp: LspSession;

  before(async function () {
    const model = await builtModel({ nEmbd: 32, nHeads: 2, prelude: 1, core: 1, coda: 1, intermediate: 48, vocab: 300, seed: 4 }, 'fuzz');
    lsp = new LspSession({ RECURRENT_COPILOT_DEFAULT_MODEL: model });
    await lsp.initialize({ device: 'cpu' });
    await lsp.waitForState(['ready']);
  });
  after(() => lsp?.close());

  it(`survives ${MESSAGES} malformed or out-of-range messages and keeps serving`, async function () {
    const rng = new Rng(2024);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rng.next() * xs.length)];
    const weird = (): unknown =>
      pick<unknown>([null, undefined, -1, 0, 1.5, 2 ** 31, Number.MAX_SAFE_INTEGER, 'x', '', [], {}, [1, 2], { line: 'a' }, true, '\ud800']);
    const uris = ['file:///fuzz/a.py', 'file:///fuzz/b.ts', 'file:///fuzz/unknown.py', 'not a uri', ''];
    lsp.open(uris[0], 'def f(x):\n    return x\n\ny = f(');
    lsp.open(uris[1], 'const 😀 = "😀😀";\nlet z = ');
    // A gigantic document (8 MB): the server must bound its context window.
    lsp.open('file:///fuzz/huge.py', 'x = 1\n'.repeat(1_400_000) + 'y = ');
    let answered = 0;
    let errors = 0;
    let sent = 0;
    const pendingRequests: Promise<void>[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      const kind = rng.next();
      if (kind < 0.55) {
        // inlineCompletion with some field broken
        const params: Record<string, unknown> = {
          textDocument: rng.next() < 0.8 ? { uri: pick([...uris, 'file:///fuzz/huge.py']) } : weird(),
          position: rng.next() < 0.7 ? { line: pick([0, 1, 2, 3, 1e9, -5, 1400000]), character: pick([0, 1, 5, 7, 8, 1e9, -1]) } : weird(),
          context: rng.next() < 0.8 ? { triggerKind: pick([1, 2, 3, 'x']) } : weird(),
          budget: rng.next() < 0.5 ? { steps: pick([1, 2, 0, -3, 1e6, 'x']), maxTokens: pick([1, 2, 3, 0, 1e9]), timeCapMs: pick([50, 200, 0]) } : weird(),
        };
        sent++;
        pendingRequests.push(
          lsp.conn.sendRequest('textDocument/inlineCompletion', params).then(
            () => void answered++,
            () => void errors++,
          ),
        );
      } else if (kind < 0.75) {
        // didChange with broken ranges or versions
        void lsp.conn.sendNotification('textDocument/didChange', {
          textDocument: { uri: pick(uris), version: pick([2, -1, 'v', 1e12]) },
          contentChanges: [rng.next() < 0.5 ? { range: { start: { line: weird(), character: 3 }, end: { line: 1e9, character: 0 } }, text: 'z' } : weird()],
        });
      } else if (kind < 0.9) {
        // unknown or custom methods with junk
        sent++;
        pendingRequests.push(
          lsp.conn.sendRequest(pick(['recurrent/getStatus', 'textDocument/completion', 'workspace/nothing', 'recurrent/bogus']), weird()).then(
            () => void answered++,
            () => void errors++,
          ),
        );
      } else {
        void lsp.conn.sendNotification(pick(['recurrent/configure', 'textDocument/didOpen', 'textDocument/didClose', '$/cancelRequest']), weird());
      }
      if (pendingRequests.length >= 200) await Promise.all(pendingRequests.splice(0));
    }
    await Promise.all(pendingRequests);
    // Invalid JSON frames straight onto the wire.
    for (const body of ['{"jsonrpc":"2.0","id":1,"method":', 'not json at all', '{"jsonrpc":"2.0","id":{},"method":5}']) {
      lsp.proc.stdin!.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    }
    assert.strictEqual(answered + errors, sent); // every request got an answer
    assert.ok(errors > 0 && answered > 0, `answered ${answered}, errors ${errors}`);
    assert.strictEqual(lsp.proc.exitCode, null, 'server exited');
    // Still serving valid requests on a fresh document.
    lsp.open('file:///fuzz/ok.py', 'def g():\n    return ');
    const ok = await lsp.complete('file:///fuzz/ok.py', 1, 11, { steps: 2, maxTokens: 4, timeCapMs: 10000 });
    assert.ok(Array.isArray(ok.items));
    const status = await lsp.waitForState(['ready']);
    assert.strictEqual(status.state, 'ready');
  });
});
