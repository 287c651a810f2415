// What one loaded engine allows a completion: the KV ceiling (measured once the model is in); how
// long a cursor's prompt may be, from what a prompt token costs on this machine (measured at load):
// at most what a prompt pass takes in while the user pauses; and how wide a beam search fits the
// time cap, from the time a decoding step took in the ghost texts served so far at each depth. A
// beam search runs one forward per beam and token, so a width that is instant on the default
// model takes tens of seconds on huginn-0125's on a CPU; there ghost text falls back to greedy
// decoding instead of answering empty at the cap.
import { kvCeilingBytes } from '../engine/memory';
import { GenerateResult } from '../engine/generate';
import { PromptCost } from '../engine/recurrence';

/** Tokens a beam search should be able to grow within half the time cap. */
const BEAM_TOKENS = 8;
/** A cursor's prompt is at most what a prompt pass takes in this long, so that a background
 *  prefill during a pause of a minute holds all of it when the user comes back. */
const PROMPT_SECONDS = 45;
/** Never fewer prompt tokens than this. */
const MIN_PROMPT_TOKENS = 128;

export class ServingLimits {
  readonly kvCeilingBytes = kvCeilingBytes();

  constructor(private readonly promptCost: PromptCost) {}

  /** The longest cursor prompt at `steps` iterations: what PROMPT_SECONDS of prompt pass take in,
   *  as a power of two (a cap that moved with every measurement would move the prompt's start and
   *  lose the prompt cache). The default model's is far above its context; huginn-0125's (int4,
   *  2 cores, r=4) a few hundred tokens. */
  maxPromptTokens(steps: number): number {
    const msPerToken = this.promptCost.outerMs + steps * this.promptCost.iterationMs;
    if (msPerToken <= 0) return Infinity;
    return Math.max(MIN_PROMPT_TOKENS, 2 ** Math.floor(Math.log2((PROMPT_SECONDS * 1000) / msPerToken)));
  }
  /** Milliseconds of one single-token forward, by iterations per token (the latest measured). */
  private readonly stepMs = new Map<number, number>();

  /** The beam width to use: the setting's, unless steps measured at this depth say it cannot
   *  grow BEAM_TOKENS tokens within half of `timeCapMs`; then 1 (greedy). */
  beamWidth(setting: number, steps: number, timeCapMs: number): number {
    const ms = this.stepMs.get(steps);
    return setting > 1 && ms !== undefined && ms * setting * BEAM_TOKENS > timeCapMs / 2 ? 1 : setting;
  }

  /** Learns the step time from a finished ghost text decoded with `width` beams. */
  record(result: GenerateResult, steps: number, width: number): void {
    const forwards = result.ids.length * width;
    if (forwards > 0 && result.decodeMs > 0) this.stepMs.set(steps, result.decodeMs / forwards);
  }
}
