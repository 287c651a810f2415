// What a generation request may ask for, and the checks that reject a request before any graph
// runs.
import { AdaptiveExit, validateExit } from './exitRules';
import { HuginnModel, StateInit } from './huginnModel';
import { SamplingOptions } from './sampling';
import { firstTokenMask } from './tokenHealing';

export interface SpeculativeOptions {
  /** Iterations per drafted token. */
  draftSteps: number;
  /** Tokens drafted per round. */
  lookahead: number;
  /** 1: a draft is kept when it is the verifier's argmax; below 1: when its probability is at
   *  least this fraction of the verifier's most likely token. */
  threshold?: number;
}

export interface GenerateRequest {
  /** Prompt token ids (the tokenizer is applied by the caller for text prompts). */
  ids: number[];
  /** Core iterations per token (the maximum with adaptive exit; the verifier's with speculation). */
  steps: number;
  maxTokens: number;
  sampling?: Partial<SamplingOptions>;
  seed?: number;
  stop?: string[];
  stateInit?: StateInit;
  useCache?: boolean;
  exit?: AdaptiveExit;
  /** KV-cache sharing across iterations (see KvStrategy). */
  kvStrategy?: string;
  /** Start each token's recurrence from the previous token's final state. */
  warmStart?: boolean;
  speculative?: SpeculativeOptions;
  /** Wall-clock deadline (Date.now() milliseconds): past it, generation returns what it has. */
  deadline?: number;
  /** KV-cache memory ceiling, in bytes the cache's rows use: generation ends (finish reason
   *  'memory') before passing it. */
  maxKvBytes?: number;
  /** Prompt tokens per prefill chunk (recurrence.forwardChunked); default: the model's
   *  prefillChunkTokens. */
  prefillChunk?: number;
  /** Only run the prompt into the prompt cache and generate nothing (background prefill: a later
   *  request with the same prompt continues from it). */
  prefillOnly?: boolean;
  /** Token healing: the caller took the prompt's last tokens back, whose text this is; the first
   *  generated token must start with it, and the result's text leaves it out. */
  healedText?: string;
  /** The first generated token's text must match this (a caller's rule, e.g. the editor's for
   *  ghost text asked for at a blank line). */
  firstTokenPattern?: RegExp;
  /** Beam width: above 1, the result is the likeliest continuation up to a stop that a beam
   *  search of this width finds (beamSearch.ts), not the greedy one. Greedy only: no sampling,
   *  speculation or warm start. */
  beams?: number;
  /** Beam search: a finished continuation is a candidate only when its text (up to its stop)
   *  matches this. Default: any text that is not blank ("stop right here" is no answer). */
  beamCandidate?: RegExp;
  /** Token ids of the document around where the prompt ends: `before` it (the continuation
   *  follows these) and `after` it; `others`: of other documents (the editor's other open files).
   *  The document cache (documentCache.ts) mixes what followed their earlier matches into every
   *  decoder's next-token distribution (and into the log-probabilities the result reports). */
  documentIds?: { before: number[]; after?: number[]; others?: number[][] };
}

/** Throws a RangeError naming the first thing wrong with `req` for `model`. */
export function validateRequest(model: HuginnModel, req: GenerateRequest): void {
  if (req.ids.length === 0) throw new RangeError('generate needs at least one prompt token');
  const vocab = model.cfg.vocabSize;
  const docs = req.documentIds;
  for (const id of [...req.ids, ...(docs?.before ?? []), ...(docs?.after ?? []), ...(docs?.others ?? []).flat()]) {
    if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new RangeError(`token id ${id} is outside the vocabulary [0, ${vocab})`);
  }
  if (!Number.isInteger(req.steps) || req.steps < 1) throw new RangeError(`steps must be a positive integer, got ${req.steps}`);
  if (!Number.isInteger(req.maxTokens) || req.maxTokens < 1) throw new RangeError(`maxTokens must be a positive integer, got ${req.maxTokens}`);
  if (req.ids.length >= model.cfg.blockSize) throw new RangeError(`prompt of ${req.ids.length} tokens does not fit the context of ${model.cfg.blockSize}`);
  if (req.exit) validateExit(req.exit);
  if (req.prefillChunk !== undefined && (!Number.isInteger(req.prefillChunk) || req.prefillChunk < 1)) {
    throw new RangeError(`prefillChunk must be a positive integer, got ${req.prefillChunk}`);
  }
  if (firstTokenMask(model, req)?.length === 0) {
    throw new RangeError(`no token starts with the healed text ${JSON.stringify(req.healedText ?? '')}${req.firstTokenPattern ? ` and matches ${req.firstTokenPattern}` : ''}`);
  }
  const sp = req.speculative;
  if (sp) {
    if (!Number.isInteger(sp.draftSteps) || sp.draftSteps < 1) throw new RangeError(`draftSteps must be a positive integer, got ${sp.draftSteps}`);
    if (!Number.isInteger(sp.lookahead) || sp.lookahead < 1 || sp.lookahead > 64) throw new RangeError(`lookahead must be an integer in [1, 64], got ${sp.lookahead}`);
    if (req.warmStart || req.exit) throw new RangeError('speculative decoding cannot be combined with warm start or adaptive exit');
  }
  const beams = req.beams ?? 1;
  if (!Number.isInteger(beams) || beams < 1 || beams > 16) throw new RangeError(`beams must be an integer in [1, 16], got ${req.beams}`);
  if (beams > 1 && (sp || req.warmStart || (req.sampling?.temperature ?? 0) > 0)) {
    throw new RangeError('beam search is greedy: it cannot be combined with sampling, speculative decoding or warm start');
  }
  if (req.useCache === false && (req.exit || req.warmStart || sp || req.kvStrategy)) {
    throw new RangeError('useCache: false is the plain reference path; it takes no exit, warm start, speculation or KV strategy');
  }
}
