// The live configuration: reads `recurrentCopilot.*` through config.ts whenever it changes, tells
// listeners, writes settings for the panel and commands, and keeps the server's settings in step
// (initializationOptions at every (re)start, recurrent/configure after a change).

import * as vscode from 'vscode';
import { State, type BaseLanguageClient } from 'vscode-languageclient';
import { Methods, type ServerSettings } from '../server/protocol';
import { readConfig, sameServerSettings, SECTION, toServerSettings, type ExtensionConfig, type SettingKey } from './config';

export class ConfigStore implements vscode.Disposable {
  private currentValue: ExtensionConfig;
  private readonly emitter = new vscode.EventEmitter<ExtensionConfig>();
  private readonly subscriptions: vscode.Disposable[] = [];
  readonly onDidChange = this.emitter.event;

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.currentValue = this.read();
    this.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration(SECTION)) return;
        this.currentValue = this.read();
        this.emitter.fire(this.currentValue);
      }),
    );
  }

  get current(): ExtensionConfig {
    return this.currentValue;
  }

  serverSettings(): ServerSettings {
    return toServerSettings(this.currentValue);
  }

  /**
   * Writes one setting to the user's (global) settings. Returns a warning when a workspace value
   * overrides it, since the write then has no visible effect.
   */
  async update(key: SettingKey, value: unknown): Promise<string | undefined> {
    const configuration = vscode.workspace.getConfiguration(SECTION);
    await configuration.update(key, value, vscode.ConfigurationTarget.Global);
    const inspected = configuration.inspect(key);
    if (inspected?.workspaceFolderValue !== undefined || inspected?.workspaceValue !== undefined) {
      return `${SECTION}.${key} is also set in this workspace's settings, which take precedence.`;
    }
    return undefined;
  }

  /** Sends recurrent/configure whenever the server's part of the settings changes. */
  connect(client: BaseLanguageClient): vscode.Disposable {
    let sent = this.serverSettings();
    return this.onDidChange(() => {
      const next = this.serverSettings();
      if (sameServerSettings(sent, next)) return;
      sent = next;
      // A stopped client gets the settings as initializationOptions when it starts again; a
      // starting one may already have sent older ones, so it gets the notification once running.
      if (client.state === State.Stopped || client.state === State.StartFailed) return;
      client.sendNotification(Methods.configure, next).catch((error: unknown) => {
        this.log.warn(`Could not send the new settings to the server: ${String(error)}`);
      });
    });
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.emitter.dispose();
  }

  private read(): ExtensionConfig {
    const { config, problems } = readConfig(vscode.workspace.getConfiguration(SECTION));
    for (const problem of problems) this.log.warn(problem);
    return config;
  }
}
