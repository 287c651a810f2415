// The confidence gate: ghost text is shown only as far as the model's own estimate that it is
// right passes the user's bar (recurrentCopilot.minConfidence).
//
// The estimate is the probability the decoder gave the tokens of the text shown (the product of
// their probabilities, each given the ones before it): "the text so far is right" is exactly what
// a shown prefix claims. Calibrated (a logistic fit of "the ghost text is a correct start of the
// rest of the line" on its log) into a confidence in [0, 1]. Of the signals measured by
// `npm run bench:quality` (per-token mean probability, the first token's, the margin to the next
// finished line, the whole line's, agreement between depths) it separates right from wrong best
// (the README has the figures). The gate shows the longest start of the likeliest line
// (at token boundaries, post-processed) whose confidence passes the bar: a line the model is sure
// of up to `foo(` and unsure after shows `foo(`, not nothing and not a wrong whole line.
import { EXPLICIT_CONFIDENCE_FACTOR } from '../protocol';
import { CursorContext, postprocess } from './postprocess';

/** A stretch of the raw continuation and the log-probability the decoder gave it. */
export interface Piece {
  text: string;
  logProb: number;
}

/** confidence = 1 / (1 + exp(-(A + B ln P))), fitted by bench:quality's calibration (seed 2, r = 8,
 *  every token-boundary start of each line) and checked on its seed-1 cursors. */
export const CALIBRATION = { a: 1.53, b: 1.1 } as const;

/** Automatic ghost text shorter than this is not shown: accepting one character takes as many
 *  keys as typing it. */
export const MIN_AUTOMATIC_CHARS = 2;

/** The calibrated confidence of text the decoder gave log-probability `logProb`. */
export function confidenceOf(logProb: number): number {
  if (Number.isNaN(logProb)) return 0;
  return 1 / (1 + Math.exp(-(CALIBRATION.a + CALIBRATION.b * logProb)));
}

export interface Bar {
  minConfidence: number;
  minChars: number;
}

/** The bar a request must pass: the setting for automatic requests (with MIN_AUTOMATIC_CHARS);
 *  an explicit request (the user asked and waits) takes EXPLICIT_CONFIDENCE_FACTOR of it, any
 *  length. 0 turns the gate off: every ghost text is shown whole, as without it. */
export function barFor(minConfidence: number, explicit: boolean): Bar {
  if (minConfidence <= 0) return { minConfidence: 0, minChars: 1 };
  return explicit ? { minConfidence: minConfidence * EXPLICIT_CONFIDENCE_FACTOR, minChars: 1 } : { minConfidence, minChars: MIN_AUTOMATIC_CHARS };
}

export interface Gated {
  insertText: string;
  confidence: number;
}

/** The log-probability of the pieces that make the first `chars` characters of their text. */
function logProbOfStart(pieces: Piece[], chars: number): number {
  let logProb = 0;
  let start = 0;
  for (const p of pieces) {
    if (start >= chars) break;
    logProb += p.logProb;
    start += p.text.length;
  }
  return logProb;
}

/**
 * The ghost text to show for the raw continuation `pieces` at the cursor `ctx` under `bar`: the
 * longest post-processed start of it, ending at a piece boundary, that is a start of the whole
 * post-processed text, has at least `bar.minChars` characters and a confidence of at least
 * `bar.minConfidence`; undefined when none has.
 */
export function gate(pieces: Piece[], ctx: CursorContext, bar: Bar): Gated | undefined {
  const whole = postprocess(pieces.map((p) => p.text).join(''), ctx);
  if (!whole) return undefined;
  let best: Gated | undefined;
  let raw = '';
  for (const piece of pieces) {
    raw += piece.text;
    const text = postprocess(raw, ctx);
    if (text.length < bar.minChars || !whole.startsWith(text) || (best && text.length <= best.insertText.length)) continue;
    const confidence = confidenceOf(logProbOfStart(pieces, text.length));
    if (confidence >= bar.minConfidence) best = { insertText: text, confidence };
  }
  return best;
}

/** The pieces left once the user typed the first `typed` characters of their text (a typed-ahead
 *  cache hit): a piece typed in part keeps its log-probability. */
export function afterTyped(pieces: Piece[], typed: number): Piece[] {
  const out: Piece[] = [];
  let start = 0;
  for (const p of pieces) {
    const end = start + p.text.length;
    if (end > typed) out.push({ text: p.text.slice(Math.max(0, typed - start)), logProb: p.logProb });
    start = end;
  }
  return out;
}
