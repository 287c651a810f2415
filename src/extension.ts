// Entry point: builds the pieces, wires them together and starts the language server. All the
// language logic lives in the server; the client decides depth budgets and shows state.

import * as vscode from 'vscode';
import { State, type LanguageClient } from 'vscode-languageclient/node';
import { Methods, type ServerStatus } from '../server/protocol';
import { registerBackgroundPrefill } from './backgroundPrefill';
import { BuildProgressView } from './buildProgress';
import { COMMANDS } from './commandIds';
import { registerCommands } from './commands';
import { ComputeMap } from './computeMap';
import { ConfigStore } from './configStore';
import { DepthSession } from './depthSession';
import { createInlineCompletionProvider } from './inlineCompletions';
import { createLanguageClient } from './serverClient';
import { errorToAnnounce, parseBuildProgress, parseProgress, parseServerStatus, ServerStatusStore } from './serverStatusStore';
import { SettingsPanel } from './settingsPanel';
import { StatusBar } from './statusBar';

let client: LanguageClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Recurrent Copilot', { log: true });
  const config = new ConfigStore(log);
  const session = new DepthSession();
  const server = new ServerStatusStore();
  const statusBar = new StatusBar(config, session, server, COMMANDS.openSettings);
  const computeMap = new ComputeMap(config, log);
  context.subscriptions.push(log, config, statusBar, computeMap);

  const provide = createInlineCompletionProvider({ client: () => client, config, session, statusBar, computeMap, log });
  const languageClient = createLanguageClient(context, config, log, provide);
  client = languageClient;

  const build = new BuildProgressView(server, () => {
    languageClient.sendNotification(Methods.cancelBuild).catch((error: unknown) => log.warn(`Could not cancel the build: ${String(error)}`));
  });
  context.subscriptions.push(build);

  /** A new status; an error in it (a failed build, a failed server) is shown once as a notification. */
  const setStatus = (status: ServerStatus) => {
    const error = errorToAnnounce(server.status, status);
    server.setStatus(status);
    if (error) void vscode.window.showErrorMessage(`Recurrent Copilot: ${error}`);
  };

  const refreshStatus = async () => {
    if (languageClient.state !== State.Running) return;
    try {
      const status = parseServerStatus(await languageClient.sendRequest(Methods.getStatus));
      if (status) setStatus(status);
    } catch (error) {
      log.debug(`recurrent/getStatus failed: ${String(error)}`);
    }
  };

  context.subscriptions.push(
    languageClient.onNotification(Methods.status, (raw: unknown) => {
      const status = parseServerStatus(raw);
      if (status) setStatus(status);
      else log.warn(`ignored a malformed ${Methods.status} notification`);
    }),
    languageClient.onNotification(Methods.progress, (raw: unknown) => {
      const progress = parseProgress(raw);
      if (progress) statusBar.onProgress(progress);
    }),
    languageClient.onNotification(Methods.buildProgress, (raw: unknown) => {
      const progress = parseBuildProgress(raw);
      if (progress) build.report(progress);
      else log.warn(`ignored a malformed ${Methods.buildProgress} notification`);
    }),
    languageClient.onDidChangeState((e) => {
      server.setClientState(e.newState === State.Running ? 'running' : e.newState === State.Starting ? 'starting' : 'stopped');
      if (e.newState === State.Running) void refreshStatus();
    }),
    config.connect(languageClient),
    registerBackgroundPrefill(() => client, config, session),
    ...registerCommands({
      config,
      session,
      statusBar,
      computeMap,
      log,
      openSettings: () =>
        SettingsPanel.show({ extensionUri: context.extensionUri, config, session, server, log, refreshStatus }),
      restartServer: async () => {
        try {
          // Also brings back a server that failed to start or crashed too often.
          if (languageClient.needsStop()) await languageClient.stop();
          await languageClient.start();
        } catch (error) {
          log.error(`Restarting the server failed: ${String(error)}`);
        }
      },
    }),
  );

  // Not awaited: activation must not wait for the model to load.
  languageClient.start().catch((error: unknown) => {
    server.setClientState('stopped');
    log.error(`The language server did not start: ${error instanceof Error ? error.message : String(error)}`);
  });
}

export async function deactivate(): Promise<void> {
  const stopping = client;
  client = undefined;
  if (stopping?.needsStop()) await stopping.stop();
}
