// The inline-completion request as it goes on the wire, and the server's answer turned into plain
// item descriptors. Pure (no `vscode` import): the middleware converts descriptors into
// vscode.InlineCompletionItems; everything that can be wrong with an answer is handled here.

import type { BudgetedInlineCompletionParams, CompletionInfo, DepthBudget } from '../server/protocol';

export const INLINE_COMPLETION_METHOD = 'textDocument/inlineCompletion';

export interface LspPosition {
  line: number;
  character: number;
}

export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}

/** LSP 3.18 InlineCompletionParams plus our `budget`. */
export interface InlineCompletionRequest extends BudgetedInlineCompletionParams {
  textDocument: { uri: string };
  position: LspPosition;
  /** LSP trigger kinds: 1 = Invoked, 2 = Automatic. */
  context: { triggerKind: 1 | 2; selectedCompletionInfo?: { range: LspRange; text: string } };
  budget: DepthBudget;
}

/** VS Code numbers trigger kinds 0 (Invoke) / 1 (Automatic); LSP numbers them 1 / 2. */
export function toLspTriggerKind(vscodeTriggerKind: number): 1 | 2 {
  return vscodeTriggerKind === 0 ? 1 : 2;
}

export function buildInlineCompletionRequest(args: {
  uri: string;
  position: LspPosition;
  vscodeTriggerKind: number;
  selectedCompletionInfo?: { range: LspRange; text: string };
  budget: DepthBudget;
}): InlineCompletionRequest {
  const context: InlineCompletionRequest['context'] = { triggerKind: toLspTriggerKind(args.vscodeTriggerKind) };
  if (args.selectedCompletionInfo) {
    const { range, text } = args.selectedCompletionInfo;
    context.selectedCompletionInfo = { range: copyRange(range), text };
  }
  return {
    textDocument: { uri: args.uri },
    position: { line: args.position.line, character: args.position.character },
    context,
    budget: { ...args.budget },
  };
}

/** One item of the answer, ready to become a vscode.InlineCompletionItem. */
export interface CompletionDescriptor {
  insertText: string;
  /** insertText is a snippet (LSP StringValue of kind 'snippet'). */
  snippet: boolean;
  filterText?: string;
  /** Absent: insert at the cursor. */
  range?: LspRange;
  /** The server's `recurrent` field: per-token iterations etc. */
  info?: CompletionInfo;
}

/** A non-null object (whose fields are still unchecked). */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function isPosition(v: unknown): v is LspPosition {
  return isObject(v) && isCount(v.line) && isCount(v.character);
}

export function isLspRange(v: unknown): v is LspRange {
  return isObject(v) && isPosition(v.start) && isPosition(v.end);
}

function copyRange(r: LspRange): LspRange {
  return { start: { line: r.start.line, character: r.start.character }, end: { line: r.end.line, character: r.end.character } };
}

function isBudget(v: unknown): v is DepthBudget {
  return (
    isObject(v) && isCount(v.level) && isCount(v.steps) && isCount(v.maxTokens) && isFiniteNumber(v.timeCapMs) &&
    typeof v.multiline === 'boolean' && (v.exitThreshold === null || isFiniteNumber(v.exitThreshold)) &&
    (v.explicit === undefined || typeof v.explicit === 'boolean')
  );
}

/** The `recurrent` field, if it has the shape protocol.ts promises; otherwise undefined. */
export function parseCompletionInfo(v: unknown): CompletionInfo | undefined {
  if (!isObject(v) || !isCount(v.requestId) || !isFiniteNumber(v.latencyMs) || typeof v.cached !== 'boolean') return undefined;
  if (!isBudget(v.budget) || !Array.isArray(v.tokens)) return undefined;
  if (!isFiniteNumber(v.confidence) || v.confidence < 0 || v.confidence > 1 || typeof v.lowConfidence !== 'boolean') return undefined;
  const tokens: CompletionInfo['tokens'] = [];
  for (const t of v.tokens) {
    if (!isObject(t) || typeof t.text !== 'string' || !isCount(t.iterations)) return undefined;
    tokens.push({ text: t.text, iterations: t.iterations });
  }
  return { requestId: v.requestId, tokens, latencyMs: v.latencyMs, cached: v.cached, budget: { ...v.budget }, confidence: v.confidence, lowConfidence: v.lowConfidence };
}

/** Accepts InlineCompletionList, InlineCompletionItem[] or null; drops malformed or empty items. */
export function parseInlineCompletionResult(result: unknown): CompletionDescriptor[] {
  const items = Array.isArray(result) ? result : isObject(result) && Array.isArray(result.items) ? result.items : [];
  const out: CompletionDescriptor[] = [];
  for (const item of items) {
    if (!isObject(item)) continue;
    let insertText: string;
    let snippet = false;
    if (typeof item.insertText === 'string') {
      insertText = item.insertText;
    } else if (isObject(item.insertText) && item.insertText.kind === 'snippet' && typeof item.insertText.value === 'string') {
      insertText = item.insertText.value;
      snippet = true;
    } else {
      continue;
    }
    if (insertText.length === 0) continue;
    const descriptor: CompletionDescriptor = { insertText, snippet };
    if (typeof item.filterText === 'string') descriptor.filterText = item.filterText;
    if (isLspRange(item.range)) descriptor.range = copyRange(item.range);
    const info = parseCompletionInfo(item.recurrent);
    if (info) descriptor.info = info;
    out.push(descriptor);
  }
  return out;
}
