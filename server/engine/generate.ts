// Autoregressive generation over the recurrent forward: validates the request (generateRequest.ts),
// takes a KV cache (the previous prompt's when it can be reused), runs the prompt's prefill and
// hands the rest to one decoder (decoders/: plain, self-speculative or beam), within a deadline
// and the stop rules (stopping.ts).
import { CancelledError, CancelSignal, NEVER_CANCELLED } from './cancel';
import { decodeBeams } from './decoders/beam';
import { Decoding, newDecoding } from './decoders/decoding';
import { decodePlain } from './decoders/plain';
import { decodeSpeculative, SpeculativeStats } from './decoders/speculative';
import { GenerateRequest, validateRequest } from './generateRequest';
import { HuginnModel } from './huginnModel';
import { parseKvStrategy } from './kvCache';
import { PromptCache } from './promptCache';
import { forwardChunked, ForwardResult, prefillChunkTokens } from './recurrence';
import { FinishReason, TokenEvent } from './stopping';
import { firstTokenMask, restrictTo } from './tokenHealing';

export interface GenerateResult {
  ids: number[];
  /** Prompt tokens whose KV entries were reused from the previous request. */
  reusedTokens: number;
  text: string;
  finishReason: FinishReason;
  /** Core iterations of the forward that produced each generated token. */
  iterations: number[];
  promptTokens: number;
  prefillMs: number;
  decodeMs: number;
  /** KV-cache bytes per cached token at the end. */
  kvBytesPerToken: number;
  speculative?: SpeculativeStats;
  /** Beam search: the summed log-probability of the continuation (and of its stop token). */
  logProb?: number;
  /** The log-probability of each token of `ids` given the ones before it (beam search and plain
   *  decoding; not speculative). */
  tokenLogProbs?: number[];
  /** Beam search: the texts of the next likeliest finished continuations, likeliest first. */
  alternatives?: string[];
  /** Beam search: their summed log-probabilities, in the same order. */
  alternativeLogProbs?: number[];
  /** Beam search: the best score of any other continuation when the search ended (the next
   *  finished one's or a live beam's); -Infinity when there was none. */
  runnerUpLogProb?: number;
}

/** What a decoder adds to the result. */
type DecoderResult = Pick<GenerateResult, 'speculative' | 'logProb' | 'tokenLogProbs' | 'alternatives' | 'alternativeLogProbs' | 'runnerUpLogProb'>;

/** What makes cached prompt entries interchangeable between two requests. */
function promptKey(req: GenerateRequest): string {
  return JSON.stringify([req.steps, req.stateInit ?? 'random', req.seed ?? 0, req.exit?.exitInPrefill ? req.exit : null]);
}

/** The deadline acts like a cancellation inside the forward (which rolls back the unfinished
 *  token), but ends the generation with the tokens it already has: `signal` fires for either,
 *  `timeUp` only for the deadline. */
function withDeadline(cancel: CancelSignal, deadline: number): { signal: CancelSignal; timeUp: () => boolean } {
  const pastDeadline = () => Date.now() > deadline;
  return {
    signal: {
      get cancelled() {
        return cancel.cancelled || pastDeadline();
      },
    },
    timeUp: () => !cancel.cancelled && pastDeadline(),
  };
}

export async function generate(
  model: HuginnModel,
  req: GenerateRequest,
  onToken: (e: TokenEvent) => void = () => {},
  cancel: CancelSignal = NEVER_CANCELLED,
  prompts?: PromptCache,
): Promise<GenerateResult> {
  validateRequest(model, req);
  const strategy = parseKvStrategy(req.kvStrategy ?? 'full');
  const key = promptKey(req);
  const { cache, reused } = prompts && req.useCache !== false ? prompts.acquire(model, req.ids, strategy, key) : { cache: model.newCache(strategy), reused: 0 };
  const { signal, timeUp } = withDeadline(cancel, req.deadline ?? Infinity);
  const d = newDecoding(model, req, cache, signal, onToken);
  const t0 = performance.now();
  let prefillMs = 0;
  let decoded: DecoderResult = {};
  try {
    // A background prefill of a prompt the cache already holds has nothing left to do.
    if (req.prefillOnly && reused >= req.ids.length - 1) return emptyResult(req, reused);
    // The deadline ends a prompt pass between chunks, never inside one: a chunk cut short is work
    // thrown away (seconds of it at full size), while a finished one serves the next request.
    const prefillOpts = { ...d.base, cancel, exit: req.exit?.exitInPrefill ? req.exit : undefined, returnState: req.warmStart };
    const prefill = await forwardChunked(model, d.cache, req.ids.slice(reused), prefillOpts, req.prefillChunk ?? prefillChunkTokens(model), timeUp);
    prefillMs = performance.now() - t0;
    if (!req.prefillOnly) {
      const allowed = firstTokenMask(model, req);
      if (allowed) restrictTo(prefill.logits, allowed);
      decoded = await decode(d, prefill, timeUp);
    }
  } catch (e) {
    if (!(e instanceof CancelledError) || !timeUp()) throw e;
    d.sink.finishReason = 'time';
  } finally {
    // Even a cancelled or timed-out request leaves a usable prefix: the prompt chunks it finished
    // (the cache rolls back only the unfinished one).
    if (prompts && d.cache === cache) prompts.release(cache, req.ids, key);
    else cache.releaseDevice(); // GPU buffers are freed explicitly, never by the garbage collector
    if (d.cache !== cache) d.cache.releaseDevice();
  }
  const { sink } = d;
  return {
    ids: sink.ids,
    reusedTokens: reused,
    text: sink.text,
    finishReason: sink.finishReason ?? 'length',
    iterations: sink.iterations,
    promptTokens: req.ids.length,
    prefillMs,
    decodeMs: performance.now() - t0 - prefillMs,
    kvBytesPerToken: d.cache.length ? d.cache.usedBytes / d.cache.length : 0,
    speculative: decoded.speculative,
    logProb: decoded.logProb,
    tokenLogProbs: decoded.tokenLogProbs,
    alternatives: decoded.alternatives,
    alternativeLogProbs: decoded.alternativeLogProbs,
    runnerUpLogProb: decoded.runnerUpLogProb,
  };
}

/** The result of a request that ran nothing. */
function emptyResult(req: GenerateRequest, reused: number): GenerateResult {
  return { ids: [], reusedTokens: reused, text: '', finishReason: 'length', iterations: [], promptTokens: req.ids.length, prefillMs: 0, decodeMs: 0, kvBytesPerToken: 0 };
}

/** Decodes after the prefill with the decoder the request asks for. */
async function decode(d: Decoding, prefill: ForwardResult, timeUp: () => boolean): Promise<DecoderResult> {
  const { req } = d;
  if (req.speculative) return { speculative: await decodeSpeculative(d, prefill, req.speculative) };
  if ((req.beams ?? 1) > 1) return decodeBeams(d, prefill, req.beams!, timeUp);
  return decodePlain(d, prefill);
}
