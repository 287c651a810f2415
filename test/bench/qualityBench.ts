// npm run bench:quality — is the ghost text worth accepting? Mid-line and end-of-line cursors in
// real, permissively licensed code that the training corpus does not contain (qualityCases.ts:
// requests 2.28.1 (Apache-2.0) and attrs 22.2.0 (MIT) from Debian's python3-requests and
// python3-attr; vega-lite 6.4.3 (TypeScript), vega-dataflow 6.1.3, vega-transforms 5.2.2 and
// vega-parser 7.1.3 (JavaScript) from npm, BSD-3-Clause; versions and licences are read again and
// printed), cursors drawn with a seed, through the language server's own completion path
// (CompletionService.complete, as bench:completions; single-line budgets, no time cap), at
// r = 1, 8, 32. Per depth, with the confidence gate off (minConfidence 0: every ghost text, as
// before the gate) and at the default bar (what the server shows): how often a ghost text is
// shown, how often a shown one is exactly the truth, how often it is a correct start of it, the
// mean length of the right ones, and the share of the truths' characters they supply. Then the
// confidence signals the gate could use, each one's AUC for telling right shown ghost text from
// wrong; how well the confidence is calibrated; an explicit request's lower bar; the
// precision/coverage curve over the bar (bench-results/quality-precision-coverage.png and .json).
// QUALITY_STEPS, QUALITY_PER_KIND (per language group and kind; 75 = 300 cursors), QUALITY_SEED,
// QUALITY_DUMP=file.jsonl (every case), QUALITY_FIT=1 (fit the calibration on this run: the
// shipped one is QUALITY_SEED=2 QUALITY_STEPS=8 QUALITY_FIT=1, checked on the default seed 1).
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { CancellationToken } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { CompletionService, GhostObservation } from '../../server/lsp/completionService';
import { barFor, CALIBRATION, confidenceOf, gate, Piece } from '../../server/lsp/confidence';
import { defaultModelDir } from '../../server/engine/modelResolver';
import { ModelHost } from '../../server/lsp/modelHost';
import { postprocess } from '../../server/lsp/postprocess';
import { DEFAULT_SETTINGS } from '../../server/lsp/settings';
import { CompletionStats } from '../../server/lsp/stats';
import { DEFAULT_BUDGET, DepthBudget } from '../../server/protocol';
import { REPO } from '../helpers/reference';
import { writeChart } from './charts';
import { auc, Case, figures, Figures, pickCases, pickNeighbors, readSource, scoreGhost, Source, sources } from './qualityCases';

const STEPS = (process.env.QUALITY_STEPS ?? '1,8,32').split(',').map(Number);
const PER_KIND = Number(process.env.QUALITY_PER_KIND ?? 75);
const SEED = Number(process.env.QUALITY_SEED ?? 1);
const DUMP = process.env.QUALITY_DUMP;
const FIT = process.env.QUALITY_FIT === '1';
const NEIGHBORS = Number(process.env.QUALITY_NEIGHBORS ?? 0);
const BAR = DEFAULT_SETTINGS.minConfidence;
/** The bars of the precision/coverage curve (no confidence reaches sigmoid(CALIBRATION.a), 0.82). */
const CURVE = Array.from({ length: 17 }, (_, i) => Math.round(i * 5) / 100);

function versionOf(s: Source): string {
  if ('npm' in s.version) return JSON.parse(fs.readFileSync(s.version.npm, 'utf8')).version;
  return execFileSync('dpkg-query', ['-W', '-f', '${Version}', s.version.debian], { encoding: 'utf8' }).trim();
}

/** The sources, checked to be installed and outside the training corpus's npm list. */
function checkedSources(): Source[] {
  const corpus = fs.readFileSync(path.join(REPO, 'native/data/npm_sources.txt'), 'utf8').split('\n').map((l) => l.trim());
  const all = sources(REPO);
  for (const s of all) {
    if (corpus.includes(`npm:${s.name}`)) throw new Error(`${s.name} is in the training corpus (native/data/npm_sources.txt)`);
    if (!fs.existsSync(s.root)) throw new Error(`${s.root} not found (${s.name}: ${'npm' in s.version ? 'npm ci' : `apt-get install ${s.version.debian}`})`);
  }
  return all;
}

/** The automatic-trigger budget of the extension's defaults at r iterations, single line (the
 *  truth is the rest of the line), without a time cap. */
function budgetAt(r: number): DepthBudget {
  return { ...DEFAULT_BUDGET, steps: r, timeCapMs: 60_000, multiline: false, explicit: false };
}

/** One case at one depth: what the server showed, and the gate's input to replay other bars. */
interface Run {
  shown: string;
  observation?: GhostObservation;
}

/** The ghost text the gate lets through at `minConfidence` (explicit or not) for a run. */
function replay(run: Run, minConfidence: number, explicit = false): string {
  const o = run.observation;
  return o ? (gate(o.pieces, o.ctx, barFor(minConfidence, explicit))?.insertText ?? '') : '';
}

const pct = (x: number, digits = 0) => `${(100 * x).toFixed(digits)}%`;
function row(label: string, f: Figures): string {
  return `| ${label} | ${pct(f.shown)} | ${pct(f.exact)} | ${pct(f.correctPrefix)} | ${f.meanRightChars.toFixed(2)} | ${pct(f.charsSupplied, 2)} |`;
}
const HEADER = '| depth, gate | shown | exact (of shown) | correct prefix (of shown) | mean chars of right ones | chars supplied |\n|---|---:|---:|---:|---:|---:|';

/** The pieces that make the first `chars` characters of their text. */
function covering(pieces: Piece[], chars: number): Piece[] {
  let start = 0;
  const out: Piece[] = [];
  for (const p of pieces) {
    if (start >= chars) break;
    out.push(p);
    start += p.text.length;
  }
  return out;
}

/** The candidate confidence signals of a shown (ungated) ghost text, higher = surer. */
function signals(o: GhostObservation, shown: string): Record<string, number> {
  const { result, pieces } = o;
  const shownPieces = covering(pieces, shown.length);
  const logProb = shownPieces.reduce((a, p) => a + p.logProb, 0);
  const lineTokens = (result.tokenLogProbs?.length ?? 0) + 1;
  // The next finished line that shows differently, else the best other continuation's score.
  const alternatives = result.alternatives ?? [];
  const other = alternatives.findIndex((t) => postprocess(t, o.ctx) !== shown);
  const runnerUp = other >= 0 ? result.alternativeLogProbs![other] : (result.runnerUpLogProb ?? -Infinity);
  return {
    'P(shown text): product of its tokens\' probabilities (the gate)': logProb,
    'per-token probability of the shown text (geometric mean)': logProb / Math.max(1, shownPieces.length),
    'per-token probability of the whole line, exp(logProb / tokens)': (result.logProb ?? 0) / lineTokens,
    'probability of the whole line with its end': result.logProb ?? 0,
    "first token's probability": pieces[0]?.logProb ?? -Infinity,
    'margin to the next finished alternative (log)': Math.min(50, (result.logProb ?? 0) - runnerUp),
  };
}

/** Fits confidence = sigmoid(a + b ln P) to "a correct prefix" over every distinct post-processed
 *  start of each whole ghost text that ends at a piece boundary (the texts the gate chooses from),
 *  by gradient descent on the log loss. */
function fitCalibration(cases: Case[], out: Run[]): { a: number; b: number; points: number } {
  const data: { x: number; y: number }[] = [];
  out.forEach((run, i) => {
    const o = run.observation;
    if (!o) return;
    const whole = replay(run, 0);
    const seen = new Set<string>();
    let raw = '';
    for (const p of o.pieces) {
      raw += p.text;
      const text = postprocess(raw, o.ctx);
      if (!text || !whole.startsWith(text) || seen.has(text)) continue;
      seen.add(text);
      data.push({ x: covering(o.pieces, text.length).reduce((a, q) => a + q.logProb, 0), y: scoreGhost(cases[i].truth, text).verdict !== 'wrong' ? 1 : 0 });
    }
  });
  let a = 0;
  let b = 1;
  for (let step = 0; step < 20_000; step++) {
    let ga = 0;
    let gb = 0;
    for (const { x, y } of data) {
      const e = 1 / (1 + Math.exp(-(a + b * x))) - y;
      ga += e;
      gb += e * x;
    }
    a -= (0.05 * ga) / data.length;
    b -= (0.05 * gb) / data.length;
  }
  return { a, b, points: data.length };
}

async function main() {
  const modelDir = process.argv[2] ?? defaultModelDir();
  const srcs = checkedSources();
  const files = srcs.flatMap(readSource);
  const cases = pickCases(files, PER_KIND, SEED);
  const settings = { ...DEFAULT_SETTINGS, modelPath: modelDir, device: 'cpu' as const };
  const host = new ModelHost(settings, () => {}, () => {});
  await host.load();
  let observed: GhostObservation | undefined;
  const docs = cases.map((c, i) => TextDocument.create(`file:///quality/${i}/${c.file}`, c.lang, 1, c.text));
  const neighbors = new Map(
    pickNeighbors(files, cases, NEIGHBORS, SEED).map((open, i) => [docs[i].uri, open.map((f) => TextDocument.create(`file:///quality/${i}/open/${f.path}`, f.lang, 1, f.text))]),
  );
  const service = new CompletionService(host, new CompletionStats(), () => settings, () => {}, () => {}, {
    observe: (o) => (observed = o),
    neighbors: (doc) => neighbors.get(doc.uri) ?? [],
  });
  if (NEIGHBORS) console.log(`other open files the document cache reads: ${NEIGHBORS} per cursor, drawn from its package`);
  console.log(`model: ${modelDir}\nsources (not in the training corpus):`);
  for (const s of srcs) console.log(`  ${s.name} ${versionOf(s)} (${s.lang}, ${s.licence}, licence from ${s.licenceFrom}): ${files.filter((f) => f.source === s.name).length} files`);
  const count = (pred: (c: Case) => boolean) => cases.filter(pred).length;
  console.log(
    `cursors: ${cases.length} (seed ${SEED}): mid-line ${count((c) => c.kind === 'mid')}, end of line ${count((c) => c.kind === 'eol')}; ` +
      `python ${count((c) => c.lang === 'python')}, typescript ${count((c) => c.lang === 'typescript')}, javascript ${count((c) => c.lang === 'javascript')}\n`,
  );

  const runs = new Map<number, Run[]>();
  for (const r of STEPS) {
    const t0 = Date.now();
    const out: Run[] = [];
    for (const [i, c] of cases.entries()) {
      service.clearCache();
      observed = undefined;
      const items = await service.complete(docs[i], { line: c.line, character: c.character }, budgetAt(r), CancellationToken.None);
      const run: Run = { shown: items[0]?.insertText ?? '', observation: observed };
      // The replayed gate is the server's: the curve below replays other bars the same way.
      if (replay(run, BAR) !== run.shown) throw new Error(`case ${i}: the gate replayed gives ${JSON.stringify(replay(run, BAR))}, the server ${JSON.stringify(run.shown)}`);
      out.push(run);
      if (DUMP) fs.appendFileSync(DUMP, JSON.stringify({ r, i, kind: c.kind, lang: c.lang, linePrefix: c.linePrefix, after: c.after, truth: c.truth, ungated: replay(run, 0), shown: run.shown, pieces: run.observation?.pieces }) + '\n');
    }
    runs.set(r, out);
    process.stderr.write(`r=${r}: ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  }
  await host.engine()?.close();

  console.log(`ghost text, gate off (minConfidence 0) and at the default bar (minConfidence ${BAR}):\n\n${HEADER}`);
  for (const [r, out] of runs) {
    console.log(row(`r=${r}, off`, figures(cases, out.map((run) => replay(run, 0)))));
    console.log(row(`r=${r}, ${BAR}`, figures(cases, out.map((run) => run.shown))));
  }
  const main = runs.get(8) ?? [...runs.values()][0];
  const mainR = runs.has(8) ? 8 : STEPS[0];
  console.log(row(`r=${mainR}, explicit (${BAR * 0.5}, any length)`, figures(cases, main.map((run) => replay(run, BAR, true)))));

  console.log(`\nby cursor kind and language (r=${mainR}):\n\n${HEADER}`);
  for (const [label, pred] of [
    ['mid-line', (c: Case) => c.kind === 'mid'],
    ['end of line', (c: Case) => c.kind === 'eol'],
    ['python', (c: Case) => c.lang === 'python'],
    ['typescript/javascript', (c: Case) => c.lang !== 'python'],
  ] as [string, (c: Case) => boolean][]) {
    const idx = cases.flatMap((c, i) => (pred(c) ? [i] : []));
    const sub = idx.map((i) => cases[i]);
    console.log(row(`${label}, off`, figures(sub, idx.map((i) => replay(main[i], 0)))));
    console.log(row(`${label}, ${BAR}`, figures(sub, idx.map((i) => main[i].shown))));
  }

  // Which signal tells right shown ghost text from wrong: AUC over the ungated shown ones.
  const names = Object.keys(signals({ result: { tokenLogProbs: [] }, pieces: [], ctx: { linePrefix: '', lineSuffix: '', multiline: false } } as unknown as GhostObservation, ''));
  const depthAgreement = 'agreement with the ghost text at the next lower depth (costs a second run)';
  console.log(`\nconfidence signals: AUC for telling a right (correct prefix) shown ghost text from a wrong one (gate off):\n`);
  console.log(`| signal | ${[...runs.keys()].map((r) => `r=${r}`).join(' | ')} |\n|---|${[...runs.keys()].map(() => '---:').join('|')}|`);
  const aucs = new Map<string, string[]>();
  const depths = [...runs.keys()];
  depths.forEach((r, d) => {
    const out = runs.get(r)!;
    const shownIdx = out.flatMap((run, i) => (replay(run, 0) ? [i] : []));
    const labels = shownIdx.map((i) => scoreGhost(cases[i].truth, replay(out[i], 0)).verdict !== 'wrong');
    for (const name of names) {
      const scores = shownIdx.map((i) => signals(out[i].observation!, replay(out[i], 0))[name]);
      aucs.set(name, [...(aucs.get(name) ?? []), auc(scores, labels).toFixed(3)]);
    }
    const lower = d > 0 ? runs.get(depths[d - 1]) : undefined;
    const agree = lower ? auc(shownIdx.map((i) => (replay(lower[i], 0) === replay(out[i], 0) ? 1 : 0)), labels).toFixed(3) : '–';
    aucs.set(depthAgreement, [...(aucs.get(depthAgreement) ?? []), agree]);
  });
  for (const [name, values] of aucs) console.log(`| ${name} | ${values.join(' | ')} |`);

  // Calibration: shown ghost texts (gate off) by confidence, and how many of them are right.
  console.log(`\ncalibration (r=${mainR}, gate off: the whole shown ghost text; confidence = 1 / (1 + exp(-(${CALIBRATION.a} + ${CALIBRATION.b} ln P)))):\n`);
  console.log('| confidence | shown | right (correct prefix) | mean confidence |\n|---|---:|---:|---:|');
  const bins = [0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0001];
  for (let b = 0; b + 1 < bins.length; b++) {
    let n = 0;
    let right = 0;
    let sum = 0;
    main.forEach((run, i) => {
      const text = replay(run, 0);
      if (!text) return;
      const c = confidenceOf(signals(run.observation!, text)[names[0]]);
      if (c < bins[b] || c >= bins[b + 1]) return;
      n++;
      sum += c;
      if (scoreGhost(cases[i].truth, text).verdict !== 'wrong') right++;
    });
    console.log(`| ${bins[b].toFixed(1)}–${Math.min(1, bins[b + 1]).toFixed(1)} | ${n} | ${n ? pct(right / n) : '–'} | ${n ? (sum / n).toFixed(2) : '–'} |`);
  }

  if (FIT) {
    const { a, b, points } = fitCalibration(cases, main);
    console.log(`\ncalibration fit on this run (r=${mainR}, ${points} starts of ghost texts): a = ${a.toFixed(3)}, b = ${b.toFixed(3)}`);
  }

  // The precision/coverage curve over the bar.
  const curve = new Map<number, { bar: number; f: Figures }[]>();
  for (const [r, out] of runs) curve.set(r, CURVE.map((bar) => ({ bar, f: figures(cases, out.map((run) => replay(run, bar))) })));
  console.log(`\nprecision (correct prefix among shown) and coverage (shown) over the bar, r=${mainR}:\n`);
  console.log('| minConfidence | shown | correct prefix | mean chars of right ones | chars supplied |\n|---:|---:|---:|---:|---:|');
  for (const { bar, f } of curve.get(mainR)!) console.log(`| ${bar.toFixed(2)} | ${pct(f.shown)} | ${pct(f.correctPrefix)} | ${f.meanRightChars.toFixed(2)} | ${pct(f.charsSupplied, 2)} |`);
  const out = path.join(REPO, 'bench-results');
  fs.mkdirSync(out, { recursive: true });
  const series = [...curve].map(([r, points]) => ({
    label: `r=${r}`,
    points: points.filter(({ f }) => f.shown > 0).map(({ f }) => ({ x: 100 * f.shown, y: 100 * f.correctPrefix })),
  }));
  await writeChart(path.join(out, 'quality-precision-coverage.png'), series, {
    title: `Ghost text: precision vs coverage over minConfidence 0..${CURVE[CURVE.length - 1]} (${cases.length} cursors)`,
    xLabel: 'coverage: cursors with a ghost text %',
    yLabel: 'precision: shown ones a correct prefix %',
    yMin: 0,
    yMax: 100,
  });
  fs.writeFileSync(path.join(out, 'quality.json'), JSON.stringify({ seed: SEED, cursors: cases.length, bar: BAR, curve: Object.fromEntries(curve) }, null, 2));
  console.log(`\nchart: ${path.join(out, 'quality-precision-coverage.png')}`);
}

main().catch((e) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
