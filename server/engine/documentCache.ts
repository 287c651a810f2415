// The document cache: a next-token distribution from the document itself, mixed into the model's
// (a cache language model: Kuhn & De Mori 1990; for code, Tu et al. 2014 and Hellendoorn & Devanbu
// 2017; Grave et al. 2017 for neural models). Code repeats its own names and phrases, and a small
// model copies them poorly: after `getVgPositionChannel(channe` the default model writes `r`. The
// cache looks up the places where the text's last tokens occur in the document (before the cursor,
// far beyond the model's context, and after it) and what followed there; the longer the match,
// the more weight the tokens that followed get; the editor's other open files are searched alike
// (docs/architecture.md, "Document cache").
import { logSoftmax } from './sampling';

/** Mixing weight of the cache by the length (in tokens) of the longest earlier match of the
 *  text's tail; the last entry holds for longer matches. Index 0 is the document's own tokens
 *  with no match, used only when the decoder's distribution is masked (the first token under token
 *  healing, which must start with the text given back: the document's tokens that do are the
 *  likely names). A one-token match says little (weight 0). Chosen on bench:quality's seed-2
 *  cursors (the calibration's draw): exact lines stayed within 84-90 of 300 (71 without the
 *  cache) from half to twice these weights, so the values are not tuned to the draw. */
const WEIGHTS = [0.2, 0, 0.3, 0.5, 0.6];
/** Matches are not extended past this many tokens. */
const MAX_MATCH = 8;

export class DocumentCache {
  /** `document`: token ids of the text before the continuation starts (the prompt's end);
   *  `after`: of the text after that point (a cursor's), searched for matches too. */
  constructor(
    private readonly document: readonly number[],
    private readonly after: readonly number[] = [],
    /** Token ids of other documents (the editor's other open files of the language), searched
     *  for matches as well. */
    private readonly others: readonly (readonly number[])[] = [],
  ) {}

  /**
   * The decoder's distribution for the token after `generated` (which follows the document):
   * the model's `logits` mixed with the cache, as log-probabilities. Tokens the logits mask
   * (-Infinity) stay masked. Returns the logits unchanged when the cache has nothing to add.
   */
  mix(logits: Float32Array, generated: readonly number[]): Float32Array {
    const seq = generated.length ? [...this.document, ...generated] : this.document;
    const followers = this.followers(seq, logits);
    if (!followers) return logits;
    const { tokens, weight } = followers;
    const lp = logSoftmax(logits);
    const out = new Float32Array(lp.length);
    const keep = Math.log(1 - weight);
    for (let t = 0; t < lp.length; t++) out[t] = lp[t] + keep;
    const counts = new Map<number, number>();
    for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
    for (const [t, c] of counts) out[t] = logAddExp(out[t], Math.log((weight * c) / tokens.length));
    return out;
  }

  /** The tokens (repeated as often as they occur) that followed the longest earlier matches of
   *  `seq`'s tail that lead to an allowed token, and the weight they get; undefined for none. */
  private followers(seq: readonly number[], logits: Float32Array): { tokens: number[]; weight: number } | undefined {
    const n = seq.length;
    const allowed = (t: number) => logits[t] > -Infinity;
    if (n >= 1) {
      const byLength: number[][] = [];
      // earlier in the text itself, anywhere after the cursor and in the other documents
      matches(seq, n - 1, seq, allowed, byLength);
      matches(this.after, this.after.length - 1, seq, allowed, byLength);
      for (const other of this.others) matches(other, other.length - 1, seq, allowed, byLength);
      for (let length = byLength.length - 1; length >= 1; length--) {
        const weight = WEIGHTS[Math.min(length, WEIGHTS.length - 1)];
        if (byLength[length] && weight > 0) return { tokens: byLength[length], weight };
      }
    }
    if (!logits.some((x) => x === -Infinity)) return undefined;
    const tokens = this.document.filter(allowed);
    return tokens.length ? { tokens, weight: WEIGHTS[0] } : undefined;
  }
}

/** Adds to `byLength[l]` the token that follows each place in `source` where the last l tokens
 *  of `seq` occur (l up to MAX_MATCH), for the places that end before index `end`. */
function matches(source: readonly number[], end: number, seq: readonly number[], allowed: (t: number) => boolean, byLength: number[][]): void {
  const n = seq.length;
  const last = seq[n - 1];
  for (let j = 1; j <= end; j++) {
    if (source[j - 1] !== last) continue;
    let length = 1;
    while (length < MAX_MATCH && j - 1 - length >= 0 && source[j - 1 - length] === seq[n - 1 - length]) length++;
    if (allowed(source[j])) (byLength[length] ??= []).push(source[j]);
  }
}

/** Lines per piece of a document tokenized on its own (documentTokens). */
const PIECE_LINES = 16;
/** Pieces remembered per tokenizer: those used since the memo last turned over (`recent`) and
 *  those used before (`older`); a piece found in `older` moves back to `recent`. When `recent`
 *  holds MAX_PIECES it becomes `older`, so the pieces of open documents survive every turnover
 *  and the one-off pieces of past keystrokes are dropped. */
export const MAX_PIECES = 4096;
const memos = new WeakMap<object, { recent: Map<string, number[]>; older: Map<string, number[]> }>();

/**
 * A document's token ids, as the tokenizer's encodeUntrusted gives them, tokenized in pieces of
 * PIECE_LINES lines that are remembered: between two keystrokes only the piece being typed in
 * changes, so a request tokenizes a few lines instead of 16,000 characters each side of the
 * cursor (about 25 ms on the default model's tokenizer). A token never spans two pieces, which at
 * one line end in sixteen is not what tokenizing the whole text would give: the cache only
 * counts matches, so that costs it a match across those line ends and nothing else.
 */
export function documentTokens(tokenizer: { encodeUntrusted(text: string): number[] }, text: string): number[] {
  let memo = memos.get(tokenizer);
  if (!memo) memos.set(tokenizer, (memo = { recent: new Map(), older: new Map() }));
  const lines = text.split(/(?<=\n)/);
  const out: number[] = [];
  for (let i = 0; i < lines.length; i += PIECE_LINES) {
    const piece = lines.slice(i, i + PIECE_LINES).join('');
    let ids = memo.recent.get(piece);
    if (!ids) {
      ids = memo.older.get(piece) ?? tokenizer.encodeUntrusted(piece);
      if (memo.recent.size >= MAX_PIECES) memos.set(tokenizer, (memo = { recent: new Map(), older: memo.recent }));
      memo.recent.set(piece, ids);
    }
    for (const id of ids) out.push(id);
  }
  return out;
}

function logAddExp(a: number, b: number): number {
  const m = Math.max(a, b);
  return m === -Infinity ? m : m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}
