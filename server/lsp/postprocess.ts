// What a user expects of ghost text, applied to the model's raw continuation:
// single line unless multi-line is allowed, stop at a blank line or where indentation drops
// below the cursor's line, never repeat what already follows the cursor, keep brackets balanced,
// and end before the closer (or quote) the editor already put after the cursor.

export interface CursorContext {
  /** Text of the cursor's line before the cursor. */
  linePrefix: string;
  /** Text of the cursor's line after the cursor. */
  lineSuffix: string;
  /** Whether a multi-line completion may be shown: decided once, by the protocol's spansLines. */
  multiline: boolean;
}

/** Ghost text asked for at a blank line starts with text for that line: not with more blank
 *  lines, nor with a closing bracket (nothing is open on a blank line, and cutUnbalanced would cut
 *  the closer and leave no ghost text). The engine applies it to the first token. */
export const BLANK_LINE_START = /^\s*[^\s)\]}]/;

/** A continuation of nothing but blanks is no suggestion ("the line ends here"). The engine's
 *  beam search takes only candidates that match it. */
export const HAS_TEXT = /\S/;

const OPEN = '([{';
const CLOSE = ')]}';

function indentOf(line: string): number {
  let n = 0;
  for (const ch of line) {
    if (ch === ' ') n++;
    else if (ch === '\t') n += 4;
    else break;
  }
  return n;
}

/** Brackets opened in `text` and not closed, innermost last. Strings are not parsed: good enough
 *  for trimming, and never worse than showing the raw model output. */
function openBrackets(text: string): string[] {
  const stack: string[] = [];
  for (const ch of text) {
    const o = OPEN.indexOf(ch);
    if (o >= 0) stack.push(CLOSE[o]);
    else if (CLOSE.includes(ch) && stack[stack.length - 1] === ch) stack.pop();
  }
  return stack;
}

/** Cuts the completion at the first closer that matches no opener (in the completion or before
 *  the cursor on its line). Brackets opened before the cursor whose closers already follow it
 *  (`foo(bar[|])`: the editor's auto-closed pair) count as closed: the completion ends where it
 *  would close them again. */
function cutUnbalanced(completion: string, linePrefix: string, lineSuffix: string): string {
  const stack = openBrackets(linePrefix);
  for (const ch of lineSuffix.trimStart()) {
    if (stack[stack.length - 1] !== ch) break;
    stack.pop();
  }
  for (let i = 0; i < completion.length; i++) {
    const ch = completion[i];
    const o = OPEN.indexOf(ch);
    if (o >= 0) stack.push(CLOSE[o]);
    else if (CLOSE.includes(ch)) {
      if (stack[stack.length - 1] !== ch) return completion.slice(0, i);
      stack.pop();
    }
  }
  return completion;
}

/** Inside a string the line opened before the cursor, with its closing quote right after the
 *  cursor (auto-closed), the completion ends before it writes that quote. Quotes are counted on the
 *  cursor's line, unescaped: good enough for one line of code. */
function cutAtQuote(completion: string, linePrefix: string, lineSuffix: string): string {
  const quote = lineSuffix.trimStart()[0];
  if (quote !== '"' && quote !== "'" && quote !== '`') return completion;
  const unescaped = (text: string) => {
    const at: number[] = [];
    for (let i = 0; i < text.length; i++) {
      if (text[i] === '\\') i++;
      else if (text[i] === quote) at.push(i);
    }
    return at;
  };
  if (unescaped(linePrefix).length % 2 === 0) return completion;
  const end = unescaped(completion)[0];
  return end === undefined ? completion : completion.slice(0, end);
}

/** Drops the end of the completion that repeats the start of the text after the cursor. */
function dropOverlap(completion: string, lineSuffix: string): string {
  const suffix = lineSuffix.trimEnd();
  for (let n = Math.min(completion.length, suffix.length); n > 0; n--) {
    if (completion.endsWith(suffix.slice(0, n))) return completion.slice(0, completion.length - n);
  }
  return completion;
}

/** Cuts a degenerate loop (a model stuck repeating itself): a unit of 2..16 characters repeated
 *  four or more times in a row, or one character 16 or more times, is kept once. */
function cutRepetition(text: string): string {
  const loops = /([^])\1{15,}|([^]{2,16}?)\2{3,}/g;
  for (let m = loops.exec(text); m; m = loops.exec(text)) {
    const unit = m[1] ?? m[2];
    // A run of one character ("======") is only a loop past 16: rulers and separators are code.
    if (m[2] !== undefined && /^([^])\1*$/.test(unit)) {
      loops.lastIndex = m.index + 1;
      continue;
    }
    return text.slice(0, m.index + unit.length);
  }
  return text;
}

export function postprocess(raw: string, ctx: CursorContext): string {
  // Control characters and replacement characters (bytes that decoded to no text) never belong in
  // ghost text: cut there.
  let text = raw.replace(/\r\n/g, '\n');
  const junk = text.search(/[\u0000-\u0008\u000b-\u001f\u007f\ufffd]/);
  if (junk >= 0) text = text.slice(0, junk);
  const lines = text.split('\n');
  if (!ctx.multiline) {
    text = lines[0];
  } else {
    // The first line continues the cursor's line; later lines end at a blank line or when they
    // dedent below the line the cursor is on (the block is over).
    const base = indentOf(ctx.linePrefix);
    const kept = [lines[0]];
    for (const line of lines.slice(1)) {
      if (line.trim() === '' || indentOf(line) < base) break;
      kept.push(line);
    }
    text = kept.join('\n');
  }
  text = cutRepetition(text);
  text = cutAtQuote(text, ctx.linePrefix, ctx.lineSuffix);
  text = cutUnbalanced(text, ctx.linePrefix, ctx.lineSuffix);
  text = dropOverlap(text, ctx.lineSuffix);
  return text.replace(/[ \t]+$/gm, '').replace(/\n+$/, '');
}
