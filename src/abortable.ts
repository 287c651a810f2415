// Waiting on the server without ever leaving VS Code hanging: a request is abandoned (resolves to
// undefined) when the editor cancels it or the server goes away, and a debounce wait ends early on
// cancellation. Pure: tokens and events are structural, so tests pass plain fakes.

export interface Disposable {
  dispose(): void;
}

export interface CancellationTokenLike {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): Disposable;
}

/** Subscribes a listener; VS Code's `Event<T>` has this shape. */
export type EventLike = (listener: () => void) => Disposable;

/**
 * Resolves with the request's value, or with `undefined` as soon as `token` is cancelled or
 * `abandon` fires (the server stopped or crashed). Rejects only if the request rejects first.
 * An abandoned request's later rejection is swallowed, never an unhandled rejection.
 */
export function untilAbandoned<T>(request: Promise<T>, token: CancellationTokenLike, abandon?: EventLike): Promise<T | undefined> {
  if (token.isCancellationRequested) {
    request.catch(() => undefined);
    return Promise.resolve(undefined);
  }
  return new Promise<T | undefined>((resolve, reject) => {
    const subscriptions: Disposable[] = [];
    let settled = false;
    const settle = (finish: () => void) => {
      if (settled) return;
      settled = true;
      for (const s of subscriptions) s.dispose();
      finish();
    };
    subscriptions.push(token.onCancellationRequested(() => settle(() => resolve(undefined))));
    if (abandon) subscriptions.push(abandon(() => settle(() => resolve(undefined))));
    request.then(
      (value) => settle(() => resolve(value)),
      (error: unknown) => settle(() => reject(error)),
    );
    // A subscription may have fired synchronously while `subscriptions` was being filled.
    if (settled) for (const s of subscriptions) s.dispose();
  });
}

/** Waits `ms` milliseconds, or less if the token is cancelled meanwhile. */
export function delay(ms: number, token: CancellationTokenLike): Promise<void> {
  if (ms <= 0 || token.isCancellationRequested) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let finished = false;
    let subscription: Disposable | undefined;
    const done = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      subscription?.dispose();
      resolve();
    };
    const timer = setTimeout(done, ms);
    subscription = token.onCancellationRequested(done);
    if (finished) subscription.dispose();
  });
}
