// The recurrent forward of a chunk of new tokens: prelude once, the core block up to `steps` times
// on the latent state (fewer when an adaptive exit rule says the state has converged), then the
// coda. Driven from TypeScript one graph run at a time, so the count can differ per request and
// per token, and cancellation lands between any two runs.
import { CancelSignal, NEVER_CANCELLED, throwIfCancelled } from './cancel';
import { AdaptiveExit, ExitEvaluator } from './exitRules';
import { HuginnModel, StateInit } from './huginnModel';
import { KvCache } from './kvCache';

export interface ForwardOptions {
  /** Iterations to run (the maximum when `exit` is set). */
  steps: number;
  stateInit: StateInit;
  seed: number;
  /** Logits are returned for this many last positions of the chunk. */
  numLogits: number;
  cancel?: CancelSignal;
  /** Adaptive exit rule; decided on the whole chunk (the last position's distribution). */
  exit?: AdaptiveExit;
  /** Warm start: the initial latent state [S, h] instead of a fresh one. */
  initialState?: Float32Array;
}

export interface ForwardResult {
  /** [numLogits, vocab] row-major float32. */
  logits: Float32Array;
  /** Final latent state [S, h]. */
  state: Float32Array;
  /** Core iterations run. */
  iterations: number;
  /** Exit values after each consulted iteration (empty without an exit rule). */
  exitValues: number[];
}

/** Runs `ids` (appended after the cached tokens) through the whole model and commits them to the cache. */
export async function forwardChunk(model: HuginnModel, cache: KvCache, ids: number[], opts: ForwardOptions): Promise<ForwardResult> {
  if (ids.length === 0) throw new RangeError('forward of an empty chunk');
  if (!Number.isInteger(opts.steps) || opts.steps < 1) throw new RangeError(`steps must be a positive integer, got ${opts.steps}`);
  const cancel = opts.cancel ?? NEVER_CANCELLED;
  const start = cache.length;
  const count = ids.length;
  const h = model.cfg.nEmbd;
  const numLogits = Math.min(opts.numLogits, count);
  if (opts.initialState && opts.initialState.length !== count * h) {
    throw new RangeError(`initial state has ${opts.initialState.length} values, expected ${count * h}`);
  }
  try {
    throwIfCancelled(cancel);
    const injection = await model.prelude(ids, start, cache);
    let state = opts.initialState ?? model.initialState(start, count, opts.stateInit, opts.seed);
    const evaluator = opts.exit && opts.exit.criterion !== 'none' ? new ExitEvaluator(opts.exit, state, model.cfg.vocabSize, h) : undefined;
    const exitValues: number[] = [];
    let decoded: { logits: Float32Array; commit: () => void } | undefined;
    let k = 0;
    while (k < opts.steps) {
      throwIfCancelled(cancel);
      state = await model.core(state, injection, start, count, k, cache);
      decoded = undefined;
      k++;
      if (evaluator?.consulted(k - 1)) {
        if (evaluator.needsLogits) {
          throwIfCancelled(cancel);
          decoded = await model.coda(state, start, count, numLogits, cache);
        }
        const lastRow = decoded?.logits.subarray((numLogits - 1) * model.cfg.vocabSize);
        const { exit, value } = evaluator.check(state, lastRow);
        exitValues.push(value);
        if (exit) break;
      }
    }
    throwIfCancelled(cancel);
    // The exit check may already have decoded the final state.
    decoded ??= await model.coda(state, start, count, numLogits, cache);
    decoded.commit();
    cache.commit(count, k);
    return { logits: decoded.logits, state, iterations: k, exitValues };
  } catch (e) {
    cache.truncate(start); // drop the rows of the unfinished chunk
    throw e;
  }
}
