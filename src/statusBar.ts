// The one status bar item: state (off / loading / building / thinking / ready / error), current depth level
// and device; tooltip with the last depth decision and the server's figures; a click opens the
// settings panel. It only gathers the model; statusView.ts decides what it says.

import * as vscode from 'vscode';
import type { ProgressParams } from '../server/protocol';
import type { ConfigStore } from './configStore';
import type { DepthSession } from './depthSession';
import type { ServerStatusStore } from './serverStatusStore';
import { presentStatus } from './statusView';

/** If Think Harder's re-triggered request never arrives (no editor focus), stop saying "thinking". */
const THINKING_REQUEST_TIMEOUT_MS = 10_000;
/** Automatic completions come with every keystroke: only one slower than this says "thinking…". */
const SLOW_REQUEST_MS = 300;

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('recurrentCopilot.status', vscode.StatusBarAlignment.Right, 100);
  private readonly subscriptions: vscode.Disposable[] = [];
  private inFlight = 0;
  private thinkingVisible = false;
  private slowTimer: NodeJS.Timeout | undefined;
  private thinkingRequestedTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: ConfigStore,
    private readonly session: DepthSession,
    private readonly server: ServerStatusStore,
    openSettingsCommand: string,
  ) {
    this.item.name = 'Recurrent Copilot';
    this.item.command = openSettingsCommand;
    this.subscriptions.push(
      config.onDidChange(() => this.render()),
      session.onDidChange(() => this.render()),
      server.onDidChange(() => this.render()),
    );
    this.render();
    this.item.show();
  }

  /**
   * A completion request went to the server; call the returned function when it is over. An
   * explicit one (the user asked and is waiting) says "thinking…" at once, with its progress.
   */
  beginRequest(explicit = false): () => void {
    this.inFlight++;
    if (this.thinkingRequestedTimer !== undefined || explicit) {
      // The request Think Harder asked for: keep saying "thinking…" until it is back.
      this.clearThinkingRequested();
      this.thinkingVisible = true;
    } else if (!this.thinkingVisible && this.slowTimer === undefined) {
      this.slowTimer = setTimeout(() => {
        this.slowTimer = undefined;
        this.thinkingVisible = true;
        this.render();
      }, SLOW_REQUEST_MS);
    }
    this.render();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inFlight--;
      if (this.inFlight === 0) {
        if (this.slowTimer) clearTimeout(this.slowTimer);
        this.slowTimer = undefined;
        this.thinkingVisible = false;
        this.server.setProgress(undefined);
      }
      this.render();
    };
  }

  /** recurrent/progress: a slow completion is still running. Late ones (request over) are dropped. */
  onProgress(progress: ProgressParams): void {
    if (this.inFlight > 0) this.server.setProgress(progress);
  }

  /** Think Harder was pressed: say "thinking…" until its request starts (or a timeout). */
  expectThinking(): void {
    this.clearThinkingRequested();
    this.thinkingRequestedTimer = setTimeout(() => {
      this.thinkingRequestedTimer = undefined;
      this.render();
    }, THINKING_REQUEST_TIMEOUT_MS);
    this.render();
  }

  dispose(): void {
    this.clearThinkingRequested();
    if (this.slowTimer) clearTimeout(this.slowTimer);
    for (const s of this.subscriptions) s.dispose();
    this.item.dispose();
  }

  private clearThinkingRequested(): void {
    if (this.thinkingRequestedTimer) clearTimeout(this.thinkingRequestedTimer);
    this.thinkingRequestedTimer = undefined;
  }

  private render(): void {
    const view = presentStatus({
      enabled: this.config.current.enabled,
      clientState: this.server.clientState,
      server: this.server.status,
      thinking: this.thinkingVisible || this.thinkingRequestedTimer !== undefined || (this.inFlight > 0 && this.server.progress !== undefined),
      progress: this.server.progress,
      baseLevel: this.config.current.baseLevel,
      offset: this.session.offset,
      lastDecision: this.session.lastDecision,
      lastShown: this.session.lastShown,
    });
    this.item.text = view.text;
    const tooltip = new vscode.MarkdownString(view.tooltip, true);
    tooltip.isTrusted = false;
    this.item.tooltip = tooltip;
    this.item.backgroundColor =
      view.severity === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : view.severity === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
  }
}
