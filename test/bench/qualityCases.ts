// The cursors of bench:quality and how a ghost text is scored against them. Pure (file reading
// aside): the unit tests hold the line scanner, the cursor kinds and the scoring to fixed cases.
//
// Sources: real, permissively licensed code that the default model's training corpus does not
// contain (native/data/DATA_CARD.md: the corpus is Python 3.11's standard library, numpy, pygments,
// torch, sympy, mpmath and the npm packages native/data/npm_sources.txt names):
//   python      requests 2.28.1 (Debian python3-requests 2.28.1+dfsg-1, Apache-2.0) and attrs 22.2.0
//               (Debian python3-attr 22.2.0-1, MIT), from /usr/lib/python3/dist-packages
//   typescript  vega-lite 6.4.3 (npm, BSD-3-Clause): src/**/*.ts
//   javascript  vega-dataflow 6.1.3, vega-transforms 5.2.2, vega-parser 7.1.3 (npm, BSD-3-Clause):
//               src/**/*.js
// The npm packages are this project's newer devDependencies (charts), installed after the corpus
// was fixed; pickCases' caller checks that none of them is in npm_sources.txt.
//
// Two cursor kinds, as a user typing a line left to right with VS Code's default auto-closing
// (brackets and quotes) sees the line:
//   eol  nothing is open at the cursor: the rest of the line is deleted (not typed yet) and the
//        truth is that rest.
//   mid  a bracket or a string opened earlier on the line is still open at the cursor: the
//        editor shows its auto-inserted closers after the cursor (`foo(bar[|])`), so the line
//        keeps those, and the truth is the rest of the line up to where the innermost open
//        bracket or string closes (the ghost text fills it in before the closers).
// The text after the cursor is otherwise not what a user typing the line sees, so it is never kept.
import * as fs from 'fs';
import * as path from 'path';

export type Lang = 'python' | 'typescript' | 'javascript';
/** The two language groups the cases are split over evenly (TypeScript and JavaScript half each). */
export type Group = 'python' | 'ts/js';
export type Kind = 'eol' | 'mid';

export interface Source {
  name: string;
  lang: Lang;
  /** Folder whose files (recursively) are read. */
  root: string;
  ext: string;
  licence: string;
  /** Where the licence was read. */
  licenceFrom: string;
  /** How the version is known: an npm package.json, or a Debian package name. */
  version: { npm: string } | { debian: string };
}

const DIST = '/usr/lib/python3/dist-packages';

/** The sources of the bench; `repo` is the project root (node_modules lives there). */
export function sources(repo: string): Source[] {
  const npm = (name: string, lang: Lang, ext: string): Source => ({
    name,
    lang,
    root: path.join(repo, 'node_modules', name, 'src'),
    ext,
    licence: 'BSD-3-Clause',
    licenceFrom: `node_modules/${name}/package.json`,
    version: { npm: path.join(repo, 'node_modules', name, 'package.json') },
  });
  return [
    { name: 'requests', lang: 'python', root: path.join(DIST, 'requests'), ext: '.py', licence: 'Apache-2.0', licenceFrom: '/usr/share/doc/python3-requests/copyright', version: { debian: 'python3-requests' } },
    { name: 'attrs', lang: 'python', root: path.join(DIST, 'attr'), ext: '.py', licence: 'MIT', licenceFrom: '/usr/share/doc/python3-attr/copyright', version: { debian: 'python3-attr' } },
    npm('vega-lite', 'typescript', '.ts'),
    npm('vega-dataflow', 'javascript', '.js'),
    npm('vega-transforms', 'javascript', '.js'),
    npm('vega-parser', 'javascript', '.js'),
  ];
}

export const groupOf = (lang: Lang): Group => (lang === 'python' ? 'python' : 'ts/js');

export interface SourceFile {
  source: string;
  lang: Lang;
  /** Path relative to the source's root. */
  path: string;
  text: string;
}

/** A source's files, sorted by path (declaration files and minified ones left out). */
export function readSource(s: Source): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== '__pycache__' && e.name !== 'node_modules') walk(full);
      } else if (e.name.endsWith(s.ext) && !e.name.endsWith('.d.ts') && !e.name.includes('.min.')) {
        out.push({ source: s.name, lang: s.lang, path: path.relative(s.root, full), text: fs.readFileSync(full, 'utf8') });
      }
    }
  };
  walk(s.root);
  return out;
}

/** What is open at the end of a line prefix, scanning only that line: brackets opened on it and
 *  not closed (their closers, innermost last), a string opened on it and not closed. `comment`:
 *  the prefix ends in a line comment. Closers of brackets opened on earlier lines are ignored. */
export interface LineState {
  closers: string[];
  quote: string | null;
  comment: boolean;
}

const OPEN = '([{';
const CLOSE = ')]}';

/** Scans `text` (one line, or its start) from `state`; returns where it ends (a new object).
 *  `stopAtClose`: stop at the character that closes what was innermost open at the start (the
 *  string, else the last bracket); the result's `at` is that character's index (text.length if
 *  none). */
export function scanLine(text: string, lang: Lang, from: LineState = { closers: [], quote: null, comment: false }, stopAtClose = false): LineState & { at: number } {
  const closers = [...from.closers];
  let quote = from.quote;
  const depth = from.closers.length;
  if (from.comment) return { closers, quote, comment: true, at: text.length };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) {
        if (stopAtClose && from.quote !== null) return { closers, quote, comment: false, at: i };
        quote = null;
      }
      continue;
    }
    if (lang === 'python' ? ch === '#' : ch === '/' && text[i + 1] === '/') return { closers, quote, comment: true, at: text.length };
    if (ch === '"' || ch === "'" || (ch === '`' && lang !== 'python')) {
      quote = ch;
      continue;
    }
    const o = OPEN.indexOf(ch);
    if (o >= 0) closers.push(CLOSE[o]);
    else if (CLOSE.includes(ch)) {
      if (stopAtClose && from.quote === null && closers.length <= depth) return { closers, quote, comment: false, at: i };
      if (closers[closers.length - 1] === ch) closers.pop();
    }
  }
  return { closers, quote, comment: false, at: text.length };
}

export interface Case {
  source: string;
  lang: Lang;
  group: Group;
  kind: Kind;
  file: string;
  line: number;
  character: number;
  /** The text a right ghost text inserts. */
  truth: string;
  /** What the editor shows after the cursor on its line: '' (eol) or the auto-closed closers (mid). */
  after: string;
  /** The cursor's line before the cursor. */
  linePrefix: string;
  /** The file as the user sees it: the cursor's line is linePrefix + after. */
  text: string;
}

/** The cursor of `kind` at `character` of `content` (one line, no trailing blanks), or undefined
 *  when that position is not of that kind: inside a comment, nothing left to type, or (mid) the
 *  open bracket or string not closed on this line. */
export function cursorAt(content: string, character: number, lang: Lang, kind: Kind): { truth: string; after: string } | undefined {
  const before = scanLine(content.slice(0, character), lang);
  if (before.comment) return undefined;
  const open = before.closers.length > 0 || before.quote !== null;
  if (kind === 'eol') {
    if (open) return undefined;
    const truth = content.slice(character);
    return truth.trim() ? { truth, after: '' } : undefined;
  }
  if (!open) return undefined;
  // The innermost open thing: the string if one is open, else the last bracket.
  const rest = content.slice(character);
  const end = scanLine(rest, lang, before, true);
  if (end.at >= rest.length) return undefined;
  const truth = rest.slice(0, end.at);
  if (!truth.trim()) return undefined;
  return { truth, after: (before.quote ?? '') + [...before.closers].reverse().join('') };
}

/** Lines a cursor may be on: code (not a comment line, not inside a docstring or a block
 *  comment, no triple quotes), after the file's first 5 lines, 8..120 characters long. */
export function codeLines(text: string, lang: Lang): boolean[] {
  const lines = text.split('\n');
  const ok: boolean[] = [];
  let inBlock = false;
  lines.forEach((raw, i) => {
    const body = raw.trim();
    let eligible = i >= 5 && !inBlock && body.length >= 8 && raw.trimEnd().length <= 120;
    if (lang === 'python') {
      const triples = (raw.match(/"""|'''/g) ?? []).length;
      if (triples > 0) eligible = false;
      if (triples % 2 === 1) inBlock = !inBlock;
      if (body.startsWith('#') || body.startsWith('@')) eligible = false;
    } else {
      if (body.startsWith('//') || body.startsWith('*') || body.startsWith('/*')) eligible = false;
      if (!inBlock && raw.includes('/*') && !raw.slice(raw.lastIndexOf('/*')).includes('*/')) inBlock = true;
      else if (inBlock && raw.includes('*/')) inBlock = false;
      if (raw.includes('/*') || raw.includes('`')) eligible = false;
    }
    ok.push(eligible);
  });
  return ok;
}

/** mulberry32: a small seeded generator (uniform in [0, 1)). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** At most this many cursors of one kind in one file, so that no file dominates. */
const PER_FILE = 3;

/**
 * `perKind` cursors of each kind in each group (Python; TypeScript and JavaScript half each),
 * drawn with `seed`: a random file of the language, a random code line of it, a random position
 * of the kind on that line (after the line's first non-blank character). Deterministic for a seed
 * and the files.
 */
export function pickCases(files: SourceFile[], perKind: number, seed: number): Case[] {
  const rand = seededRandom(seed);
  const cases: Case[] = [];
  const quota: [Lang, number][] = [['python', perKind], ['typescript', Math.ceil(perKind / 2)], ['javascript', Math.floor(perKind / 2)]];
  for (const [lang, wanted] of quota) {
    const group = groupOf(lang);
    const pool = files.filter((f) => f.lang === lang);
    if (pool.length === 0) throw new Error(`no ${lang} files`);
    const eligible = pool.map((f) => codeLines(f.text, f.lang));
    for (const kind of ['mid', 'eol'] as Kind[]) {
      const perFile = new Map<SourceFile, number>();
      const seen = new Set<string>();
      let found = 0;
      for (let tries = 0; found < wanted; tries++) {
        if (tries > 200 * wanted) throw new Error(`${lang}/${kind}: only ${found} of ${wanted} cursors found`);
        const fi = Math.floor(rand() * pool.length);
        const f = pool[fi];
        if ((perFile.get(f) ?? 0) >= PER_FILE) continue;
        const lines = f.text.split('\n');
        const candidates = eligible[fi].flatMap((ok, i) => (ok ? [i] : []));
        if (candidates.length === 0) continue;
        const line = candidates[Math.floor(rand() * candidates.length)];
        if (seen.has(`${f.source}/${f.path}:${line}`)) continue;
        const content = lines[line].replace(/\r$/, '').trimEnd();
        const first = content.length - content.trimStart().length;
        const positions: { character: number; truth: string; after: string }[] = [];
        for (let c = first + 1; c < content.length; c++) {
          const at = cursorAt(content, c, f.lang, kind);
          if (at) positions.push({ character: c, ...at });
        }
        if (positions.length === 0) continue;
        const p = positions[Math.floor(rand() * positions.length)];
        seen.add(`${f.source}/${f.path}:${line}`);
        perFile.set(f, (perFile.get(f) ?? 0) + 1);
        found++;
        const linePrefix = content.slice(0, p.character);
        const text = [...lines.slice(0, line), linePrefix + p.after, ...lines.slice(line + 1)].join('\n');
        cases.push({ source: f.source, lang: f.lang, group, kind, file: f.path, line, character: p.character, truth: p.truth, after: p.after, linePrefix, text });
      }
    }
  }
  return cases;
}

/**
 * The files "open beside" each case's file (QUALITY_NEIGHBORS): `k` other files of its source
 * (package), drawn with `seed` independently of the cursors: a stand-in for the tabs a user has
 * open (the files the cursor's file imports did no better; docs/architecture.md, "Document cache").
 */
export function pickNeighbors(files: SourceFile[], cases: Case[], k: number, seed: number): SourceFile[][] {
  const rand = seededRandom(seed ^ 0x9e3779b9);
  return cases.map((c) => {
    const pool = files.filter((f) => f.source === c.source && f.path !== c.file);
    const out: SourceFile[] = [];
    while (out.length < Math.min(k, pool.length)) {
      const f = pool[Math.floor(rand() * pool.length)];
      if (!out.includes(f)) out.push(f);
    }
    return out;
  });
}

export type Verdict = 'exact' | 'prefix' | 'wrong' | 'empty';

/**
 * A ghost text against the truth: `exact` when it is the whole truth (blanks at the truth's end
 * aside: ghost text never ends in blanks), `prefix` when it is a shorter non-empty start of it,
 * `wrong` otherwise, `empty` when none was shown. `supplied`: the characters of the truth a right
 * (exact or prefix) ghost text types for the user.
 */
export function scoreGhost(truth: string, ghost: string): { verdict: Verdict; supplied: number } {
  if (ghost === '') return { verdict: 'empty', supplied: 0 };
  if (ghost === truth || ghost === truth.trimEnd()) return { verdict: 'exact', supplied: ghost.length };
  if (truth.startsWith(ghost)) return { verdict: 'prefix', supplied: ghost.length };
  return { verdict: 'wrong', supplied: 0 };
}

export interface Figures {
  cursors: number;
  /** Share of cursors with a ghost text. */
  shown: number;
  /** Among shown: exactly right; a right start (exact or prefix). */
  exact: number;
  correctPrefix: number;
  /** Mean characters of the right (exact or prefix) ghost texts. */
  meanRightChars: number;
  /** Characters the right ghost texts supply / characters of all the truths. */
  charsSupplied: number;
}

/** The bench's figures over cases and their ghost texts ('' = none shown). */
export function figures(cases: { truth: string }[], ghosts: string[]): Figures {
  let shown = 0;
  let exact = 0;
  let right = 0;
  let supplied = 0;
  let total = 0;
  cases.forEach((c, i) => {
    const s = scoreGhost(c.truth, ghosts[i]);
    total += c.truth.trimEnd().length;
    if (s.verdict === 'empty') return;
    shown++;
    if (s.verdict === 'exact') exact++;
    if (s.verdict !== 'wrong') right++;
    supplied += s.supplied;
  });
  return {
    cursors: cases.length,
    shown: shown / Math.max(1, cases.length),
    exact: exact / Math.max(1, shown),
    correctPrefix: right / Math.max(1, shown),
    meanRightChars: supplied / Math.max(1, right),
    charsSupplied: supplied / Math.max(1, total),
  };
}

/** The area under the ROC curve of `scores` for telling `labels` true from false (ties count
 *  half): the chance that a random right one scores above a random wrong one. NaN without both. */
export function auc(scores: number[], labels: boolean[]): number {
  let pairs = 0;
  let above = 0;
  scores.forEach((s, i) => {
    if (!labels[i]) return;
    scores.forEach((t, j) => {
      if (labels[j]) return;
      pairs++;
      above += s > t ? 1 : s === t ? 0.5 : 0;
    });
  });
  return pairs ? above / pairs : NaN;
}
