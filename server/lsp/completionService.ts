// One inline completion: the cursor and its window (prompt.ts), cache, supersession of older
// requests for the same document, generation in the engine worker under the request's depth
// budget, progress while it runs, post-processing (postprocess.ts) and the confidence gate
// (confidence.ts).
import { CancellationToken } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { CancelledError } from '../engine/cancel';
import { TextGenerateRequest } from '../engine/engine';
import { EngineClient, EngineError, RequestHandle } from '../engine/engineClient';
import { GenerateResult } from '../engine/generate';
import { TokenEvent } from '../engine/stopping';
import { cursorWindow, isHighSurrogate, isLowSurrogate } from '../engine/prompt';
import { CompletionInfo, DepthBudget, ProgressParams, ServerSettings, spansLines } from '../protocol';
import { CompletionCache } from './completionCache';
import { afterTyped, barFor, gate, Gated, Piece } from './confidence';
import { ModelHost } from './modelHost';
import { neighborTexts } from './neighbors';
import { BLANK_LINE_START, CursorContext, HAS_TEXT, postprocess } from './postprocess';
import { ServingLimits } from './servingLimits';
import { CompletionStats } from './stats';

export interface CompletionItemOut {
  insertText: string;
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  recurrent: CompletionInfo;
}

/** How far the document cache (server/engine/documentCache.ts) reads the document before and
 *  after the cursor: names and phrases used far from the prompt's window (prefixChars) are copied
 *  from there (tokenized in remembered pieces, documentTokens; a background prefill tokenizes them in
 *  idle time). */
const DOCUMENT_CACHE_CHARS = 16_000;

export class PositionError extends Error {}

/** What the document cache reads: the text around the cursor and the other open documents' text,
 *  with those documents' uri@version (which keys the completion cache along with the text). */
interface DocumentText {
  before: string;
  after: string;
  others: string[];
  from: string[];
}

/** What the cache keeps of a computed completion: its info and the gate's input. */
interface Computed {
  info: Omit<CompletionInfo, 'confidence' | 'lowConfidence'>;
  pieces: Piece[];
}

/** A computed ghost text, for benchmarks: the engine's result, the raw continuation shown from
 *  it, the gate's input, and what the gate let through at the request's bar. */
export interface GhostObservation {
  result: GenerateResult;
  raw: string;
  pieces: Piece[];
  ctx: CursorContext;
  shown: Gated | undefined;
}

const PROGRESS_EVERY_MS = 250;
/** The KL exit is checked every 4th iteration: each check runs the coda and the LM head. At
 *  huginn-0125's size (bench:fullsize, r=32) that gave 2.96x the tokens/s of fixed r, against
 *  2.40x checking every iteration; at r=4 a check every iteration made decoding slower than no
 *  exit at all (1.57 against 0.88 s/token). */
const EXIT_CHECK_EVERY = 4;

export class CompletionService {
  private readonly cache = new CompletionCache<Computed>();
  private readonly inFlight = new Map<string, RequestHandle<GenerateResult>>();
  /** The background prefill running now, if any (cancelled by any real request). */
  private background: RequestHandle<GenerateResult> | undefined;
  /** What the loaded engine allows (KV ceiling, beam width), measured per engine. */
  private limits: { engine: EngineClient; of: ServingLimits } | undefined;
  private nextId = 1;

  constructor(
    private readonly host: ModelHost,
    private readonly stats: CompletionStats,
    private readonly settings: () => ServerSettings,
    private readonly progress: (p: ProgressParams) => void,
    private readonly statusChanged: () => void,
    private readonly hooks: {
      /** The other open documents whose text the document cache reads besides `doc`'s
       *  (neighbors.ts). None when absent. */
      neighbors?: (doc: TextDocument) => readonly TextDocument[];
      /** Benchmarks: every computed ghost text (not cache hits). */
      observe?: (o: GhostObservation) => void;
    } = {},
  ) {}

  /** Requests now computing or queued (for tests of supersession and load). */
  get pending(): number {
    return this.inFlight.size;
  }

  clearCache(): void {
    this.cache.clear();
  }

  async complete(doc: TextDocument, position: { line: number; character: number }, budget: DepthBudget, token: CancellationToken): Promise<CompletionItemOut[]> {
    const requestId = this.nextId++;
    const started = Date.now();
    this.stats.counters.requests++;
    // A real request goes first: a background prefill in the worker's way stops within a chunk
    // (what it finished stays in the prompt cache, which this request then reuses).
    this.background?.cancel();
    const { beamWidth, minConfidence } = this.settings();
    const { prefix, suffix, document, ctx } = this.placeOf(doc, position, budget);
    const bar = barFor(minConfidence, budget.explicit === true);
    // An explicit request may pass a lower bar than the setting's: what only it passes is marked.
    const marked = (shown: Gated) => ({ confidence: shown.confidence, lowConfidence: minConfidence > 0 && shown.confidence < minConfidence });
    const budgetKey = JSON.stringify([budget.steps, budget.exitThreshold, budget.maxTokens, ctx.multiline, beamWidth, document.from]);
    const range = { start: position, end: position };

    // Keyed by the document around the cursor (which holds the prompt's window): the document
    // cache reads all of it.
    const hit = this.cache.get(document.before, document.after, budgetKey);
    if (hit) {
      this.stats.counters.cacheHits++;
      const shown = gate(afterTyped(hit.entry.info.pieces, hit.entry.text.length - hit.text.length), ctx, bar);
      if (!shown) return [];
      // The request's own budget: it may differ from the one that computed the entry in what the
      // cache key leaves out (the level's label, explicit).
      const recurrent = { ...hit.entry.info.info, requestId, cached: true, latencyMs: Date.now() - started, budget, ...marked(shown) };
      return [{ insertText: shown.insertText, range, recurrent }];
    }

    // A newer request for the same document supersedes the older one.
    this.inFlight.get(doc.uri)?.cancel();
    const engine = this.host.engine();
    if (!engine || token.isCancellationRequested) return [];

    const streamed = new StreamedTokens((p) => this.progress({ requestId, uri: doc.uri, ...p }), started);
    const limits = this.limitsOf(engine);
    const beams = limits.beamWidth(beamWidth, budget.steps, budget.timeCapMs);
    const handle = engine.generate(ghostTextRequest({ prefix, suffix }, document, ctx, budget, beams, started, limits), (e) => {
      if (streamed.length === 0) this.stats.counters.computed++;
      streamed.add(e);
    });
    const result = await this.awaitResult(doc.uri, handle, token, engine);
    if (!result) return [];

    limits.record(result, budget.steps, beams);
    const latencyMs = Date.now() - started;
    this.stats.record(latencyMs, result.ids.length, mean(result.iterations), budget.level, result.decodeMs);
    this.statusChanged();
    const info = { requestId, tokens: streamed.tokens, latencyMs, cached: false, budget };
    const raw = ghostTextOf(result, ctx);
    const pieces = piecesOf(result, streamed.tokens, raw);
    this.cache.put({ prefix: document.before, suffix: document.after, budgetKey, text: raw, info: { info, pieces } });
    const shown = gate(pieces, ctx, bar);
    this.hooks.observe?.({ result, raw, pieces, ctx, shown });
    if (!shown) return [];
    // An alternative's tokens were not streamed: its compute map is one span at the mean depth.
    const map = raw === result.text ? clipTokens(streamed.tokens, shown.insertText.length) : [{ text: shown.insertText, iterations: mean(result.iterations) }];
    return [{ insertText: shown.insertText, range, recurrent: { ...info, tokens: map, ...marked(shown) } }];
  }

  /**
   * Background prefill at a pause: runs the prompt a completion at `position` would have into the
   * engine's prompt cache, at the budget's depth, while nothing else runs. Resolves to whether it
   * ran; never throws (an idle-time optimisation must not surface errors).
   */
  async prefill(doc: TextDocument, position: { line: number; character: number }, budget: DepthBudget): Promise<boolean> {
    const engine = this.host.engine();
    if (!engine || this.inFlight.size > 0 || this.background) return false;
    try {
      const { prefix, suffix, document, ctx } = this.placeOf(doc, position, budget);
      const { beamWidth } = this.settings();
      // No deadline: it runs until done or until a real request cancels it.
      const request = { ...ghostTextRequest({ prefix, suffix }, document, ctx, budget, beamWidth, Date.now(), this.limitsOf(engine)), deadline: undefined, prefillOnly: true };
      const handle = engine.generate(request, () => {});
      this.background = handle;
      try {
        await handle.result;
      } finally {
        if (this.background === handle) this.background = undefined;
      }
      return true;
    } catch {
      return false;
    }
  }

  /** The prompt's window around the cursor and the cursor's line as post-processing sees it. */
  private placeOf(doc: TextDocument, position: { line: number; character: number }, budget: DepthBudget): { prefix: string; suffix: string; document: DocumentText; ctx: CursorContext } {
    const cursor = cursorIn(doc, position);
    const { prefixChars, suffixChars } = this.settings();
    const text = doc.getText();
    const { prefix, suffix } = cursorWindow(text, cursor.offset, prefixChars, suffixChars);
    const around = cursorWindow(text, cursor.offset, Math.max(prefixChars, DOCUMENT_CACHE_CHARS), Math.max(suffixChars, DOCUMENT_CACHE_CHARS));
    const neighbors = this.hooks.neighbors?.(doc) ?? [];
    const document = { before: around.prefix, after: around.suffix, others: neighborTexts(neighbors), from: neighbors.map((d) => `${d.uri}@${d.version}`) };
    return { prefix, suffix, document, ctx: { linePrefix: cursor.linePrefix, lineSuffix: cursor.lineSuffix, multiline: spansLines(budget.multiline, cursor.lineSuffix) } };
  }

  private limitsOf(engine: EngineClient): ServingLimits {
    if (this.limits?.engine !== engine) this.limits = { engine, of: new ServingLimits(engine.info.promptCost) };
    return this.limits.of;
  }

  /** The engine's answer, or undefined when there is none to show: cancelled (by the editor or a
   *  newer request) or lost with a crashed worker. Other errors propagate. */
  private async awaitResult(uri: string, handle: RequestHandle<GenerateResult>, token: CancellationToken, engine: EngineClient): Promise<GenerateResult | undefined> {
    this.inFlight.set(uri, handle);
    const onCancel = token.onCancellationRequested(() => handle.cancel());
    try {
      return await handle.result;
    } catch (e) {
      if (e instanceof CancelledError) {
        this.stats.counters.cancelled++;
        return undefined;
      }
      this.stats.counters.errors++;
      // A crashed engine worker fails its pending requests: answer nothing (the editor shows no
      // ghost text) and let the host start a new worker for the next request.
      if (e instanceof EngineError && e.kind === 'internal' && !engine.alive) return undefined;
      throw e;
    } finally {
      onCancel.dispose();
      if (this.inFlight.get(uri) === handle) this.inFlight.delete(uri);
    }
  }
}

/** The cursor's offset in the document and its line around it; a position outside the document
 *  or inside a surrogate pair is a PositionError. */
function cursorIn(doc: TextDocument, position: { line: number; character: number }): { offset: number; linePrefix: string; lineSuffix: string } {
  const text = doc.getText();
  if (position.line < 0 || position.line >= doc.lineCount) throw new PositionError(`line ${position.line} is outside the document (${doc.lineCount} lines)`);
  const lineStart = doc.offsetAt({ line: position.line, character: 0 });
  const lineEnd = position.line + 1 < doc.lineCount ? doc.offsetAt({ line: position.line + 1, character: 0 }) : text.length;
  const lineText = text.slice(lineStart, lineEnd).replace(/\r?\n$/, '');
  if (position.character < 0 || position.character > lineText.length) {
    throw new PositionError(`character ${position.character} is outside line ${position.line} (${lineText.length} UTF-16 units)`);
  }
  const offset = lineStart + position.character;
  if (isLowSurrogate(text.charCodeAt(offset)) && isHighSurrogate(text.charCodeAt(offset - 1))) {
    throw new PositionError(`character ${position.character} splits a surrogate pair`);
  }
  return { offset, linePrefix: lineText.slice(0, position.character), lineSuffix: lineText.slice(position.character) };
}

/** The engine request for ghost text at a cursor, under the request's depth budget. */
function ghostTextRequest(fim: { prefix: string; suffix: string }, { before, after, others }: DocumentText, ctx: CursorContext, budget: DepthBudget, beams: number, started: number, limits: ServingLimits): TextGenerateRequest {
  return {
    fim,
    document: { before, after, others },
    reusePrompt: true,
    heal: true,
    steps: budget.steps,
    maxTokens: budget.maxTokens,
    exit: budget.exitThreshold !== null && budget.exitThreshold > 0 ? { criterion: 'kl', threshold: budget.exitThreshold, checkEvery: EXIT_CHECK_EVERY } : undefined,
    stop: ctx.multiline ? ['\n\n'] : ['\n'],
    firstTokenPattern: ctx.linePrefix.trim() === '' && ctx.lineSuffix.trim() === '' ? BLANK_LINE_START : undefined,
    beamCandidate: HAS_TEXT,
    deadline: started + budget.timeCapMs,
    maxKvBytes: limits.kvCeilingBytes,
    maxPromptTokens: limits.maxPromptTokens(budget.steps),
    beams,
  };
}

/** The raw continuation to show: the likeliest, or, when post-processing empties it (a block
 *  that is only a closer the line never opened), the next likeliest the beam search finished. */
function ghostTextOf(result: GenerateResult, ctx: CursorContext): string {
  return [result.text, ...(result.alternatives ?? [])].find((t) => postprocess(t, ctx) !== '') ?? result.text;
}

/** The gate's input for the raw continuation `raw` of `result`: its streamed tokens with their
 *  log-probabilities; an alternative (whose tokens were not streamed) is one piece with its summed
 *  log-probability (its stop's included: a little below what its start alone would get). */
function piecesOf(result: GenerateResult, tokens: { text: string }[], raw: string): Piece[] {
  const logProbs = result.tokenLogProbs;
  if (raw === result.text && logProbs && logProbs.length >= tokens.length && tokens.map((t) => t.text).join('') === raw) {
    return tokens.map((t, i) => ({ text: t.text, logProb: logProbs[i] }));
  }
  const alternative = (result.alternatives ?? []).indexOf(raw);
  const logProb = alternative >= 0 ? result.alternativeLogProbs?.[alternative] : raw === result.text ? result.logProb : undefined;
  // Without the decoder's scores (a decoder that keeps none) the text's confidence is unknown: 0.
  return [{ text: raw, logProb: logProb ?? (logProbs ? logProbs.reduce((a, b) => a + b, 0) : NaN) }];
}

/** The tokens streamed so far for one request (the compute map), with a progress report at most
 *  every PROGRESS_EVERY_MS while they come. */
class StreamedTokens {
  readonly tokens: { text: string; iterations: number }[] = [];
  private lastProgress: number;

  constructor(
    private readonly report: (p: Omit<ProgressParams, 'requestId' | 'uri'>) => void,
    private readonly started: number,
  ) {
    this.lastProgress = started;
  }

  get length(): number {
    return this.tokens.length;
  }

  add(e: TokenEvent): void {
    this.tokens.push({ text: e.delta, iterations: e.iterations });
    const now = Date.now();
    if (now - this.lastProgress < PROGRESS_EVERY_MS) return;
    this.lastProgress = now;
    this.report({ tokens: this.tokens.length, elapsedMs: now - this.started, meanIterations: mean(this.tokens.map((t) => t.iterations)) });
  }
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

/** The compute map of the text actually inserted. */
function clipTokens(tokens: { text: string; iterations: number }[], length: number) {
  const out: { text: string; iterations: number }[] = [];
  let used = 0;
  for (const t of tokens) {
    if (used >= length) break;
    const text = t.text.slice(0, length - used);
    used += text.length;
    if (text) out.push({ text, iterations: t.iterations });
  }
  return out;
}
