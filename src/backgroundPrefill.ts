// Background prefill: when the user pauses (opens or switches to a document, moves the cursor,
// stops typing), the server is told where, with the budget a completion there would carry, so it
// can run that prompt in idle time. The next completion at that place then starts from it; a real
// request cancels the prefill at once. Fire-and-forget: nothing here waits on the server.

import * as vscode from 'vscode';
import { State, type BaseLanguageClient } from 'vscode-languageclient';
import { Methods, type PrefillParams } from '../server/protocol';
import { toPolicySettings } from './config';
import type { ConfigStore } from './configStore';
import { decideBudget } from './depthPolicy';
import type { DepthSession } from './depthSession';
import { policyContext } from './inlineCompletions';

/** Idle time after the last edit or cursor move before the server is told (longer than the
 *  completion debounce: a completion request that comes anyway needs no prefill). */
export const PREFILL_PAUSE_MS = 600;

export function registerBackgroundPrefill(client: () => BaseLanguageClient | undefined, config: ConfigStore, session: DepthSession): vscode.Disposable {
  let timer: NodeJS.Timeout | undefined;
  const send = () => {
    timer = undefined;
    const editor = vscode.window.activeTextEditor;
    const c = client();
    if (!editor || !config.current.enabled || !c || c.state !== State.Running) return;
    const { document } = editor;
    const position = editor.selection.active;
    const { budget } = decideBudget(policyContext(document, position, 'automatic'), toPolicySettings(config.current, session.offset));
    const params: PrefillParams = { textDocument: { uri: document.uri.toString() }, position: { line: position.line, character: position.character }, budget };
    c.sendNotification(Methods.prefill, params).catch(() => undefined);
  };
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(send, PREFILL_PAUSE_MS);
  };
  const subscriptions = [
    vscode.window.onDidChangeActiveTextEditor(schedule),
    vscode.window.onDidChangeTextEditorSelection(schedule),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document === vscode.window.activeTextEditor?.document) schedule();
    }),
  ];
  return {
    dispose() {
      if (timer) clearTimeout(timer);
      subscriptions.forEach((s) => s.dispose());
    },
  };
}
