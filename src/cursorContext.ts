// Where the cursor sits: in code, a comment or a string literal; whether the code before it is an
// unfinished expression; whether it ends its line; whether it is in or near math (Markdown).
// Pure (no `vscode` import) so the depth policy and its tests run in plain Node.

export interface StringSyntax {
  delimiter: string;
  /** Whether the literal may span lines (Python triple quotes, JS template literals). */
  multiline: boolean;
  /** Whether a backslash escapes the next character. */
  escapes: boolean;
}

export interface LanguageSyntax {
  lineComments: string[];
  blockComments: [open: string, close: string][];
  strings: StringSyntax[];
  /** A programming language: unfinished-expression checks apply (not to prose or markup). */
  code: boolean;
}

export type CursorRegion = 'code' | 'comment' | 'string';

export interface CursorContext {
  region: CursorRegion;
  /** Why the code before the cursor is unfinished (e.g. "line ends with '='"); undefined if it is not. */
  unfinished?: string;
}

const s = (delimiter: string, multiline = false, escapes = true): StringSyntax => ({ delimiter, multiline, escapes });
const QUOTES = [s('"'), s("'")];
const C_LIKE: LanguageSyntax = { lineComments: ['//'], blockComments: [['/*', '*/']], strings: QUOTES, code: true };
const HASH: LanguageSyntax = { lineComments: ['#'], blockComments: [], strings: QUOTES, code: true };
const PROSE: LanguageSyntax = { lineComments: [], blockComments: [], strings: [], code: false };
const MARKUP: LanguageSyntax = { lineComments: [], blockComments: [['<!--', '-->']], strings: [], code: false };

// Only what changes the classification is listed; unknown languages get `FALLBACK`.
const SYNTAX: Record<string, LanguageSyntax> = {
  c: C_LIKE, cpp: C_LIKE, csharp: C_LIKE, java: C_LIKE, kotlin: C_LIKE, scala: C_LIKE, swift: C_LIKE,
  dart: C_LIKE, groovy: C_LIKE, 'objective-c': C_LIKE, 'objective-cpp': C_LIKE, cuda: C_LIKE, jsonc: C_LIKE,
  json: { ...C_LIKE, strings: [s('"')] },
  css: { lineComments: [], blockComments: [['/*', '*/']], strings: QUOTES, code: true },
  scss: C_LIKE, less: C_LIKE,
  javascript: { ...C_LIKE, strings: [...QUOTES, s('`', true)] },
  typescript: { ...C_LIKE, strings: [...QUOTES, s('`', true)] },
  javascriptreact: { ...C_LIKE, strings: [...QUOTES, s('`', true)] },
  typescriptreact: { ...C_LIKE, strings: [...QUOTES, s('`', true)] },
  go: { ...C_LIKE, strings: [...QUOTES, s('`', true, false)] },
  // A lone ' is a lifetime or a char in Rust: only " opens a string.
  rust: { ...C_LIKE, strings: [s('"', true)] },
  php: { lineComments: ['//', '#'], blockComments: [['/*', '*/']], strings: QUOTES, code: true },
  python: { ...HASH, strings: [s('"""', true), s("'''", true), ...QUOTES] },
  shellscript: HASH, ruby: { ...HASH, blockComments: [['=begin', '=end']] }, perl: HASH, r: HASH,
  yaml: HASH, toml: HASH, makefile: HASH, dockerfile: HASH, cmake: HASH, elixir: HASH, nim: HASH,
  coffeescript: HASH, powershell: { ...HASH, blockComments: [['<#', '#>']] },
  julia: { ...HASH, blockComments: [['#=', '=#']], strings: [s('"""', true), s('"')] },
  sql: { lineComments: ['--'], blockComments: [['/*', '*/']], strings: QUOTES, code: true },
  lua: { lineComments: ['--'], blockComments: [['--[[', ']]']], strings: QUOTES, code: true },
  haskell: { lineComments: ['--'], blockComments: [['{-', '-}']], strings: [s('"')], code: true },
  elm: { lineComments: ['--'], blockComments: [['{-', '-}']], strings: [s('"')], code: true },
  matlab: { lineComments: ['%'], blockComments: [['%{', '%}']], strings: QUOTES, code: true },
  octave: { lineComments: ['%', '#'], blockComments: [['%{', '%}']], strings: QUOTES, code: true },
  erlang: { lineComments: ['%'], blockComments: [], strings: [s('"')], code: true },
  clojure: { lineComments: [';'], blockComments: [], strings: [s('"')], code: true },
  lisp: { lineComments: [';'], blockComments: [['#|', '|#']], strings: [s('"')], code: true },
  scheme: { lineComments: [';'], blockComments: [['#|', '|#']], strings: [s('"')], code: true },
  racket: { lineComments: [';'], blockComments: [['#|', '|#']], strings: [s('"')], code: true },
  vb: { lineComments: ["'"], blockComments: [], strings: [s('"', false, false)], code: true },
  fortran: { lineComments: ['!'], blockComments: [], strings: QUOTES, code: true },
  latex: { ...PROSE, lineComments: ['%'] }, tex: { ...PROSE, lineComments: ['%'] },
  bibtex: { ...PROSE, lineComments: ['%'] },
  markdown: MARKUP, html: MARKUP, xml: MARKUP, svg: MARKUP,
  plaintext: PROSE, restructuredtext: PROSE, asciidoc: PROSE,
};

const FALLBACK: LanguageSyntax = { lineComments: ['//', '#'], blockComments: [['/*', '*/']], strings: QUOTES, code: true };

export function syntaxFor(languageId: string): LanguageSyntax {
  return SYNTAX[languageId] ?? FALLBACK;
}

type Opener =
  | { kind: 'line'; open: string }
  | { kind: 'block'; open: string; close: string }
  | { kind: 'string'; open: string; str: StringSyntax };

interface ScanResult {
  region: CursorRegion;
  /** The scanned text with comments blanked and string contents blanked (delimiters kept),
   *  newlines preserved: what bracket and operator checks look at. */
  codeOnly: string;
}

/** Runs a small lexer over `text` (which ends at the cursor) and reports the state at its end. */
export function scanToCursor(text: string, syntax: LanguageSyntax): ScanResult {
  // Longest opener first, so `"""` wins over `"`, `--[[` over `--`, `#=` over `#`.
  const openers: Opener[] = [
    ...syntax.blockComments.map(([open, close]): Opener => ({ kind: 'block', open, close })),
    ...syntax.lineComments.map((open): Opener => ({ kind: 'line', open })),
    ...syntax.strings.map((str): Opener => ({ kind: 'string', open: str.delimiter, str })),
  ].sort((a, b) => b.open.length - a.open.length);

  const out: string[] = [];
  let state: Opener | undefined;
  let i = 0;
  const blank = (ch: string) => (ch === '\n' ? '\n' : ' ');
  while (i < text.length) {
    const ch = text[i];
    if (state === undefined) {
      const opener = openers.find((o) => text.startsWith(o.open, i));
      if (opener) {
        state = opener;
        // Strings keep their delimiters so `x = ""` does not look like it ends with '='.
        out.push(opener.kind === 'string' ? opener.open : ' '.repeat(opener.open.length));
        i += opener.open.length;
      } else {
        out.push(ch);
        i++;
      }
      continue;
    }
    if (state.kind === 'line') {
      if (ch === '\n') state = undefined;
      out.push(blank(ch));
      i++;
    } else if (state.kind === 'block') {
      if (text.startsWith(state.close, i)) {
        out.push(' '.repeat(state.close.length));
        i += state.close.length;
        state = undefined;
      } else {
        out.push(blank(ch));
        i++;
      }
    } else {
      const str = state.str;
      if (str.escapes && ch === '\\') {
        out.push(' ');
        if (i + 1 < text.length) out.push(blank(text[i + 1]));
        i += 2;
      } else if (text.startsWith(str.delimiter, i)) {
        out.push(str.delimiter);
        i += str.delimiter.length;
        state = undefined;
      } else {
        // An unterminated single-line string ends with its line (the code is being typed).
        if (ch === '\n' && !str.multiline) state = undefined;
        out.push(blank(ch));
        i++;
      }
    }
  }
  const region: CursorRegion = state === undefined ? 'code' : state.kind === 'string' ? 'string' : 'comment';
  return { region, codeOnly: out.join('') };
}

// Line endings that leave an expression or statement open. Longest first; a lone '>' (generics,
// closing tags), '?' (Rust's try), ':' and '.' are left out on purpose.
const OPEN_ENDINGS = [
  '=>', '->', '&&', '||', '??', '==', '!=', '<=', '>=', '**', '<<', '>>', ':=', '+=', '-=', '*=', '/=',
  '=', '+', '-', '*', '/', '%', '^', '&', '|', '<', ',', '(', '[', '{', '!', '~', '\\',
];
const OPEN_KEYWORDS = /(?:^|[^\w$])(return|and|or|not|in|yield|await)$/;
/** How many lines back an open '(' or '[' still counts (a multi-line call or literal). */
const BRACKET_LINES = 30;

/** Why the code (comments and strings already blanked) is unfinished at its end, or undefined. */
export function unfinishedReason(codeOnly: string): string | undefined {
  const lines = codeOnly.split('\n');
  const line = lines[lines.length - 1].trimEnd();
  if (line.length > 0 && !line.endsWith('++') && !line.endsWith('--')) {
    const ending = OPEN_ENDINGS.find((e) => line.endsWith(e));
    if (ending) return `line ends with '${ending}'`;
    const keyword = OPEN_KEYWORDS.exec(line);
    if (keyword) return `line ends with '${keyword[1]}'`;
  }
  const recent = lines.slice(-BRACKET_LINES).join('\n');
  for (const [open, close] of [['(', ')'], ['[', ']']]) {
    if (count(recent, open) > count(recent, close)) return `unbalanced '${open}' before the cursor`;
  }
  // A '{' is always open inside a function body, so only this line's braces say anything.
  if (count(line, '{') > count(line, '}')) return `unbalanced '{' on the line`;
  return undefined;
}

function count(text: string, ch: string): number {
  let n = 0;
  for (const c of text) if (c === ch) n++;
  return n;
}

/**
 * Classifies the cursor. `textBefore` is a window of the document ending at the cursor (it should
 * start at a line start; a few dozen lines are enough).
 */
export function classifyCursor(textBefore: string, syntax: LanguageSyntax): CursorContext {
  const { region, codeOnly } = scanToCursor(textBefore, syntax);
  const unfinished = region === 'code' && syntax.code ? unfinishedReason(codeOnly) : undefined;
  return unfinished === undefined ? { region } : { region, unfinished };
}

export type MathPlace = 'inside' | 'nearby';

/**
 * TeX math in Markdown: 'inside' when the cursor is within $…$, $$…$$, \(…\) or \[…\];
 * 'nearby' when the paragraph before the cursor contains math; undefined otherwise.
 */
export function markdownMath(textBefore: string): MathPlace | undefined {
  const display = (textBefore.match(/(?<!\\)\$\$/g) ?? []).length;
  if (display % 2 === 1) return 'inside';
  if (textBefore.lastIndexOf('\\[') > textBefore.lastIndexOf('\\]')) return 'inside';
  const lines = textBefore.split('\n');
  const line = lines[lines.length - 1];
  const inline = (line.replace(/\$\$/g, '').match(/(?<!\\)\$/g) ?? []).length;
  if (inline % 2 === 1) return 'inside';
  if (line.lastIndexOf('\\(') > line.lastIndexOf('\\)')) return 'inside';
  // The paragraph: lines back to the last blank one (at most 10).
  const paragraph: string[] = [];
  for (let k = lines.length - 1; k >= 0 && paragraph.length < 10; k--) {
    if (k < lines.length - 1 && lines[k].trim() === '') break;
    paragraph.push(lines[k]);
  }
  return /\$[^$\s][^$]*\$|\\\(|\\\[/.test(paragraph.join('\n')) ? 'nearby' : undefined;
}
