// The compute map: after a completion is accepted, "Show Compute Map" shades each generated token
// by the core iterations it used relative to the budget's steps, with a hover giving the count.
// Ghost text cannot be decorated, so for a suggestion that was only shown the map goes to the
// output channel. Decorations are cleared by the next edit of the document.

import * as vscode from 'vscode';
import type { CompletionInfo } from '../server/protocol';
import { COMPUTE_MAP_AVAILABLE } from './commandIds';
import type { ConfigStore } from './configStore';
import { layoutTokens, SHADES } from './computeMapLayout';
import { confidenceText } from './statusView';

/** Internal command put on every item; VS Code runs it after the item is accepted. */
export const ACCEPTED_COMMAND = 'recurrentCopilot._completionAccepted';

export interface AcceptedArgs {
  uri: string;
  /** Where the inserted text starts (the item's range start). */
  line: number;
  character: number;
  insertText: string;
  /** Where the generated tokens start in insertText (after text the user had already typed). */
  generatedStart: number;
  info: CompletionInfo;
}

interface Accepted extends AcceptedArgs {
  /** The document version right after the insertion; any later edit makes the record stale. */
  version: number;
}

export class ComputeMap implements vscode.Disposable {
  private readonly shown = new Map<string, CompletionInfo>();
  private accepted: Accepted | undefined;
  private decoratedUri: string | undefined;
  private readonly shades: vscode.TextEditorDecorationType[];
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly config: ConfigStore,
    private readonly log: vscode.LogOutputChannel,
  ) {
    // One decoration type per shade; intensity grows with iterations / steps.
    this.shades = Array.from({ length: SHADES }, (_, i) =>
      vscode.window.createTextEditorDecorationType({
        backgroundColor: `rgba(255, 140, 0, ${(0.12 * (i + 1)).toFixed(2)})`,
        borderRadius: '2px',
      }),
    );
    this.subscriptions.push(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length === 0) return;
        const uri = e.document.uri.toString();
        if (uri === this.decoratedUri) this.clear();
        // The acceptance itself is an edit, but its command runs after it: only later edits land here.
        if (this.accepted?.uri === uri && this.accepted.version !== e.document.version) this.accepted = undefined;
      }),
      vscode.workspace.onDidCloseTextDocument((doc) => this.shown.delete(doc.uri.toString())),
      config.onDidChange(() => this.updateContextKey()),
      vscode.commands.registerCommand(ACCEPTED_COMMAND, (args: AcceptedArgs) => this.onAccepted(args)),
    );
  }

  /** The server's info for the suggestion just shown in this document. */
  rememberShown(uri: string, info: CompletionInfo): void {
    this.shown.set(uri, info);
    this.updateContextKey();
  }

  /** The command to attach to an item so its acceptance is recorded (undefined when disabled). */
  acceptCommand(args: AcceptedArgs): vscode.Command | undefined {
    if (!this.config.current.computeMapEnabled) return undefined;
    return { command: ACCEPTED_COMMAND, title: 'Record accepted completion', arguments: [args] };
  }

  /** Decorates the last accepted completion in `editor`, or prints the last shown one. */
  show(editor: vscode.TextEditor | undefined): void {
    if (!this.config.current.computeMapEnabled) {
      void vscode.window.showInformationMessage('The compute map is off (recurrentCopilot.computeMap.enabled).');
      return;
    }
    const document = editor?.document;
    const accepted = this.accepted;
    if (editor && document && accepted && accepted.uri === document.uri.toString() && accepted.version === document.version) {
      this.decorate(editor, accepted);
      return;
    }
    const info = document && this.shown.get(document.uri.toString());
    if (info) {
      this.log.info(`Compute map of the last suggestion (not accepted): ${describe(info)}`);
      this.log.show(true);
      void vscode.window.showInformationMessage(
        'Accept a suggestion to see its compute map in the editor; the last one is in the output.',
      );
      return;
    }
    void vscode.window.showInformationMessage('No completion to map yet in this editor.');
  }

  clear(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document.uri.toString() === this.decoratedUri) for (const shade of this.shades) editor.setDecorations(shade, []);
    }
    this.decoratedUri = undefined;
  }

  dispose(): void {
    this.clear();
    for (const s of this.subscriptions) s.dispose();
    for (const shade of this.shades) shade.dispose();
  }

  private onAccepted(args: AcceptedArgs): void {
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === args.uri);
    if (!document) return;
    this.accepted = { ...args, version: document.version };
  }

  private decorate(editor: vscode.TextEditor, accepted: Accepted): void {
    this.clear();
    const document = editor.document;
    const base = document.offsetAt(new vscode.Position(accepted.line, accepted.character));
    const steps = accepted.info.budget.steps;
    const spans = layoutTokens(accepted.insertText, accepted.generatedStart, accepted.info.tokens, steps);
    const byShade: vscode.DecorationOptions[][] = this.shades.map(() => []);
    for (const span of spans) {
      const range = new vscode.Range(document.positionAt(base + span.start), document.positionAt(base + span.end));
      const hover = new vscode.MarkdownString(`${span.iterations} iterations (budget ${steps} per token) · ${confidenceOf(accepted.info)}`);
      byShade[span.shade].push({ range, hoverMessage: hover });
    }
    this.shades.forEach((shade, i) => editor.setDecorations(shade, byShade[i]));
    this.decoratedUri = document.uri.toString();
    this.log.info(`Compute map: ${describe(accepted.info)}`);
  }

  private updateContextKey(): void {
    const available = this.config.current.computeMapEnabled && (this.shown.size > 0 || this.accepted !== undefined);
    void vscode.commands.executeCommand('setContext', COMPUTE_MAP_AVAILABLE, available);
  }
}

/** "confidence 72%" (", low confidence" when only an explicit request's lower bar let it through). */
function confidenceOf(info: CompletionInfo): string {
  return `confidence ${confidenceText(info.confidence)}${info.lowConfidence ? ', low confidence' : ''}`;
}

/** "level 3, 16 steps, confidence 72%: 'def'×16 ' f'×4 …" for the output channel. */
function describe(info: CompletionInfo): string {
  const tokens = info.tokens.map((t) => `${JSON.stringify(t.text)}×${t.iterations}`).join(' ');
  return `request ${info.requestId}, level ${info.budget.level}, up to ${info.budget.steps} iterations per token, ` +
    `${Math.round(info.latencyMs)} ms${info.cached ? ' (cached)' : ''}, ${confidenceOf(info)}: ${tokens}`;
}
