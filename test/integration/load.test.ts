// Load on the real server process: a burst of 1,000 completion requests in 10 seconds while the
// user types, with cancellations; then a long session of 10,000 requests. Memory stays bounded,
// superseded requests are not computed, and latency recovers after the burst.
import * as assert from 'assert';
import * as fs from 'fs';
import { CancellationTokenSource } from 'vscode-jsonrpc';
import { Rng } from '../../server/engine/random';
import { LspSession } from '../helpers/lspClient';
import { builtModel } from '../helpers/reference';

const BURST = Number(process.env.LOAD_BURST ?? 1000);
const LONG = Number(process.env.LOAD_LONG ?? 10000);

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

describe('load', function () {
  let lsp: LspSession;
  const docs = [0, 1, 2, 3, 4].map((i) => `file:///load/doc${i}.py`);
  const budget = { level: 2, steps: 4, exitThreshold: null, maxTokens: 8, timeCapMs: 5000, multiline: false };

  before(async function () {
    const model = await builtModel({ nEmbd: 64, nHeads: 4, prelude: 1, core: 2, coda: 1, intermediate: 128, vocab: 512, seed: 6 }, 'load');
    lsp = new LspSession({ RECURRENT_COPILOT_DEFAULT_MODEL: model });
    await lsp.initialize({ device: 'cpu' });
    await lsp.waitForState(['ready']);
    docs.forEach((uri, i) => lsp.open(uri, `# file ${i}\ndef f${i}(x):\n    return x`));
  });
  after(() => lsp?.close());

  async function timed(uri: string, line: number, character: number): Promise<number> {
    const t0 = performance.now();
    await lsp.complete(uri, line, character, budget);
    return performance.now() - t0;
  }

  it(`bursts of ${BURST} requests in 10 s with typing and cancellations stay bounded`, async function () {
    const pid = lsp.proc.pid!;
    // Baseline latency on fresh prefixes.
    const base: number[] = [];
    for (let i = 0; i < 10; i++) {
      lsp.insert(docs[0], 2, 12 + i, String(i % 10));
      base.push(await timed(docs[0], 2, 13 + i));
    }
    const rssBefore = rssMb(pid);
    const before = (await lsp.waitForState(['ready'])).counters!;
    const rng = new Rng(77);
    const cols = docs.map(() => 12);
    const pending: Promise<unknown>[] = [];
    const lastOf = new Map<string, Promise<{ items: unknown[] }>>();
    const t0 = Date.now();
    for (let i = 0; i < BURST; i++) {
      const d = Math.floor(rng.next() * docs.length);
      lsp.insert(docs[d], 2, cols[d], 'abcdefghij'[i % 10]);
      cols[d]++;
      const source = new CancellationTokenSource();
      // A deeper budget than the arrival rate allows: most requests are superseded while queued.
      const p = lsp.complete(docs[d], 2, cols[d], { ...budget, steps: 32, maxTokens: 16 }, source.token).catch(() => ({ items: [] }));
      if (rng.next() < 0.3) setTimeout(() => source.cancel(), rng.next() * 20);
      pending.push(p);
      lastOf.set(docs[d], p);
      // 1,000 requests spread over 10 seconds.
      const due = t0 + ((i + 1) * 10_000) / BURST;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await Promise.all(pending);
    const after = (await lsp.waitForState(['ready'])).counters!;
    const requests = after.requests - before.requests;
    const computed = after.computed - before.computed;
    console.log(`      burst: ${requests} requests reached the model path, ${computed} computed, ${after.cancelled - before.cancelled} cancelled, ${after.cacheHits - before.cacheHits} cache hits`);
    assert.ok(requests <= BURST);
    // Superseded and cancelled requests are not computed.
    assert.ok(computed < requests / 2, `computed ${computed} of ${requests}`);
    // The last request of each document was not superseded.
    for (const p of lastOf.values()) assert.ok((await p).items !== undefined);
    const rssAfter = rssMb(pid);
    assert.ok(rssAfter - rssBefore < 200, `RSS grew from ${rssBefore.toFixed(0)} to ${rssAfter.toFixed(0)} MB`);
    // Latency recovers.
    const recovered: number[] = [];
    for (let i = 0; i < 10; i++) {
      lsp.insert(docs[1], 2, cols[1] + i, String(i % 10));
      recovered.push(await timed(docs[1], 2, cols[1] + i + 1));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    assert.ok(median(recovered) < 3 * median(base) + 50, `median latency ${median(recovered).toFixed(1)} ms vs ${median(base).toFixed(1)} ms before`);
  });

  it(`a long session of ${LONG} requests shows no memory growth`, async function () {
    const pid = lsp.proc.pid!;
    const uri = 'file:///load/long.py';
    lsp.open(uri, '');
    let version = 1;
    let rssWarm = 0;
    for (let i = 0; i < LONG; i++) {
      // Even: the user typed (a fresh prefix, computed); odd: the same request again (cache hit).
      const text = `def g${i >> 1}(y):\n    return y + ${i % 97}`;
      if (i % 2 === 0) {
        void lsp.conn.sendNotification('textDocument/didChange', { textDocument: { uri, version: ++version }, contentChanges: [{ text }] });
      }
      const lastLine = `    return y + ${(i - (i % 2)) % 97}`;
      await lsp.complete(uri, 1, lastLine.length, budget).catch(() => undefined);
      if (i === Math.floor(LONG / 5)) rssWarm = rssMb(pid);
    }
    const rssEnd = rssMb(pid);
    console.log(`      long session: RSS ${rssWarm.toFixed(0)} MB after ${LONG / 5} requests, ${rssEnd.toFixed(0)} MB after ${LONG}`);
    assert.ok(rssEnd - rssWarm < 60, `RSS grew from ${rssWarm.toFixed(0)} to ${rssEnd.toFixed(0)} MB`);
  });
});
