// The inline-completion middleware. It replaces the language client's default request: it decides
// the depth budget with the policy, sends textDocument/inlineCompletion with the extra `budget`
// field itself, and turns the answer into VS Code items. It never throws into VS Code: any failure
// (server error, crash, restart, cancellation) resolves to undefined and is logged.

import * as vscode from 'vscode';
import { ErrorCodes, LSPErrorCodes, ResponseError, State, type BaseLanguageClient } from 'vscode-languageclient';
import { delay, untilAbandoned, type EventLike } from './abortable';
import {
  buildInlineCompletionRequest,
  INLINE_COMPLETION_METHOD,
  parseInlineCompletionResult,
  type CompletionDescriptor,
} from './completionItems';
import type { ComputeMap } from './computeMap';
import { toPolicySettings } from './config';
import type { ConfigStore } from './configStore';
import { decideBudget, type PolicyContext, type TriggerKind } from './depthPolicy';
import type { DepthSession } from './depthSession';
import type { StatusBar } from './statusBar';

/** Lines before the cursor the policy looks at (comment/string state, open brackets, math). */
const CONTEXT_LINES = 40;
/** Lines at the top of the document the policy looks at (imports). */
const HEAD_LINES = 80;
/** The same failure is logged as an error at most this often; repeats go to the debug log. */
const REPEAT_ERROR_MS = 30_000;

export interface InlineCompletionDeps {
  client(): BaseLanguageClient | undefined;
  config: ConfigStore;
  session: DepthSession;
  statusBar: StatusBar;
  computeMap: ComputeMap;
  log: vscode.LogOutputChannel;
}

export type ProvideInlineCompletions = (
  document: vscode.TextDocument,
  position: vscode.Position,
  context: vscode.InlineCompletionContext,
  token: vscode.CancellationToken,
) => Promise<vscode.InlineCompletionList | undefined>;

export function policyContext(document: vscode.TextDocument, position: vscode.Position, triggerKind: TriggerKind): PolicyContext {
  const firstLine = Math.max(0, position.line - CONTEXT_LINES);
  const headEnd = Math.min(document.lineCount - 1, HEAD_LINES);
  return {
    languageId: document.languageId,
    fileName: document.uri.path,
    triggerKind,
    textBefore: document.getText(new vscode.Range(firstLine, 0, position.line, position.character)),
    lineSuffix: document.lineAt(position.line).text.slice(position.character),
    documentHead: document.getText(new vscode.Range(0, 0, headEnd, 0)),
  };
}

/** Errors that only mean "this request is moot": cancelled, superseded, server gone. */
function isQuietFailure(error: unknown): boolean {
  return (
    error instanceof ResponseError &&
    [
      LSPErrorCodes.RequestCancelled,
      LSPErrorCodes.ServerCancelled,
      LSPErrorCodes.ContentModified,
      ErrorCodes.PendingResponseRejected,
      ErrorCodes.ConnectionInactive,
    ].includes(error.code)
  );
}

export function createInlineCompletionProvider(deps: InlineCompletionDeps): ProvideInlineCompletions {
  const { config, session, statusBar, computeMap, log } = deps;
  let lastError = { message: '', at: 0 };

  const logFailure = (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    if (isQuietFailure(error)) {
      log.debug(`inline completion abandoned: ${message}`);
    } else if (message === lastError.message && Date.now() - lastError.at < REPEAT_ERROR_MS) {
      log.debug(`inline completion failed again: ${message}`);
    } else {
      lastError = { message, at: Date.now() };
      log.error(`inline completion failed: ${message}`);
    }
  };

  const toItems = (
    document: vscode.TextDocument,
    position: vscode.Position,
    descriptors: CompletionDescriptor[],
  ): vscode.InlineCompletionItem[] =>
    descriptors.map((d) => {
      // Without a range the text goes in at the cursor (VS Code would otherwise replace the word).
      const range = d.range
        ? new vscode.Range(d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character)
        : new vscode.Range(position, position);
      const insertText = d.snippet ? new vscode.SnippetString(d.insertText) : d.insertText;
      const command =
        d.info && !d.snippet
          ? computeMap.acceptCommand({
              uri: document.uri.toString(),
              line: range.start.line,
              character: range.start.character,
              insertText: d.insertText,
              generatedStart: Math.max(0, document.offsetAt(position) - document.offsetAt(range.start)),
              info: d.info,
            })
          : undefined;
      const item = new vscode.InlineCompletionItem(insertText, range, command);
      if (d.filterText !== undefined) item.filterText = d.filterText;
      return item;
    });

  const provide: ProvideInlineCompletions = async (document, position, context, token) => {
    const settings = config.current;
    if (!settings.enabled) return undefined;
    const client = deps.client();
    if (!client || client.state === State.Stopped || client.state === State.StartFailed) return undefined;

    const triggerKind: TriggerKind = context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke ? 'invoke' : 'automatic';
    if (triggerKind === 'automatic' && settings.debounceMs > 0) {
      await delay(settings.debounceMs, token);
      if (token.isCancellationRequested) return undefined;
    }

    const decision = decideBudget(policyContext(document, position, triggerKind), toPolicySettings(settings, session.offset));
    session.recordDecision({
      level: decision.budget.level,
      steps: decision.budget.steps,
      reasons: decision.reasons,
      languageId: document.languageId,
      at: Date.now(),
    });
    const summary = `${triggerKind} completion at ${document.uri.path}:${position.line + 1}:${position.character + 1}: ` +
      decision.reasons.join('; ');
    if (triggerKind === 'invoke') log.info(summary);
    else log.debug(summary);

    const selected = context.selectedCompletionInfo;
    const params = buildInlineCompletionRequest({
      uri: document.uri.toString(),
      position,
      vscodeTriggerKind: context.triggerKind,
      selectedCompletionInfo: selected && { range: { start: selected.range.start, end: selected.range.end }, text: selected.text },
      budget: decision.budget,
    });

    // A crash or restart rejects pending requests; stopping without that must not hang the editor.
    const serverGone: EventLike = (listener) =>
      client.onDidChangeState((e) => {
        if (e.newState !== State.Running) listener();
      });
    const end = statusBar.beginRequest(triggerKind === 'invoke');
    try {
      const result = await untilAbandoned(client.sendRequest<unknown>(INLINE_COMPLETION_METHOD, params, token), token, serverGone);
      if (result === undefined || token.isCancellationRequested) return undefined;
      const descriptors = parseInlineCompletionResult(result);
      const info = descriptors.find((d) => d.info)?.info;
      if (info) {
        computeMap.rememberShown(document.uri.toString(), info);
        session.recordShown(info);
        log.debug(
          `completion ${info.requestId}: ${info.tokens.length} tokens in ${Math.round(info.latencyMs)} ms` +
            `${info.cached ? ' (cached)' : ''} at level ${info.budget.level}, confidence ${info.confidence.toFixed(2)}` +
            `${info.lowConfidence ? ' (low confidence)' : ''}`,
        );
      }
      return new vscode.InlineCompletionList(toItems(document, position, descriptors));
    } catch (error) {
      logFailure(error);
      return undefined;
    } finally {
      end();
    }
  };

  // The last line of defence: nothing, not even a bug above, throws into VS Code.
  return async (document, position, context, token) => {
    try {
      return await provide(document, position, context, token);
    } catch (error) {
      logFailure(error);
      return undefined;
    }
  };
}
