// When a generation stops, and what text it has streamed so far: stop tokens, stop sequences (the
// text ends before the first one, and a tail that could still start one is held back from the
// stream) and the token limit. Plain, speculative and beam decoding all follow these rules.
import { HuginnModel } from './huginnModel';

export type FinishReason = 'eos' | 'length' | 'stop-sequence' | 'context' | 'time' | 'memory';

export interface TokenEvent {
  id: number;
  /** Text that became final with this token (held back while it could start a stop sequence). */
  delta: string;
  iterations: number;
}

export interface StopRules {
  /** Token ids that end a continuation (not part of it). */
  ids: Set<number>;
  /** Text that ends a continuation once it appears in the continuation's text. */
  sequences: string[];
  /** Text the first token starts with that was already in the prompt (token healing): not part
   *  of the continuation's text. */
  healed: string;
}

/** A request's stop rules: the model's stop tokens, its non-empty stop sequences. */
export function stopRules(model: HuginnModel, req: { stop?: string[]; healedText?: string }): StopRules {
  return { ids: new Set(model.manifest.specialTokens.stop), sequences: (req.stop ?? []).filter((s) => s.length > 0), healed: req.healedText ?? '' };
}

/** Where the first stop sequence starts in `text` (-1: none). */
export function firstStop(text: string, stops: string[]): number {
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

/** Collects generated tokens: stop tokens, stop sequences, the token limit and streamed text. */
export class TokenSink {
  readonly ids: number[] = [];
  readonly iterations: number[] = [];
  text = '';
  finishReason: FinishReason | undefined;
  private emitted = 0;

  constructor(
    private readonly model: HuginnModel,
    private readonly stop: StopRules,
    private readonly maxTokens: number,
    private readonly onToken: (e: TokenEvent) => void,
  ) {}

  get done(): boolean {
    return this.finishReason !== undefined;
  }

  /** Adds a token; returns false once generation must end. */
  push(token: number, iterations: number): boolean {
    if (this.done) return false;
    if (this.stop.ids.has(token)) {
      this.finishReason = 'eos';
      return false;
    }
    this.ids.push(token);
    this.iterations.push(iterations);
    this.text = this.model.tokenizer.decode(this.ids).slice(this.stop.healed.length);
    const stopAt = firstStop(this.text, this.stop.sequences);
    if (stopAt >= 0) {
      this.text = this.text.slice(0, stopAt);
      this.finishReason = 'stop-sequence';
    }
    const safe = this.finishReason ? this.text.length : this.text.length - heldBack(this.text, this.stop.sequences);
    this.onToken({ id: token, delta: this.text.slice(this.emitted, Math.max(this.emitted, safe)), iterations });
    this.emitted = Math.max(this.emitted, safe);
    if (!this.finishReason && this.ids.length >= this.maxTokens) this.finishReason = 'length';
    return !this.done;
  }
}
