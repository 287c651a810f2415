// Autoregressive generation: prefill the prompt, then one token at a time through the KV cache
// (or, with useCache off, a full forward over the whole sequence per token: the reference path
// that cached decoding must agree with). Streams text deltas and honours stop sequences.
import { CancelSignal, NEVER_CANCELLED } from './cancel';
import { HuginnModel, StateInit } from './huginnModel';
import { forwardChunk } from './recurrence';
import { Rng } from './random';
import { SamplingOptions, sampleToken } from './sampling';

export interface GenerateRequest {
  /** Prompt token ids (the tokenizer is applied by the caller for text prompts). */
  ids: number[];
  steps: number;
  maxTokens: number;
  sampling?: Partial<SamplingOptions>;
  seed?: number;
  stop?: string[];
  stateInit?: StateInit;
  useCache?: boolean;
}

export type FinishReason = 'eos' | 'length' | 'stop-sequence' | 'context';

export interface GenerateResult {
  ids: number[];
  text: string;
  finishReason: FinishReason;
  /** Core iterations each generated token used. */
  iterations: number[];
  promptTokens: number;
  prefillMs: number;
  decodeMs: number;
}

export interface TokenEvent {
  id: number;
  /** Text that became final with this token (held back while it could start a stop sequence). */
  delta: string;
  iterations: number;
}

export async function generate(
  model: HuginnModel,
  req: GenerateRequest,
  onToken: (e: TokenEvent) => void = () => {},
  cancel: CancelSignal = NEVER_CANCELLED,
): Promise<GenerateResult> {
  if (req.ids.length === 0) throw new RangeError('generate needs at least one prompt token');
  const vocab = model.cfg.vocabSize;
  for (const id of req.ids) {
    if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new RangeError(`token id ${id} is outside the vocabulary [0, ${vocab})`);
  }
  const sampling: SamplingOptions = { temperature: 0, topK: 0, topP: 1, ...req.sampling };
  const seed = req.seed ?? 0;
  const rng = new Rng(seed, 0x5a3b1e);
  const stateInit = req.stateInit ?? 'random';
  const stopIds = new Set(model.manifest.specialTokens.stop);
  const stops = (req.stop ?? []).filter((s) => s.length > 0);
  const useCache = req.useCache ?? true;
  const forwardOpts = { steps: req.steps, stateInit, seed, numLogits: 1, cancel };

  const generated: number[] = [];
  const iterations: number[] = [];
  let emitted = 0;
  let text = '';
  let finishReason: FinishReason = 'length';

  const t0 = performance.now();
  let cache = model.newCache();
  let { logits } = await forwardChunk(model, cache, req.ids, forwardOpts);
  const prefillMs = performance.now() - t0;
  const t1 = performance.now();

  while (generated.length < req.maxTokens) {
    const token = sampleToken(logits, sampling, rng);
    if (stopIds.has(token)) {
      finishReason = 'eos';
      break;
    }
    generated.push(token);
    iterations.push(req.steps);
    text = model.tokenizer.decode(generated);
    const stopAt = firstStop(text, stops);
    if (stopAt >= 0) {
      text = text.slice(0, stopAt);
      finishReason = 'stop-sequence';
    }
    const safe = finishReason === 'stop-sequence' ? text.length : text.length - heldBack(text, stops);
    onToken({ id: token, delta: text.slice(emitted, Math.max(emitted, safe)), iterations: req.steps });
    emitted = Math.max(emitted, safe);
    if (finishReason === 'stop-sequence') break;
    if (generated.length >= req.maxTokens) break;
    if (req.ids.length + generated.length >= model.cfg.blockSize) {
      finishReason = 'context';
      break;
    }
    if (useCache) {
      ({ logits } = await forwardChunk(model, cache, [token], forwardOpts));
    } else {
      cache = model.newCache();
      ({ logits } = await forwardChunk(model, cache, [...req.ids, ...generated], forwardOpts));
    }
  }
  return {
    ids: generated,
    text,
    finishReason,
    iterations,
    promptTokens: req.ids.length,
    prefillMs,
    decodeMs: performance.now() - t1,
  };
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
