// npm run bench:completions — what the editor shows on held-out code: the language server's own
// completion path (CompletionService: FIM window around the cursor, stop rules, post-processing)
// on the default model, at cursor positions of three kinds taken from held-out files, each with
// the rest of its line deleted (as if the user were typing it):
//   close  the rest of the line is only the closers of brackets opened on it (`)`, `]);`, `):`)
//   ident  halfway through an identifier that already occurs earlier in the file
//   line   halfway through a short line (finish a simple statement)
// and prints, per kind and depth, how often the ghost text is exactly right (ident: finishes the
// identifier), how often it is well-formed (isWellFormed: closes the line's brackets as the truth
// does / makes an identifier of the file), how often it is empty, and a few examples; at the
// default depth also the greedy continuation instead of the beam search's likeliest line (the
// measurement behind the beamWidth setting's default) and, for a model whose config forbids FIM
// prompts, the same cases with them allowed (the measurement behind that setting). Then the common
// patterns of commonPatterns.ts (`for i in range(`, `const fs = require(`, ...) at the default
// depth: how many ghost texts are plausible code (the file parses with them), and each one. The
// confidence gate is off throughout (minConfidence 0): what it shows is bench:quality's subject.
import * as fs from 'fs';
import * as path from 'path';
import { CancellationToken } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { CompletionService } from '../../server/lsp/completionService';
import { defaultModelDir } from '../../server/engine/modelResolver';
import { ModelHost } from '../../server/lsp/modelHost';
import { DEFAULT_SETTINGS } from '../../server/lsp/settings';
import { CompletionStats } from '../../server/lsp/stats';
import { DepthBudget } from '../../server/protocol';
import { copyWithConfig } from '../helpers/reference';
import { checkPatterns, PATTERNS, plausible } from './commonPatterns';
import { heldoutCode } from './evalLib';

const STEPS = (process.env.COMPLETION_STEPS ?? '1,8,32').split(',').map(Number);
const PER_KIND = Number(process.env.COMPLETION_PER_KIND ?? 100);
const PER_DOC = 3; // cases of one kind per file, so that no single file dominates
const EXAMPLES = 5;
// COMPLETION_DUMP=file.jsonl: every case's ghost text too, one JSON line each, for reading failures.
const DUMP = process.env.COMPLETION_DUMP;
// COMPLETION_PREFIX_CHARS / COMPLETION_SUFFIX_CHARS: the context window around the cursor, instead
// of the settings' defaults (the measurement behind them).
const WINDOW = {
  ...(process.env.COMPLETION_PREFIX_CHARS ? { prefixChars: Number(process.env.COMPLETION_PREFIX_CHARS) } : {}),
  ...(process.env.COMPLETION_SUFFIX_CHARS ? { suffixChars: Number(process.env.COMPLETION_SUFFIX_CHARS) } : {}),
};

type Kind = 'close' | 'ident' | 'line';
const KINDS: Kind[] = ['close', 'ident', 'line'];
interface Case {
  kind: Kind;
  doc: number;
  line: number;
  character: number;
  /** What a right completion is: the rest of the line (close, line) or of the identifier (ident). */
  truth: string;
  /** The file with the rest of the cursor's line deleted. */
  text: string;
  /** The cursor's line up to the cursor. */
  linePrefix: string;
  /** The cursor's offset in `text`. */
  offset: number;
}

const CLOSERS = /[)\]}]+[;:,]?$/;
const IDENT = /[A-Za-z_][A-Za-z0-9_]{3,}/g;

/** Closers still owed by `text` (innermost first), or null when it closes one it never opened. */
function owed(text: string): string | null {
  const stack: string[] = [];
  for (const ch of text) {
    const o = '([{'.indexOf(ch);
    if (o >= 0) stack.push(')]}'[o]);
    else if (')]}'.includes(ch) && stack.pop() !== ch) return null;
  }
  return stack.reverse().join('');
}

/** Deterministic cases: the first PER_DOC of each kind in each file, up to PER_KIND in all. */
function pickCases(docs: string[]): Case[] {
  const cases: Case[] = [];
  const count: Record<Kind, number> = { close: 0, ident: 0, line: 0 };
  docs.forEach((text, doc) => {
    const perDoc: Record<Kind, number> = { close: 0, ident: 0, line: 0 };
    const lines = text.split('\n');
    const add = (kind: Kind, line: number, character: number, truth: string) => {
      if (count[kind] >= PER_KIND || perDoc[kind] >= PER_DOC) return;
      count[kind]++;
      perDoc[kind]++;
      const typed = [...lines.slice(0, line), lines[line].slice(0, character), ...lines.slice(line + 1)].join('\n');
      cases.push({ kind, doc, line, character, truth, text: typed, linePrefix: lines[line].slice(0, character), offset: before + character });
    };
    let before = 0; // characters of the file before this line
    lines.forEach((raw, line) => {
      const content = raw.trimEnd();
      const body = content.trim();
      // Skip the first lines: a cursor needs some file around it.
      if (line >= 5 && body.length > 0 && !body.startsWith('#') && !body.startsWith('//')) {
        const tail = content.match(CLOSERS)?.[0];
        if (tail) {
          const head = content.slice(0, content.length - tail.length);
          const brackets = tail.replace(/[;:,]$/, '');
          if (head.trim().length > 0 && owed(head) === brackets) {
            add('close', line, head.length, tail);
          }
        }
        for (const m of content.matchAll(IDENT)) {
          const earlier = text.slice(Math.max(0, before - DEFAULT_SETTINGS.prefixChars), before);
          if (!new RegExp(`\\b${m[0]}\\b`).test(earlier)) continue;
          const cut = Math.ceil(m[0].length / 2);
          add('ident', line, m.index! + cut, m[0].slice(cut));
          break;
        }
        if (body.length >= 12 && body.length <= 60) {
          const indent = content.length - body.length;
          const cut = indent + Math.ceil(body.length / 2);
          add('line', line, cut, content.slice(cut));
        }
      }
      before += raw.length + 1;
    });
  });
  return cases;
}

/** How many cases of each kind. */
function countByKind(cases: Case[]): Record<Kind, number> {
  const n: Record<Kind, number> = { close: 0, ident: 0, line: 0 };
  for (const c of cases) n[c.kind]++;
  return n;
}

/** A markdown table cell showing `s` exactly (quoted, `|` escaped). */
function cell(s: string): string {
  return JSON.stringify(s).replace(/\|/g, '\\|');
}

function isRight(c: Case, text: string): boolean {
  if (c.kind !== 'ident') return text === c.truth;
  return text.startsWith(c.truth) && !/^[A-Za-z0-9_]/.test(text.slice(c.truth.length));
}

/** A looser reading than isRight, of what the ghost text is as code: close and line, non-empty and
 *  leaving the line's brackets as the true rest of the line does (`def main(` -> `self):`); ident,
 *  finishing some identifier that occurs earlier in the file (`fr` -> `from`, not only the truth). */
function isWellFormed(c: Case, text: string): boolean {
  if (text.length === 0) return false;
  if (c.kind !== 'ident') {
    const left = owed(c.linePrefix + text);
    return left !== null && left === owed(c.linePrefix + c.truth);
  }
  const typed = c.linePrefix.match(/[A-Za-z0-9_]*$/)![0];
  const word = typed + text.match(/^[A-Za-z0-9_]*/)![0];
  return new RegExp(`\\b${word}\\b`).test(c.text.slice(0, c.offset - typed.length));
}

interface Variant {
  label: string;
  rows: string[];
  examples: string[];
}

/** The automatic-trigger budget of the extension's defaults, at r iterations. */
function budgetAt(r: number): DepthBudget {
  return { level: 2, steps: r, exitThreshold: 1e-3, maxTokens: 24, timeCapMs: 60_000, multiline: false };
}

/** The language server's completion path on `modelDir`, with the default settings but `beamWidth`
 *  and the confidence gate off: this bench compares what the decoders make of a line, and a gate
 *  that empties the unsure ones would hide it (bench:quality measures what the gate shows). */
async function completionService(modelDir: string, beamWidth: number): Promise<{ host: ModelHost; service: CompletionService }> {
  const settings = { ...DEFAULT_SETTINGS, modelPath: modelDir, device: 'cpu' as const, beamWidth, minConfidence: 0, ...WINDOW };
  const host = new ModelHost(settings, () => {}, () => {});
  await host.load();
  return { host, service: new CompletionService(host, new CompletionStats(), () => settings, () => {}, () => {}) };
}

/** The cases through a CompletionService on `modelDir` with `beamWidth`, at each depth in `steps`. */
async function run(modelDir: string, label: string, steps: number[], cases: Case[], beamWidth = DEFAULT_SETTINGS.beamWidth): Promise<Variant> {
  const { host, service } = await completionService(modelDir, beamWidth);
  const files = cases.map((c, i) => TextDocument.create(`file:///heldout/${c.doc}/${i}`, 'plaintext', 1, c.text));
  const n = countByKind(cases);
  const out: Variant = { label, rows: [], examples: [] };
  const t0 = Date.now();
  for (const r of steps) {
    const budget = budgetAt(r);
    const right: Record<Kind, number> = { close: 0, ident: 0, line: 0 };
    const empty: Record<Kind, number> = { close: 0, ident: 0, line: 0 };
    const wellFormed: Record<Kind, number> = { close: 0, ident: 0, line: 0 };
    const seen: Record<Kind, number> = { close: 0, ident: 0, line: 0 };
    for (const [i, c] of cases.entries()) {
      service.clearCache();
      const items = await service.complete(files[i], { line: c.line, character: c.character }, budget, CancellationToken.None);
      const text = items[0]?.insertText ?? '';
      if (DUMP) fs.appendFileSync(DUMP, JSON.stringify({ variant: label, r, kind: c.kind, before: c.linePrefix, truth: c.truth, text }) + '\n');
      if (isRight(c, text)) right[c.kind]++;
      if (isWellFormed(c, text)) wellFormed[c.kind]++;
      if (!text) empty[c.kind]++;
      // Examples spread over the files, at the default depth.
      if (r === 8 && seen[c.kind]++ % Math.ceil(n[c.kind] / EXAMPLES) === 0) {
        out.examples.push(`| ${c.kind} | ${cell(c.linePrefix.trim())} | ${cell(c.truth)} | ${cell(text)} |`);
      }
    }
    const pct = (x: number, k: Kind) => `${((100 * x) / Math.max(1, n[k])).toFixed(0)}%`;
    out.rows.push(`| ${label}, r=${r} | ${KINDS.map((k) => `${pct(right[k], k)} / ${pct(wellFormed[k], k)} / ${pct(empty[k], k)}`).join(' | ')} |`);
    process.stderr.write(`${label} r=${r} done (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
  await host.engine()?.close();
  return out;
}

/** The ghost text of each common pattern (commonPatterns.ts) at the default depth. */
async function runPatterns(modelDir: string, beamWidth: number): Promise<string[]> {
  const { host, service } = await completionService(modelDir, beamWidth);
  const texts: string[] = [];
  for (const [i, p] of PATTERNS.entries()) {
    const doc = TextDocument.create(`file:///patterns/${i}`, p.lang, 1, p.before + p.after);
    const at = doc.positionAt(p.before.length);
    const items = await service.complete(doc, at, budgetAt(8), CancellationToken.None);
    texts.push(items[0]?.insertText ?? '');
  }
  await host.engine()?.close();
  return texts;
}

/** A copy of `modelDir` whose config allows FIM prompts, when it forbids them (else undefined). */
function withFimAllowed(modelDir: string): string | undefined {
  const cfg = JSON.parse(fs.readFileSync(path.join(modelDir, 'config.json'), 'utf8'));
  if (cfg.fill_in_the_middle !== false) return undefined;
  return copyWithConfig(modelDir, (c) => delete c.fill_in_the_middle, 'bench-fim');
}

async function main() {
  const modelDir = process.argv[2] ?? defaultModelDir();
  const docs = heldoutCode(1000);
  const cases = pickCases(docs);
  const variants = [await run(modelDir, 'as configured', STEPS, cases)];
  variants.push(await run(modelDir, 'greedy (beam width 1)', [8], cases, 1));
  // The measurement behind a config's fill_in_the_middle: false, at the default depth.
  const fim = withFimAllowed(modelDir);
  if (fim) variants.push(await run(fim, 'FIM prompts allowed', [8], cases));
  checkPatterns();
  const patterns = [await runPatterns(modelDir, DEFAULT_SETTINGS.beamWidth), await runPatterns(modelDir, 1)];
  if (fim) patterns.push(await runPatterns(fim, DEFAULT_SETTINGS.beamWidth));
  const n = countByKind(cases);
  console.log(`model: ${modelDir}\nheld-out code: ${docs.length} files; cases: ${KINDS.map((k) => `${k} ${n[k]}`).join(', ')}\n`);
  console.log(`| prompt, depth | close: right / well-formed / empty | ident: (same) | line: (same) |\n|---|---:|---:|---:|\n${variants.flatMap((v) => v.rows).join('\n')}`);
  const labels = ['as configured', 'greedy', 'FIM prompts allowed'].slice(0, patterns.length);
  const okAll = patterns.map(plausible);
  const idiomAll = patterns.map((texts) => texts.filter((t, i) => t === PATTERNS[i].idiom).length);
  console.log(`\ncommon patterns (${PATTERNS.length}, r=8; plausible: not empty and the file parses with it):\n`);
  console.log(`| prompt | plausible | the usual completion |\n|---|---:|---:|\n${labels.map((l, v) => `| ${l} | ${okAll[v].filter(Boolean).length} | ${idiomAll[v]} |`).join('\n')}`);
  console.log(`\n| end of the line before the cursor | usual | ${labels.join(' | ')} |\n|---|---|${labels.map(() => '---').join('|')}|`);
  for (const [i, p] of PATTERNS.entries()) {
    const line = p.before.slice(p.before.lastIndexOf('\n') + 1).trim();
    console.log(`| ${cell(line)} | ${cell(p.idiom)} | ${patterns.map((t, v) => `${cell(t[i])}${okAll[v][i] ? '' : ' ✗'}`).join(' | ')} |`);
  }
  console.log(`\nexamples (as configured, r=8; the cursor follows the text shown):\n\n| kind | before the cursor | truth | ghost text |\n|---|---|---|---|\n${variants[0].examples.join('\n')}`);
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
