// A checkpoint's build, shown while the server builds it (recurrent/buildProgress): one cancellable
// progress notification with the percent and the tensor being written; Cancel asks the server to
// stop (recurrent/cancelBuild), and the server then falls back to the default model. The
// notification closes when the server's state leaves `building` or the client stops.

import * as vscode from 'vscode';
import type { BuildProgressParams } from '../server/protocol';
import type { ServerStatusStore } from './serverStatusStore';
import { buildMessage, buildTitle } from './statusView';

interface OpenBuild {
  latest: BuildProgressParams;
  shown: number;
  progress?: vscode.Progress<{ message?: string; increment?: number }>;
  finish(): void;
}

export class BuildProgressView implements vscode.Disposable {
  private current: OpenBuild | undefined;
  private readonly subscription: { dispose(): void };

  constructor(
    server: ServerStatusStore,
    private readonly cancel: () => void,
  ) {
    this.subscription = server.onDidChange(() => {
      if (server.clientState !== 'running' || (server.status && server.status.state !== 'building')) this.end();
    });
  }

  /** recurrent/buildProgress: opens the notification for a new build, else moves it on. */
  report(p: BuildProgressParams): void {
    if (!this.current) this.current = this.open(p);
    this.current.latest = p;
    this.show(this.current);
  }

  dispose(): void {
    this.end();
    this.subscription.dispose();
  }

  private end(): void {
    this.current?.finish();
    this.current = undefined;
  }

  private show(build: OpenBuild): void {
    if (!build.progress) return;
    const p = build.latest;
    build.progress.report({ increment: Math.max(0, p.percent - build.shown), message: buildMessage(p) });
    build.shown = Math.max(build.shown, p.percent);
  }

  private open(first: BuildProgressParams): OpenBuild {
    let finish = () => {};
    const done = new Promise<void>((resolve) => (finish = resolve));
    const build: OpenBuild = { latest: first, shown: 0, finish: () => finish() };
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: buildTitle(first), cancellable: true },
      (progress, token) => {
        token.onCancellationRequested(() => this.cancel());
        build.progress = progress;
        this.show(build);
        return done;
      },
    );
    return build;
  }
}
