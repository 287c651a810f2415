// Where each generated token lies in an inserted completion, and how strongly to shade it: the
// compute map shows per-token core iterations relative to the budget's steps. Pure (no `vscode`
// import); computeMap.ts turns the offsets into editor ranges and decorations.

export interface TokenSpan {
  /** Offsets into the inserted text, end exclusive. */
  start: number;
  end: number;
  iterations: number;
  /** iterations / steps, in [0, 1]. */
  intensity: number;
  /** 0..SHADES-1, the decoration to use. */
  shade: number;
}

/** How many background intensities the map uses (one decoration type each). */
export const SHADES = 5;

export function shadeOf(intensity: number): number {
  return Math.min(SHADES - 1, Math.max(0, Math.ceil(intensity * SHADES) - 1));
}

/**
 * Lays the tokens out over `insertText`. `generatedStart` is where the generated text begins in it
 * (an item whose range starts before the cursor repeats what was already typed). If the server
 * post-processed the text so the tokens are not found there, they are searched for in the whole
 * text; failing that they are laid out from `generatedStart` anyway. Spans are clipped to the text;
 * whitespace-only tokens get no span (a shaded blank says nothing).
 */
export function layoutTokens(
  insertText: string,
  generatedStart: number,
  tokens: readonly { text: string; iterations: number }[],
  steps: number,
): TokenSpan[] {
  const generated = tokens.map((t) => t.text).join('');
  let offset = Math.min(Math.max(0, generatedStart), insertText.length);
  const rest = insertText.slice(offset);
  if (!rest.startsWith(generated) && !generated.startsWith(rest)) {
    const found = insertText.indexOf(generated);
    if (found >= 0) offset = found;
  }
  const spans: TokenSpan[] = [];
  for (const token of tokens) {
    const start = offset;
    const end = Math.min(insertText.length, offset + token.text.length);
    offset += token.text.length;
    if (start >= end) break;
    if (insertText.slice(start, end).trim() === '') continue;
    const intensity = steps > 0 ? Math.min(1, Math.max(0, token.iterations / steps)) : 0;
    spans.push({ start, end, iterations: token.iterations, intensity, shade: shadeOf(intensity) });
  }
  return spans;
}
