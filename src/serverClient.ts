// Starting the language server: where it is, how it is run, what it is told at startup, and how
// a crashed server is brought back. The inline-completion middleware is passed in.

import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  TransportKind,
  type ErrorHandler,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import type { ConfigStore } from './configStore';
import type { ProvideInlineCompletions } from './inlineCompletions';

/**
 * The server's entry point, relative to the extension root. The one place to change when packaging
 * (an esbuild bundle puts it elsewhere).
 */
export const SERVER_MODULE = 'out/server/lsp/server.js';

/**
 * The default handler gives up after 4 crashes in 3 minutes; a copilot left open for days must
 * come back every time. It restarts always, and only stops after crashes so frequent (a server
 * that cannot start at all) that restarting would just spin.
 */
export function restartingErrorHandler(log: vscode.LogOutputChannel, maxPerMinute = 60): ErrorHandler {
  const crashes: number[] = [];
  return {
    error: () => ({ action: ErrorAction.Continue, handled: true }),
    closed: () => {
      const now = Date.now();
      crashes.push(now);
      while (crashes.length && crashes[0] < now - 60_000) crashes.shift();
      if (crashes.length > maxPerMinute) {
        log.error(`the language server stopped ${crashes.length} times in a minute; not restarting (run "Recurrent Copilot: Restart Server")`);
        return { action: CloseAction.DoNotRestart, handled: true };
      }
      log.warn('the language server stopped; restarting it');
      return { action: CloseAction.Restart, handled: true };
    },
  };
}

export const CLIENT_ID = 'recurrentCopilot';
export const CLIENT_NAME = 'Recurrent Copilot';

export function createLanguageClient(
  context: vscode.ExtensionContext,
  config: ConfigStore,
  log: vscode.LogOutputChannel,
  provideInlineCompletions: ProvideInlineCompletions,
): LanguageClient {
  const module = context.asAbsolutePath(SERVER_MODULE);
  // TransportKind.stdio makes the client pass --stdio to the server.
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.stdio },
    debug: { module, transport: TransportKind.stdio },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
    // A function, so a restarted server gets the settings of the moment, not those of activation.
    initializationOptions: () => config.serverSettings(),
    outputChannel: log,
    errorHandler: restartingErrorHandler(log),
    middleware: {
      // The default request has no `budget`: send our own and never call `next`.
      provideInlineCompletionItems: (document, position, context, token) =>
        provideInlineCompletions(document, position, context, token),
    },
  };
  return new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
}
