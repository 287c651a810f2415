// What the decoders (plain, speculative, beam) share for one request: the model and its cache, the
// forward options every token runs with, the stop rules and the sink that applies them, sampling.
import { CancelSignal } from '../cancel';
import { DocumentCache } from '../documentCache';
import { GenerateRequest } from '../generateRequest';
import { HuginnModel } from '../huginnModel';
import { KvCache } from '../kvCache';
import { Rng } from '../random';
import { ForwardOptions } from '../recurrence';
import { SamplingOptions } from '../sampling';
import { StopRules, stopRules, TokenEvent, TokenSink } from '../stopping';

export interface Decoding {
  model: HuginnModel;
  req: GenerateRequest;
  base: ForwardOptions;
  stop: StopRules;
  sink: TokenSink;
  sampling: SamplingOptions;
  rng: Rng;
  cache: KvCache;
  contextLeft(): number;
  /** The next-token distribution a decoder chooses from after `generated`: the model's logits,
   *  with the request's document cache mixed in (then log-probabilities). */
  next(logits: Float32Array, generated: readonly number[]): Float32Array;
}

/** The decoding state of a validated request whose forwards stop when `cancel` fires. */
export function newDecoding(model: HuginnModel, req: GenerateRequest, cache: KvCache, cancel: CancelSignal, onToken: (e: TokenEvent) => void): Decoding {
  const seed = req.seed ?? 0;
  const stop = stopRules(model, req);
  const sink = new TokenSink(model, stop, req.maxTokens, onToken);
  const document = req.documentIds && new DocumentCache(req.documentIds.before, req.documentIds.after, req.documentIds.others);
  return {
    model,
    req,
    base: { steps: req.steps, stateInit: req.stateInit ?? 'random', seed, numLogits: 1, cancel },
    stop,
    sink,
    sampling: { temperature: 0, topK: 0, topP: 1, ...req.sampling },
    rng: new Rng(seed, 0x5a3b1e),
    cache,
    contextLeft: () => model.cfg.blockSize - req.ids.length - sink.ids.length,
    next: (logits, generated) => (document ? document.mix(logits, generated) : logits),
  };
}

/** Ends the generation (with its reason) once the context or the KV memory ceiling is reached. */
export function outOfRoom(d: Decoding): boolean {
  if (d.contextLeft() <= 0) d.sink.finishReason = 'context';
  else if (d.cache.usedBytes >= (d.req.maxKvBytes ?? Infinity)) d.sink.finishReason = 'memory';
  return d.sink.done;
}
