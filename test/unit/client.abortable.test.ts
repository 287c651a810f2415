import * as assert from 'assert';
import { delay, untilAbandoned, type CancellationTokenLike } from '../../src/abortable';

/** A cancellation source like VS Code's, with listeners called on cancel(). */
function source() {
  const listeners = new Set<() => void>();
  let cancelled = false;
  const token: CancellationTokenLike = {
    get isCancellationRequested() {
      return cancelled;
    },
    onCancellationRequested(listener) {
      listeners.add(listener);
      return { dispose: () => listeners.delete(listener) };
    },
  };
  return { token, cancel: () => { cancelled = true; for (const l of [...listeners]) l(); }, listeners };
}

function emitter() {
  const listeners = new Set<() => void>();
  return {
    event: (listener: () => void) => { listeners.add(listener); return { dispose: () => listeners.delete(listener) }; },
    fire: () => { for (const l of [...listeners]) l(); },
    listeners,
  };
}

describe('abandoning requests', function () {
  it('passes the value through and unsubscribes', async function () {
    const s = source(), e = emitter();
    assert.strictEqual(await untilAbandoned(Promise.resolve(5), s.token, e.event), 5);
    assert.strictEqual(s.listeners.size, 0);
    assert.strictEqual(e.listeners.size, 0);
  });

  it('resolves undefined on cancellation, without waiting for the request', async function () {
    const s = source();
    const pending = new Promise<number>(() => undefined);
    const result = untilAbandoned(pending, s.token);
    s.cancel();
    assert.strictEqual(await result, undefined);
  });

  it('resolves undefined when the server goes away; a later rejection is swallowed', async function () {
    const s = source(), e = emitter();
    let reject!: (e: Error) => void;
    const request = new Promise<number>((_, r) => { reject = r; });
    const result = untilAbandoned(request, s.token, e.event);
    e.fire();
    assert.strictEqual(await result, undefined);
    reject(new Error('Pending response rejected since connection got disposed'));
    await new Promise((r) => setImmediate(r)); // an unhandled rejection would fail the run
  });

  it('an already-cancelled token resolves at once', async function () {
    const s = source();
    s.cancel();
    assert.strictEqual(await untilAbandoned(Promise.reject(new Error('x')), s.token), undefined);
  });

  it('rejects when the request rejects first', async function () {
    await assert.rejects(untilAbandoned(Promise.reject(new Error('model failed')), source().token), /model failed/);
  });

  it('delay waits, or ends early on cancellation', async function () {
    const s = source();
    const t0 = Date.now();
    await delay(20, s.token);
    assert.ok(Date.now() - t0 >= 15);
    const s2 = source();
    const waiting = delay(10_000, s2.token);
    s2.cancel();
    await waiting;
    assert.strictEqual(s2.listeners.size, 0);
  });
});
