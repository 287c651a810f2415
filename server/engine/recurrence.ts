// The recurrent forward of a chunk of new tokens: prelude once, the core block `steps` times on
// the latent state, then the coda. Driven from TypeScript one graph run at a time so the count
// can differ per request and cancellation lands between any two runs.
import { CancelSignal, NEVER_CANCELLED, throwIfCancelled } from './cancel';
import { HuginnModel, StateInit } from './huginnModel';
import { KvCache } from './kvCache';

export interface ForwardOptions {
  steps: number;
  stateInit: StateInit;
  seed: number;
  /** Logits are returned for this many last positions of the chunk. */
  numLogits: number;
  cancel?: CancelSignal;
}

export interface ForwardResult {
  /** [numLogits, vocab] row-major float32. */
  logits: Float32Array;
  /** Final latent state [S, h]. */
  state: Float32Array;
}

/** Runs `ids` (appended after the cached tokens) through the whole model and commits them to the cache. */
export async function forwardChunk(model: HuginnModel, cache: KvCache, ids: number[], opts: ForwardOptions): Promise<ForwardResult> {
  if (ids.length === 0) throw new RangeError('forward of an empty chunk');
  if (!Number.isInteger(opts.steps) || opts.steps < 1) throw new RangeError(`steps must be a positive integer, got ${opts.steps}`);
  const cancel = opts.cancel ?? NEVER_CANCELLED;
  const start = cache.length;
  const count = ids.length;
  try {
    throwIfCancelled(cancel);
    const injection = await model.prelude(ids, start, cache);
    let state = model.initialState(start, count, opts.stateInit, opts.seed);
    for (let k = 0; k < opts.steps; k++) {
      throwIfCancelled(cancel);
      state = await model.core(state, injection, start, count, k, cache);
    }
    throwIfCancelled(cancel);
    const logits = await model.coda(state, start, count, Math.min(opts.numLogits, count), cache, true);
    cache.commit(count, opts.steps);
    return { logits, state };
  } catch (e) {
    cache.truncate(start); // drop the rows of the unfinished chunk
    throw e;
  }
}
