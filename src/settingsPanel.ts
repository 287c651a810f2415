// The settings panel: a webview (media/settings.*) that edits the recurrentCopilot.* settings and
// shows the server's live figures. The webview only proposes changes; the host validates each
// message (settingsMessages.ts) and writes VS Code settings, and re-sends the configuration on
// every change, so the panel and settings.json never disagree.

import * as fs from 'fs';
import * as vscode from 'vscode';
import { DEFAULTS, SETTING_KEYS } from './config';
import type { ConfigStore } from './configStore';
import type { DepthSession } from './depthSession';
import type { ServerStatusStore } from './serverStatusStore';
import { makeNonce, renderSettingsHtml } from './settingsHtml';
import { parseWebviewMessage, type HostMessage } from './settingsMessages';

export const SETTINGS_VIEW_TYPE = 'recurrentCopilot.settings';

export interface SettingsPanelDeps {
  extensionUri: vscode.Uri;
  config: ConfigStore;
  session: DepthSession;
  server: ServerStatusStore;
  log: vscode.LogOutputChannel;
  /** Asks the server for fresh figures (recurrent/getStatus); the store is updated by the caller. */
  refreshStatus(): Promise<void>;
}

export class SettingsPanel implements vscode.Disposable {
  private static current: SettingsPanel | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  static show(deps: SettingsPanelDeps): void {
    if (SettingsPanel.current) {
      SettingsPanel.current.panel.reveal();
      return;
    }
    const media = vscode.Uri.joinPath(deps.extensionUri, 'media');
    const panel = vscode.window.createWebviewPanel(SETTINGS_VIEW_TYPE, 'Recurrent Copilot Settings', vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [media],
      retainContextWhenHidden: false,
    });
    SettingsPanel.current = new SettingsPanel(panel, media, deps);
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    media: vscode.Uri,
    private readonly deps: SettingsPanelDeps,
  ) {
    const webview = panel.webview;
    const template = fs.readFileSync(vscode.Uri.joinPath(media, 'settings.html').fsPath, 'utf8');
    webview.html = renderSettingsHtml(template, {
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'settings.css')).toString(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'settings.js')).toString(),
    });
    this.subscriptions.push(
      webview.onDidReceiveMessage((raw: unknown) => void this.onMessage(raw)),
      deps.config.onDidChange(() => void this.postConfig()),
      deps.server.onDidChange(() => this.postStatus()),
      deps.session.onDidChange(() => this.postStatus()),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  dispose(): void {
    SettingsPanel.current = undefined;
    for (const s of this.subscriptions) s.dispose();
    this.subscriptions.length = 0;
  }

  private post(message: HostMessage): void {
    void this.panel.webview.postMessage(message);
  }

  private async postConfig(): Promise<void> {
    const languages = await vscode.languages.getLanguages();
    this.post({ type: 'config', config: this.deps.config.current, defaults: { ...DEFAULTS }, languages: languages.sort() });
  }

  private postStatus(): void {
    const decision = this.deps.session.lastDecision;
    this.post({
      type: 'status',
      status: this.deps.server.status ?? null,
      lastDecision: decision ? { level: decision.level, reasons: decision.reasons } : null,
    });
  }

  private async onMessage(raw: unknown): Promise<void> {
    const parsed = parseWebviewMessage(raw);
    if (!parsed.ok) {
      this.deps.log.warn(`settings panel: rejected message: ${parsed.error}`);
      this.post({ type: 'error', message: parsed.error });
      // Put the form back to the real values.
      await this.postConfig();
      return;
    }
    const message = parsed.message;
    try {
      switch (message.type) {
        case 'ready':
          await this.postConfig();
          this.postStatus();
          await this.deps.refreshStatus();
          break;
        case 'update': {
          const warning = await this.deps.config.update(message.key, message.value);
          if (warning) this.post({ type: 'error', message: warning });
          break;
        }
        case 'browseModel': {
          const picked = await vscode.window.showOpenDialog({
            canSelectFolders: true,
            canSelectFiles: false,
            canSelectMany: false,
            openLabel: 'Use this model',
            title: 'Model folder (built model or huginn checkpoint)',
          });
          if (picked?.[0]) {
            const warning = await this.deps.config.update(SETTING_KEYS.modelPath, picked[0].fsPath);
            if (warning) this.post({ type: 'error', message: warning });
          }
          break;
        }
        case 'showOutput':
          this.deps.log.show(true);
          break;
      }
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      this.deps.log.error(`settings panel: ${text}`);
      this.post({ type: 'error', message: text });
    }
  }
}
