// Prompt construction, in one place: how a request's text becomes the token ids the model reads.
// A document window around the cursor (characters, surrogate-safe), token healing of the text
// before the cursor, the fill-in-the-middle layout where the model's config allows it, the trim
// that leaves room for the answer, and the begin-of-text rule (docs/architecture.md#prompts).
import { HuginnModel } from './huginnModel';
import { documentTokens } from './documentCache';
import { healPrompt } from './tokenHealing';

/** Where a prompt's text comes from: exactly one of these. */
export interface PromptSource {
  /** Plain text, starting a document. */
  prompt?: string;
  /** Token ids, used as they are. */
  ids?: number[];
  /** The text before and after a cursor (untrusted document text: special-token text in it is
   *  encoded as plain text). */
  fim?: { prefix: string; suffix: string };
  /** A cursor's prompt keeps to this many tokens (what the caller can afford to run). */
  maxPromptTokens?: number;
  /** Token healing of a text or fim prompt that ends at an arbitrary character (a cursor): the
   *  prompt gives back its trailing tokens and the first generated token must start with their
   *  text, so `c` + `la` can become `class`. */
  heal?: boolean;
  /** The document around where the prompt ends (a cursor): its text `before` it, as far back as
   *  the caller likes, and `after` it, and the text of `others` (the editor's other open files):
   *  the document cache's (documentCache.ts) source of names and phrases to copy. */
  document?: { before: string; after?: string; others?: string[] };
}

export interface BuiltPrompt {
  ids: number[];
  /** Set when token healing gave back text: the first generated token must start with it. */
  healedText?: string;
  /** `document` as token ids, `before` without the text token healing gave back (the
   *  continuation follows it). */
  documentIds?: { before: number[]; after: number[]; others: number[][] };
}

/** Prompt ids for a request that will generate up to `maxTokens` tokens; a cursor's prompt also
 *  keeps to `maxPromptTokens` (what the KV memory ceiling leaves room for). */
export function buildPrompt(model: HuginnModel, src: PromptSource, maxTokens: number, maxPromptTokens = Infinity): BuiltPrompt {
  const built = promptOf(model, src, maxTokens, maxPromptTokens);
  if (src.document === undefined) return built;
  const { before, after = '', others = [] } = src.document;
  const healed = built.healedText ?? '';
  const text = healed && before.endsWith(healed) ? before.slice(0, before.length - healed.length) : before;
  const tokens = (t: string) => documentTokens(model.tokenizer, t);
  return { ...built, documentIds: { before: tokens(text), after: tokens(after), others: others.map(tokens) } };
}

function promptOf(model: HuginnModel, src: PromptSource, maxTokens: number, maxPromptTokens: number): BuiltPrompt {
  if (src.ids) return { ids: src.ids.length ? src.ids : startDocument(model, []) };
  if (src.fim) return cursorPrompt(model, src.fim.prefix, src.fim.suffix, maxTokens, src.heal ?? false, maxPromptTokens);
  if (typeof src.prompt !== 'string') throw new RangeError('generate needs a prompt, fim or ids');
  const encoded = model.tokenizer.encode(src.prompt);
  const { ids, healedText } = src.heal ? healPrompt(model, encoded) : { ids: encoded, healedText: undefined };
  return { ids: startDocument(model, ids), healedText };
}

/** A text prompt starts a document, as every training row starts with <|begin_text|>. */
function startDocument(model: HuginnModel, ids: number[]): number[] {
  const bos = model.manifest.specialTokens.bos;
  return bos !== null && ids[0] !== bos ? [bos, ...ids] : ids;
}

/**
 * The prompt for a cursor: prefix-suffix-middle as the model was trained (<|fim_prefix|> prefix
 * <|fim_suffix|> suffix <|fim_middle|>), trimmed to leave room for `maxTokens` in the context (the
 * prefix loses its start, the suffix its end). A model without FIM tokens, or whose config says
 * its FIM training did not take, gets a document start and the prefix alone, like a training row.
 */
export function cursorPrompt(model: HuginnModel, prefix: string, suffix: string, maxTokens: number, heal = false, maxPromptTokens = Infinity): BuiltPrompt {
  const st = model.manifest.specialTokens;
  const tok = model.tokenizer;
  const room = Math.max(8, Math.min(maxPromptTokens, model.cfg.blockSize - Math.min(maxTokens, model.cfg.blockSize / 2)) - 3);
  const encoded = tok.encodeUntrusted(prefix);
  let { ids: pre, healedText } = heal ? healPrompt(model, encoded) : { ids: encoded, healedText: undefined };
  if (st.fimPrefix === null || st.fimSuffix === null || st.fimMiddle === null || !model.cfg.fillInTheMiddle) {
    return { ids: startDocument(model, keepEnd(pre, room)), healedText };
  }
  let suf = tok.encodeUntrusted(suffix);
  // Keep most of the room for the prefix: it matters more for what comes next.
  suf = suf.slice(0, Math.min(suf.length, Math.floor(room / 4)));
  pre = keepEnd(pre, room - suf.length);
  return { ids: [st.fimPrefix, ...pre, st.fimSuffix, ...suf, st.fimMiddle], healedText };
}

/** How far an anchored window's start moves at once: a quarter of the window. */
const ANCHOR_STEPS = 4;

/**
 * The end of `ids` that fits in `room`, cut at an anchored start: the start moves in steps of a
 * quarter of the room, so while the user types at the end, consecutive prompts share their start
 * and the prompt cache reuses all but the last tokens (a window that slid with every token would
 * re-run the whole prompt on every keystroke). Keeps between 3/4 of the room and all of it.
 */
function keepEnd(ids: number[], room: number): number[] {
  if (ids.length <= room) return ids;
  const step = Math.max(1, Math.floor(room / ANCHOR_STEPS));
  return ids.slice(Math.ceil((ids.length - room) / step) * step);
}

/** The characters around a cursor that a completion prompt is made of: up to `before` characters
 *  before `offset` (at least 3/4 of that, from an anchored start, as keepEnd does for tokens) and
 *  `after` after it, never splitting a surrogate pair. */
export function cursorWindow(text: string, offset: number, before: number, after: number): { prefix: string; suffix: string } {
  const step = Math.max(1, Math.floor(before / ANCHOR_STEPS));
  const start = offset > before ? Math.ceil((offset - before) / step) * step : 0;
  return {
    prefix: safeSlice(text, start, offset),
    suffix: safeSlice(text, offset, Math.min(text.length, offset + after)),
  };
}

export function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

export function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** A slice that does not start or end inside a surrogate pair. */
export function safeSlice(text: string, from: number, to: number): string {
  if (from > 0 && isLowSurrogate(text.charCodeAt(from))) from++;
  if (to < text.length && isLowSurrogate(text.charCodeAt(to))) to--;
  return text.slice(from, Math.max(from, to));
}
