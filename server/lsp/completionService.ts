// One inline completion: context window around the cursor, cache, supersession of older requests
// for the same document, generation in the engine worker under the request's depth budget,
// progress while it runs, and post-processing.
import { CancellationToken } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { CancelledError } from '../engine/cancel';
import { EngineError, RequestHandle } from '../engine/engineClient';
import { GenerateResult } from '../engine/generate';
import { CompletionInfo, DepthBudget, ProgressParams, ServerSettings, spansLines } from '../protocol';
import { CompletionCache } from './completionCache';
import { ModelHost } from './modelHost';
import { postprocess } from './postprocess';
import { CompletionStats } from './stats';

export interface CompletionItemOut {
  insertText: string;
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  recurrent: CompletionInfo;
}

export class PositionError extends Error {}

const PROGRESS_EVERY_MS = 250;
/** The KV cache of one completion never grows past this. */
const KV_CEILING_BYTES = 1 << 30;

export class CompletionService {
  private readonly cache = new CompletionCache<CompletionInfo>();
  private readonly inFlight = new Map<string, RequestHandle<GenerateResult>>();
  private nextId = 1;

  constructor(
    private readonly host: ModelHost,
    private readonly stats: CompletionStats,
    private readonly settings: () => ServerSettings,
    private readonly progress: (p: ProgressParams) => void,
    private readonly statusChanged: () => void,
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
    const { prefixChars, suffixChars, beamWidth } = this.settings();
    const prefix = safeSlice(text, Math.max(0, offset - prefixChars), offset);
    const suffix = safeSlice(text, offset, Math.min(text.length, offset + suffixChars));
    const linePrefix = lineText.slice(0, position.character);
    const lineSuffix = lineText.slice(position.character);
    const multiline = spansLines(budget.multiline, lineSuffix);
    const budgetKey = JSON.stringify([budget.steps, budget.exitThreshold, budget.maxTokens, multiline, beamWidth]);
    const range = { start: position, end: position };

    const hit = this.cache.get(prefix, suffix, budgetKey);
    if (hit) {
      this.stats.counters.cacheHits++;
      const insertText = postprocess(hit.text, { linePrefix, lineSuffix, multiline });
      if (!insertText) return [];
      return [{ insertText, range, recurrent: { ...hit.entry.info, requestId, cached: true, latencyMs: Date.now() - started } }];
    }

    // A newer request for the same document supersedes the older one.
    this.inFlight.get(doc.uri)?.cancel();
    const engine = this.host.engine();
    if (!engine || token.isCancellationRequested) return [];

    const tokens: { text: string; iterations: number }[] = [];
    let lastProgress = started;
    let computed = false;
    const handle = engine.generate(
      {
        fim: { prefix, suffix },
        reusePrompt: true,
        heal: true,
        steps: budget.steps,
        maxTokens: budget.maxTokens,
        exit: budget.exitThreshold !== null && budget.exitThreshold > 0 ? { criterion: 'kl', threshold: budget.exitThreshold } : undefined,
        stop: multiline ? ['\n\n'] : ['\n'],
        // Asked at a blank line, the suggestion is text for that line, not more blank lines.
        startWithText: linePrefix.trim() === '' && lineSuffix.trim() === '',
        deadline: started + budget.timeCapMs,
        maxKvBytes: KV_CEILING_BYTES,
        beams: beamWidth,
      },
      (e) => {
        if (!computed) this.stats.counters.computed++;
        computed = true;
        tokens.push({ text: e.delta, iterations: e.iterations });
        const now = Date.now();
        if (now - lastProgress >= PROGRESS_EVERY_MS) {
          lastProgress = now;
          this.progress({ requestId, uri: doc.uri, tokens: tokens.length, elapsedMs: now - started, meanIterations: mean(tokens.map((t) => t.iterations)) });
        }
      },
    );
    this.inFlight.set(doc.uri, handle);
    const onCancel = token.onCancellationRequested(() => handle.cancel());
    let result: GenerateResult;
    try {
      result = await handle.result;
    } catch (e) {
      if (e instanceof CancelledError) {
        this.stats.counters.cancelled++;
        return [];
      }
      this.stats.counters.errors++;
      // A crashed engine worker fails its pending requests: answer nothing (the editor shows no
      // ghost text) and let the host start a new worker for the next request.
      if (e instanceof EngineError && e.kind === 'internal' && !engine.alive) return [];
      throw e;
    } finally {
      onCancel.dispose();
      if (this.inFlight.get(doc.uri) === handle) this.inFlight.delete(doc.uri);
    }
    const latencyMs = Date.now() - started;
    const iterations = mean(result.iterations);
    this.stats.record(latencyMs, result.ids.length, iterations, budget.level, result.decodeMs);
    this.statusChanged();
    const info: CompletionInfo = { requestId, tokens, latencyMs, cached: false, budget };
    // The likeliest continuation can be one post-processing empties (a block that is only a
    // closer the line never opened): then the next likeliest the beam search finished.
    const ctx = { linePrefix, lineSuffix, multiline };
    const raw = [result.text, ...(result.alternatives ?? [])].find((t) => postprocess(t, ctx) !== '') ?? result.text;
    this.cache.put({ prefix, suffix, budgetKey, text: raw, info });
    const insertText = postprocess(raw, ctx);
    if (!insertText) return [];
    // An alternative's tokens were not streamed: its compute map is one span at the mean depth.
    const map = raw === result.text ? clipTokens(tokens, insertText.length) : [{ text: insertText, iterations }];
    return [{ insertText, range, recurrent: { ...info, tokens: map } }];
  }
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** A slice that does not start or end inside a surrogate pair. */
function safeSlice(text: string, from: number, to: number): string {
  if (from > 0 && isLowSurrogate(text.charCodeAt(from))) from++;
  if (to < text.length && isLowSurrogate(text.charCodeAt(to))) to--;
  return text.slice(from, Math.max(from, to));
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
