// A real language-server process spoken to over stdio with JSON-RPC, as VS Code would.
import { ChildProcess, spawn } from 'child_process';
import * as path from 'path';
import { createMessageConnection, MessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { BuildProgressParams, Methods, ServerStatus } from '../../server/protocol';
import { REPO } from './reference';

export const SERVER = path.join(REPO, 'out', 'server', 'lsp', 'server.js');

export class LspSession {
  readonly proc: ChildProcess;
  readonly conn: MessageConnection;
  readonly statuses: ServerStatus[] = [];
  /** recurrent/buildProgress notifications, in order. */
  readonly buildProgress: BuildProgressParams[] = [];
  readonly logs: string[] = [];
  private version = new Map<string, number>();

  constructor(env: Record<string, string>) {
    this.proc = spawn(process.execPath, [SERVER, '--stdio'], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr!.on('data', (d) => this.logs.push(String(d)));
    this.conn = createMessageConnection(new StreamMessageReader(this.proc.stdout!), new StreamMessageWriter(this.proc.stdin!));
    this.conn.onNotification(Methods.status, (s: ServerStatus) => void this.statuses.push(s));
    this.conn.onNotification(Methods.buildProgress, (p: BuildProgressParams) => void this.buildProgress.push(p));
    this.conn.onNotification("window/logMessage", (m: { message: string }) => void this.logs.push(m.message));
    this.conn.listen();
  }

  async initialize(initializationOptions: object = {}) {
    const result = await this.conn.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {}, initializationOptions });
    await this.conn.sendNotification('initialized', {});
    return result as { capabilities: Record<string, unknown> };
  }

  /** Resolves with the first status notification (or current status) in one of `states`. */
  async waitForState(states: string[], timeoutMs = 60_000): Promise<ServerStatus> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const s = (await this.conn.sendRequest(Methods.getStatus)) as ServerStatus;
      if (states.includes(s.state)) return s;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`server never reached ${states.join('/')}; logs: ${this.logs.join('')}`);
  }

  /** Polls recurrent/getStatus until `done` holds for it. */
  async waitForStatus(what: string, done: (s: ServerStatus) => boolean, timeoutMs = 120_000): Promise<ServerStatus> {
    const deadline = Date.now() + timeoutMs;
    let last: ServerStatus | undefined;
    while (Date.now() < deadline) {
      last = (await this.conn.sendRequest(Methods.getStatus)) as ServerStatus;
      if (done(last)) return last;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`server never reached ${what}; last status ${JSON.stringify(last)}; logs: ${this.logs.join('')}`);
  }

  open(uri: string, text: string, languageId = 'python'): void {
    this.version.set(uri, 1);
    void this.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version: 1, text } });
  }

  insert(uri: string, line: number, character: number, text: string): void {
    const v = (this.version.get(uri) ?? 1) + 1;
    this.version.set(uri, v);
    void this.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: v },
      contentChanges: [{ range: { start: { line, character }, end: { line, character } }, text }],
    });
  }

  complete(uri: string, line: number, character: number, budget?: object, token?: import('vscode-jsonrpc').CancellationToken) {
    const params = { textDocument: { uri }, position: { line, character }, context: { triggerKind: 1 }, budget };
    // jsonrpc reads a trailing undefined as a positional parameter: pass the token only when set.
    return (token ? this.conn.sendRequest('textDocument/inlineCompletion', params, token) : this.conn.sendRequest('textDocument/inlineCompletion', params)) as Promise<{ items: { insertText: string; recurrent: { cached: boolean; tokens: { text: string; iterations: number }[]; budget: { level: number } } }[] }>;
  }

  async close(): Promise<void> {
    try {
      await Promise.race([this.conn.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 2000))]);
      await this.conn.sendNotification('exit');
    } catch {
      // already gone
    }
    this.conn.dispose();
    if (this.proc.exitCode === null) this.proc.kill();
  }
}
