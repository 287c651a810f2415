// The Recurrent Copilot language server: LSP over stdio, serving textDocument/inlineCompletion
// (LSP 3.18) from the recurrent-depth model. The model runs in a worker thread (ModelHost), so
// this thread keeps answering, cancelling and syncing documents while the model computes.
import {
  createConnection,
  ErrorCodes,
  InlineCompletionParams,
  ProposedFeatures,
  ResponseError,
  TextDocuments,
  TextDocumentSyncKind,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { BudgetedInlineCompletionParams, DepthBudget, Methods, PrefillParams, ServerSettings, ServerStatus } from '../protocol';
import { BudgetError, parseBudget } from './budget';
import { CompletionService, PositionError } from './completionService';
import { HostStatus, ModelHost } from './modelHost';
import { RecentDocuments } from './neighbors';
import { parseSettings } from './settings';
import { CompletionStats } from './stats';

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
const stats = new CompletionStats();
let settings: ServerSettings = parseSettings(undefined);

function status(): ServerStatus {
  return { ...host.status, ...stats.snapshot() };
}
const sendStatus = () => void connection.sendNotification(Methods.status, status());
const log = (line: string) => connection.console.log(line);

const host = new ModelHost(settings, (_s: HostStatus) => sendStatus(), log, (p) => void connection.sendNotification(Methods.buildProgress, p));
const recent = new RecentDocuments();
documents.onDidChangeContent((e) => recent.touch(e.document.uri));
documents.onDidClose((e) => recent.forget(e.document.uri));
const completions = new CompletionService(host, stats, () => settings, (p) => void connection.sendNotification(Methods.progress, p), sendStatus, {
  neighbors: (doc) => recent.neighborsOf(doc, documents.all()),
});

connection.onInitialize((params) => {
  settings = parseSettings(params.initializationOptions);
  host.configure(settings);
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      inlineCompletionProvider: true,
    },
    serverInfo: { name: 'recurrent-copilot', version: '0.1.0' },
  };
});

connection.onInitialized(() => {
  void host.load();
});

connection.languages.inlineCompletion.on(async (params: InlineCompletionParams & BudgetedInlineCompletionParams, token) => {
  const doc = documents.get(params.textDocument?.uri);
  if (!doc) throw new ResponseError(ErrorCodes.InvalidParams, `unknown document ${JSON.stringify(params.textDocument?.uri)}: open it first`);
  const position = params.position;
  if (!position || !Number.isInteger(position.line) || !Number.isInteger(position.character)) {
    throw new ResponseError(ErrorCodes.InvalidParams, 'position must have integer line and character');
  }
  try {
    const budget = parseBudget(params.budget);
    return { items: await completions.complete(doc, position, budget, token) };
  } catch (e) {
    if (e instanceof BudgetError || e instanceof PositionError) throw new ResponseError(ErrorCodes.InvalidParams, e.message);
    log(`completion failed: ${(e as Error).message}`);
    throw new ResponseError(ErrorCodes.InternalError, (e as Error).message);
  }
});

connection.onNotification(Methods.prefill, (params: PrefillParams) => {
  const doc = documents.get(params?.textDocument?.uri);
  const position = params?.position;
  if (!doc || !position || !Number.isInteger(position.line) || !Number.isInteger(position.character)) return;
  let budget: DepthBudget;
  try {
    budget = parseBudget(params.budget);
  } catch (e) {
    log(`ignored a prefill with an invalid budget: ${(e as Error).message}`);
    return;
  }
  void completions.prefill(doc, position, budget);
});

connection.onRequest(Methods.getStatus, () => status());

connection.onNotification(Methods.configure, (raw: unknown) => {
  try {
    settings = parseSettings(raw);
  } catch (e) {
    log(`ignored invalid settings: ${(e as Error).message}`);
    return;
  }
  completions.clearCache();
  host.configure(settings);
});

connection.onNotification(Methods.cancelBuild, () => {
  if (!host.cancelBuild()) log('recurrent/cancelBuild: no build is running');
});

connection.onShutdown(() => host.dispose());

documents.listen(connection);
connection.listen();
