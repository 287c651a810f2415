// The recurrent forward of a chunk of new tokens: prelude once, the core block up to `steps` times
// on the latent state (fewer when an adaptive exit rule says the state has converged), then the
// coda. Driven from TypeScript one graph run at a time, so the count can differ per request and
// per token, and cancellation lands between any two runs.
import { CancelledError, CancelSignal, NEVER_CANCELLED, throwIfCancelled } from './cancel';
import { AdaptiveExit, ExitEvaluator } from './exitRules';
import { Decoded, HuginnModel, Latent, StateInit } from './huginnModel';
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
  /** Return the final latent state (ForwardResult.state). Where the state stays on the GPU this
   *  costs one read-back run, so only warm start asks for it. */
  returnState?: boolean;
}

export interface ForwardResult {
  /** [numLogits, vocab] row-major float32. */
  logits: Float32Array;
  /** Final latent state [S, h], when `returnState` was set. */
  state?: Float32Array;
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
  // The injection and the state may live on the GPU (Latent): each state is disposed once the
  // next iteration has replaced it, and whatever is left when the chunk ends, however it ends.
  let injection: Latent | undefined;
  let state: Latent | undefined;
  let decoded: Decoded | undefined;
  try {
    throwIfCancelled(cancel);
    injection = await model.prelude(ids, start, cache);
    const initial = opts.initialState ?? model.initialState(start, count, opts.stateInit, opts.seed);
    state = initial;
    const evaluator = opts.exit && opts.exit.criterion !== 'none' ? new ExitEvaluator(opts.exit, initial, model.cfg.vocabSize, h) : undefined;
    const exitValues: number[] = [];
    let k = 0;
    while (k < opts.steps) {
      throwIfCancelled(cancel);
      const next: Latent = await model.core(state, injection, start, count, k, cache);
      model.dispose(state);
      state = next;
      decoded?.release();
      decoded = undefined;
      k++;
      if (evaluator?.consulted(k - 1)) {
        if (evaluator.needsLogits) {
          throwIfCancelled(cancel);
          decoded = await model.coda(state, start, count, numLogits, cache);
        }
        const lastRow = decoded?.logits.subarray((numLogits - 1) * model.cfg.vocabSize);
        // Only the latent rules read the state itself: a copy comes back from the GPU for them.
        const hostState = evaluator.needsState ? await model.read(state) : undefined;
        const { exit, value } = evaluator.check(hostState, lastRow);
        exitValues.push(value);
        if (exit) break;
      }
    }
    throwIfCancelled(cancel);
    // The exit check may already have decoded the final state.
    decoded ??= await model.coda(state, start, count, numLogits, cache);
    const finalState = opts.returnState ? await model.read(state) : undefined;
    decoded.commit();
    cache.commit(count, k);
    return { logits: decoded.logits, state: finalState, iterations: k, exitValues };
  } catch (e) {
    cache.truncate(start); // drop the rows of the unfinished chunk
    throw e;
  } finally {
    decoded?.release(); // a no-op once committed
    model.dispose(state);
    model.dispose(injection);
  }
}

/** Multiply-accumulates one core graph run may take during a prefill: chunks this size keep one
 *  run near a quarter second on a 2-core CPU at huginn-0125's size (16 tokens a run there), so a
 *  cancellation waits that long at most; a small model's whole prompt is one chunk. */
const PREFILL_MACS_PER_RUN = 2.5e10;

/** Prompt tokens per prefill chunk for this model. */
export function prefillChunkTokens(model: HuginnModel): number {
  const { nEmbd: h, intermediateSize: ff, nLayersInRecurrentBlock: layers } = model.cfg;
  const macsPerToken = layers * (4 * h * h + 3 * h * ff);
  return Math.max(1, Math.floor(PREFILL_MACS_PER_RUN / macsPerToken));
}

/**
 * A prompt's forward in chunks of at most `chunk` tokens, each committed to the cache as it
 * finishes: a cancelled or timed-out prefill keeps the chunks it finished (the prompt cache
 * reuses them), and a cancellation waits for one chunk's graph run at most. The result is the
 * last chunk's. Chunked and one-shot prefills compute the same values (each position's initial
 * state is seeded by its position; attention over cached rows is attention over the chunk),
 * except that an adaptive exit in the prefill decides per chunk.
 */
export async function forwardChunked(
  model: HuginnModel,
  cache: KvCache,
  ids: number[],
  opts: ForwardOptions,
  chunk: number,
  /** Checked between chunks only (a deadline): stops the pass with a CancelledError there. */
  stopBetweenChunks: () => boolean = () => false,
): Promise<ForwardResult> {
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`prefill chunk must be a positive integer, got ${chunk}`);
  let result: ForwardResult | undefined;
  for (let at = 0; at < ids.length; at += chunk) {
    if (stopBetweenChunks()) throw new CancelledError();
    const last = at + chunk >= ids.length;
    result = await forwardChunk(model, cache, ids.slice(at, at + chunk), { ...opts, numLogits: last ? opts.numLogits : 1, returnState: last && opts.returnState });
  }
  if (!result) throw new RangeError('forward of an empty chunk');
  return result;
}

/** What a prompt token costs on this machine: the prelude and coda once, and each core iteration. */
export interface PromptCost {
  outerMs: number;
  iterationMs: number;
}

/** Measures PromptCost at load on a chunk of 16 tokens (the prefill chunk at huginn-0125's size),
 *  at 1 and 2 iterations after a warm-up run (a session's first run allocates its buffers). */
export async function measurePromptCost(model: HuginnModel): Promise<PromptCost> {
  const ids = Array.from({ length: Math.min(16, model.cfg.blockSize - 1) }, (_, i) => i);
  const msPerToken = async (steps: number) => {
    const t0 = performance.now();
    const cache = model.newCache();
    await forwardChunk(model, cache, ids, { steps, stateInit: 'zero', seed: 0, numLogits: 1 });
    cache.releaseDevice();
    return (performance.now() - t0) / ids.length;
  };
  await msPerToken(1);
  const one = await msPerToken(1);
  const two = await msPerToken(2);
  const iterationMs = Math.max(0, two - one);
  return { outerMs: Math.max(0, one - iterationMs), iterationMs };
}
