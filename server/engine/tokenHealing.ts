// Token healing: a prompt that ends at an arbitrary character (an editor cursor inside a word)
// ends with a token the model rarely saw there (`c` + `la` where training text had `class`). The
// prompt gives back its last tokens and the first generated token must start with their text, so
// the model chooses the tokenization it knows. Only the first token is constrained, which keeps
// plain and speculative decoding alike. The same mask can also require the first token's text to
// match a caller's pattern (the editor's rule for what ghost text at a blank line may start with).
import { HuginnModel } from './huginnModel';

/** At most this many trailing tokens are given back. */
const MAX_HEALED_TOKENS = 4;

const masks = new WeakMap<HuginnModel, Map<string, number[]>>();

/** Ids whose text starts with `healed` and matches `pattern` when one is given (never a special
 *  token). */
function healingMask(model: HuginnModel, healed: string, pattern?: RegExp): number[] {
  let byKey = masks.get(model);
  if (!byKey) masks.set(model, (byKey = new Map()));
  const key = JSON.stringify([healed, pattern?.source, pattern?.flags]);
  let ids = byKey.get(key);
  if (!ids) {
    const texts = model.tokenizer.tokenTexts(model.cfg.vocabSize);
    const st = model.manifest.specialTokens;
    const specials = new Set([...st.stop, st.pad, st.fimPrefix, st.fimMiddle, st.fimSuffix]);
    ids = [];
    for (let id = 0; id < texts.length; id++) {
      const t = texts[id];
      if (!specials.has(id) && t.length > 0 && t.startsWith(healed) && (!pattern || matches(pattern, t))) ids.push(id);
    }
    if (byKey.size > 1024) byKey.clear(); // one entry per distinct healed text and pattern
    byKey.set(key, ids);
  }
  return ids;
}

/** The ids the first generated token may take under a request's constraints (the healed text it
 *  must start with, the pattern its text must match), or undefined when it is free. */
export function firstTokenMask(model: HuginnModel, req: { healedText?: string; firstTokenPattern?: RegExp }): number[] | undefined {
  if (req.healedText === undefined && !req.firstTokenPattern) return undefined;
  return healingMask(model, req.healedText ?? '', req.firstTokenPattern);
}

/** A pattern test that ignores the pattern's own state (a /g or /y pattern keeps a lastIndex). */
export function matches(pattern: RegExp, text: string): boolean {
  pattern.lastIndex = 0;
  return pattern.test(text);
}

/** Leaves only `allowed` in one row of logits (the others -Infinity). */
export function restrictTo(logits: Float32Array, allowed: number[]): void {
  const keep = allowed.map((id) => logits[id]);
  logits.fill(-Infinity);
  allowed.forEach((id, i) => (logits[id] = keep[i]));
}

/**
 * Gives back the longest run of trailing tokens (up to MAX_HEALED_TOKENS, within the last line)
 * whose text some single token starts with. Special tokens and bytes of a multi-byte character
 * are never given back.
 */
export function healPrompt(model: HuginnModel, ids: number[]): { ids: number[]; healedText?: string } {
  const texts = model.tokenizer.tokenTexts(model.cfg.vocabSize);
  let best = 0;
  let healedText: string | undefined;
  let text = '';
  for (let k = 1; k <= Math.min(MAX_HEALED_TOKENS, ids.length); k++) {
    const piece = texts[ids[ids.length - k]];
    if (!piece || piece.includes('\ufffd') || piece.includes('\n')) break;
    text = piece + text;
    if (healingMask(model, text).length > 0) [best, healedText] = [k, text];
  }
  return { ids: ids.slice(0, ids.length - best), healedText };
}
