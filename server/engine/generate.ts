// Autoregressive generation over the recurrent forward. Plain decoding runs each token through
// the KV cache (optionally with adaptive exit and a warm-started state); self-speculative decoding
// drafts a few tokens with few iterations and verifies them in one pass at the full budget. With
// useCache off, every token recomputes the whole sequence: the reference path that cached decoding
// must agree with.
import { CancelledError, CancelSignal, NEVER_CANCELLED } from './cancel';
import { beamSearch } from './beamSearch';
import { AdaptiveExit, validateExit } from './exitRules';
import { HuginnModel, StateInit } from './huginnModel';
import { KvCache, parseKvStrategy } from './kvCache';
import { PromptCache } from './promptCache';
import { forwardChunk, ForwardOptions, ForwardResult } from './recurrence';
import { Rng } from './random';
import { argmax, SamplingOptions, sampleToken } from './sampling';
import { firstTokenMask, restrictTo } from './tokenHealing';

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
  /** KV-cache memory ceiling in bytes: generation ends (finish reason 'memory') before passing it. */
  maxKvBytes?: number;
  /** Token healing: the caller took the prompt's last tokens back, whose text this is; the first
   *  generated token must start with it, and the result's text leaves it out. */
  healedText?: string;
  /** The first generated token must hold a non-whitespace character (a completion asked for at
   *  a blank line starts with text on that line, not with more blank lines). */
  startWithText?: boolean;
  /** Beam width: above 1, the result is the likeliest continuation up to a stop that a beam
   *  search of this width finds (beamSearch.ts), not the greedy one. Greedy only: no sampling,
   *  speculation or warm start. */
  beams?: number;
}

/** What makes cached prompt entries interchangeable between two requests. */
function promptKey(req: GenerateRequest): string {
  return JSON.stringify([req.steps, req.stateInit ?? 'random', req.seed ?? 0, req.exit?.exitInPrefill ? req.exit : null]);
}

export type FinishReason = 'eos' | 'length' | 'stop-sequence' | 'context' | 'time' | 'memory';

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
  speculative?: { rounds: number; drafted: number; accepted: number };
  /** Beam search: the summed log-probability of the continuation (and of its stop token). */
  logProb?: number;
  /** Beam search: the texts of the next likeliest finished continuations, likeliest first. */
  alternatives?: string[];
}

export interface TokenEvent {
  id: number;
  /** Text that became final with this token (held back while it could start a stop sequence). */
  delta: string;
  iterations: number;
}

/** Collects generated tokens: stop tokens, stop sequences, the token limit and streamed text. */
class TokenSink {
  readonly ids: number[] = [];
  readonly iterations: number[] = [];
  text = '';
  finishReason: FinishReason | undefined;
  private emitted = 0;

  constructor(
    private readonly model: HuginnModel,
    private readonly stopIds: Set<number>,
    private readonly stops: string[],
    private readonly maxTokens: number,
    private readonly onToken: (e: TokenEvent) => void,
    /** Text the first token starts with that was already in the prompt (token healing). */
    private readonly healed = '',
  ) {}

  get done(): boolean {
    return this.finishReason !== undefined;
  }

  /** Adds a token; returns false once generation must end. */
  push(token: number, iterations: number): boolean {
    if (this.done) return false;
    if (this.stopIds.has(token)) {
      this.finishReason = 'eos';
      return false;
    }
    this.ids.push(token);
    this.iterations.push(iterations);
    this.text = this.model.tokenizer.decode(this.ids).slice(this.healed.length);
    const stopAt = firstStop(this.text, this.stops);
    if (stopAt >= 0) {
      this.text = this.text.slice(0, stopAt);
      this.finishReason = 'stop-sequence';
    }
    const safe = this.finishReason ? this.text.length : this.text.length - heldBack(this.text, this.stops);
    this.onToken({ id: token, delta: this.text.slice(this.emitted, Math.max(this.emitted, safe)), iterations });
    this.emitted = Math.max(this.emitted, safe);
    if (!this.finishReason && this.ids.length >= this.maxTokens) this.finishReason = 'length';
    return !this.done;
  }
}

function validate(model: HuginnModel, req: GenerateRequest): void {
  if (req.ids.length === 0) throw new RangeError('generate needs at least one prompt token');
  const vocab = model.cfg.vocabSize;
  for (const id of req.ids) {
    if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new RangeError(`token id ${id} is outside the vocabulary [0, ${vocab})`);
  }
  if (!Number.isInteger(req.steps) || req.steps < 1) throw new RangeError(`steps must be a positive integer, got ${req.steps}`);
  if (!Number.isInteger(req.maxTokens) || req.maxTokens < 1) throw new RangeError(`maxTokens must be a positive integer, got ${req.maxTokens}`);
  if (req.ids.length >= model.cfg.blockSize) throw new RangeError(`prompt of ${req.ids.length} tokens does not fit the context of ${model.cfg.blockSize}`);
  if (req.exit) validateExit(req.exit);
  if (firstTokenMask(model, req)?.length === 0) {
    throw new RangeError(`no token starts with the healed text ${JSON.stringify(req.healedText)}${req.startWithText ? ' and holds text' : ''}`);
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

/** What the decoding loops share for one request. */
interface Decoding {
  model: HuginnModel;
  req: GenerateRequest;
  base: ForwardOptions;
  sink: TokenSink;
  sampling: SamplingOptions;
  rng: Rng;
  cache: KvCache;
  contextLeft(): number;
}

/** Ends the generation (with its reason) once the context or the KV memory ceiling is reached. */
function outOfRoom(d: Decoding): boolean {
  if (d.contextLeft() <= 0) d.sink.finishReason = 'context';
  else if (d.cache.bytes >= (d.req.maxKvBytes ?? Infinity)) d.sink.finishReason = 'memory';
  return d.sink.done;
}

export async function generate(
  model: HuginnModel,
  req: GenerateRequest,
  onToken: (e: TokenEvent) => void = () => {},
  cancel: CancelSignal = NEVER_CANCELLED,
  prompts?: PromptCache,
): Promise<GenerateResult> {
  validate(model, req);
  const strategy = parseKvStrategy(req.kvStrategy ?? 'full');
  const key = promptKey(req);
  const { cache, reused } = prompts && req.useCache !== false ? prompts.acquire(model, req.ids, strategy, key) : { cache: model.newCache(strategy), reused: 0 };
  // The deadline acts like a cancellation inside the forward (which rolls back the unfinished
  // token), but ends the generation with the tokens it already has.
  const deadline = req.deadline ?? Infinity;
  const pastDeadline = () => Date.now() > deadline;
  const stopSignal: CancelSignal = {
    get cancelled() {
      return cancel.cancelled || pastDeadline();
    },
  };
  const seed = req.seed ?? 0;
  const sink = new TokenSink(model, new Set(model.manifest.specialTokens.stop), (req.stop ?? []).filter((s) => s.length > 0), req.maxTokens, onToken, req.healedText);
  const d: Decoding = {
    model,
    req,
    base: { steps: req.steps, stateInit: req.stateInit ?? 'random', seed, numLogits: 1, cancel: stopSignal },
    sink,
    sampling: { temperature: 0, topK: 0, topP: 1, ...req.sampling },
    rng: new Rng(seed, 0x5a3b1e),
    cache,
    contextLeft: () => model.cfg.blockSize - req.ids.length - sink.ids.length,
  };

  const t0 = performance.now();
  let prefillMs = 0;
  let speculative: GenerateResult['speculative'];
  let logProb: number | undefined;
  let alternatives: string[] | undefined;
  try {
    const prefill = await forwardChunk(model, d.cache, req.ids.slice(reused), { ...d.base, exit: req.exit?.exitInPrefill ? req.exit : undefined });
    const allowed = firstTokenMask(model, req);
    if (allowed) restrictTo(prefill.logits, allowed);
    prefillMs = performance.now() - t0;
    if (req.speculative) speculative = await speculate(d, prefill, req.speculative);
    else if ((req.beams ?? 1) > 1) ({ logProb, alternatives } = await decodeBeams(d, prefill, req.beams!, () => !cancel.cancelled && pastDeadline()));
    else await decodePlain(d, prefill);
  } catch (e) {
    if (!(e instanceof CancelledError) || cancel.cancelled || !pastDeadline()) throw e;
    sink.finishReason = 'time';
  } finally {
    // Even a cancelled request leaves a usable prefix (the cache rolls back unfinished chunks).
    if (prompts && d.cache === cache) prompts.release(cache, req.ids, key);
  }
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
    speculative,
    logProb,
    alternatives,
  };
}

/** One token at a time through the cache (with adaptive exit and warm start when asked), or,
 *  with useCache off, a full recomputation per token. */
async function decodePlain(d: Decoding, prefill: ForwardResult): Promise<void> {
  const { model, req, base, sink } = d;
  let { logits, iterations } = prefill;
  let lastState: Float32Array = prefill.state.slice(prefill.state.length - model.cfg.nEmbd);
  while (sink.push(sampleToken(logits, d.sampling, d.rng), iterations)) {
    if (outOfRoom(d)) return;
    const token = sink.ids[sink.ids.length - 1];
    if (req.useCache === false) {
      d.cache = model.newCache();
      ({ logits, iterations } = await forwardChunk(model, d.cache, [...req.ids, ...sink.ids], base));
    } else {
      const r = await forwardChunk(model, d.cache, [token], { ...base, exit: req.exit, initialState: req.warmStart ? lastState : undefined });
      ({ logits, iterations } = r);
      lastState = r.state;
    }
  }
}

/** The beam search's best continuation, through the sink (stops, streaming, finish reason); its
 *  log-probability and the other finished continuations' texts. */
async function decodeBeams(d: Decoding, prefill: ForwardResult, width: number, timeUp: () => boolean): Promise<{ logProb: number; alternatives: string[] }> {
  const { model, req, sink } = d;
  const best = await beamSearch(
    model,
    d.cache,
    prefill,
    {
      width,
      maxTokens: Math.min(req.maxTokens, d.contextLeft()),
      timeUp,
      memoryFull: () => d.cache.bytes >= (req.maxKvBytes ?? Infinity),
    },
    { ids: new Set(model.manifest.specialTokens.stop), sequences: (req.stop ?? []).filter((s) => s.length > 0), healed: req.healedText ?? '' },
    { ...d.base, exit: req.exit },
  );
  best.ids.forEach((id, i) => sink.push(id, best.iterations[i]));
  // A stop sequence or the token limit was set by the sink.
  sink.finishReason ??= best.cutShort ?? (best.stopped ? 'eos' : 'context');
  return { logProb: best.logProb, alternatives: best.alternatives };
}

/**
 * Self-speculative decoding (the official generate_speculative): draft `lookahead` tokens with
 * `draftSteps` iterations each, drop the drafts from the cache, verify them all in one forward at
 * the full budget, keep the agreeing prefix and take the verifier's token at the first mismatch.
 * The cache then holds only verified entries, so greedy output equals plain decoding.
 */
async function speculate(d: Decoding, prefill: ForwardResult, sp: SpeculativeOptions): Promise<{ rounds: number; drafted: number; accepted: number }> {
  const { model, cache, base, sink } = d;
  const V = model.cfg.vocabSize;
  const threshold = sp.threshold ?? 1;
  const stats = { rounds: 0, drafted: 0, accepted: 0 };
  let pending = sampleToken(prefill.logits, d.sampling, d.rng); // sampled but not yet in the cache
  if (!sink.push(pending, prefill.iterations)) return stats;
  while (!sink.done) {
    if (outOfRoom(d)) break;
    // Draft no further than the context and the token budget allow.
    const lookahead = Math.min(sp.lookahead, d.contextLeft(), d.req.maxTokens - sink.ids.length);
    const start = cache.length;
    const drafts: number[] = [];
    let x = pending;
    for (let i = 0; i < lookahead; i++) {
      const r = await forwardChunk(model, cache, [x], { ...base, steps: sp.draftSteps });
      x = sampleToken(r.logits, d.sampling, d.rng);
      drafts.push(x);
    }
    cache.truncate(start);
    const verify = await forwardChunk(model, cache, [pending, ...drafts.slice(0, -1)], { ...base, numLogits: lookahead });
    let accepted = 0;
    while (accepted < lookahead && keeps(verify.logits.subarray(accepted * V, (accepted + 1) * V), drafts[accepted], threshold)) accepted++;
    stats.rounds++;
    stats.drafted += lookahead;
    stats.accepted += accepted;
    for (let i = 0; i < accepted; i++) if (!sink.push(drafts[i], base.steps)) return stats;
    if (accepted < lookahead) {
      // The verifier's own token at the first mismatch; its predecessor is the last verified entry.
      cache.truncate(start + accepted + 1);
      pending = sampleToken(verify.logits.slice(accepted * V, (accepted + 1) * V), d.sampling, d.rng);
      if (!sink.push(pending, base.steps)) return stats;
    } else {
      pending = drafts[lookahead - 1];
    }
  }
  return stats;
}

function keeps(row: Float32Array, draft: number, threshold: number): boolean {
  if (threshold >= 1) return argmax(row) === draft;
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  // p(draft) >= threshold * p(max)  <=>  logit(draft) - max >= log(threshold)
  return row[draft] - max >= Math.log(threshold);
}

function firstStop(text: string, stops: string[]): number {
  let at = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  return at;
}

/** Length of the longest tail of `text` that is a proper prefix of some stop sequence. */
function heldBack(text: string, stops: string[]): number {
  let hold = 0;
  for (const s of stops) {
    for (let n = Math.min(s.length - 1, text.length); n > hold; n--) {
      if (text.endsWith(s.slice(0, n))) {
        hold = n;
        break;
      }
    }
  }
  return hold;
}
