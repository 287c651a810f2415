// The wire protocol between the extension (src/) and the language server (server/lsp/), beyond
// standard LSP: types, method names, and the depth budget's defaults, limits and multi-line rule,
// which both sides derive from. Both sides import this file and nothing else of the other side
// (the client never loads the engine; the server never loads `vscode`).

/** How hard the model may think for one completion. Sent with every inline-completion request. */
export interface DepthBudget {
  /** Depth level the policy chose (0 = lightest); shown to the user. */
  level: number;
  /** Maximum core iterations per generated token. */
  steps: number;
  /** Adaptive exit: a token stops iterating once the KL divergence between successive
   *  iterations' next-token distributions falls below this; null runs every token for `steps`. */
  exitThreshold: number | null;
  /** Maximum generated tokens. */
  maxTokens: number;
  /** Wall-clock cap: past it the server returns what it has. */
  timeCapMs: number;
  /** Whether the completion may span several lines (only when the cursor ends its line). */
  multiline: boolean;
  /** The user asked for this completion (Alt+\, Think Harder) and waits for it: the server may
   *  show a less sure one (EXPLICIT_CONFIDENCE_FACTOR) and marks it. Absent: false (the server's
   *  parsed budget always has it). */
  explicit?: boolean;
}

/** Depth levels the client's policy chooses from (0 = lightest). */
export const DEPTH_LEVELS = { min: 0, max: 4 } as const;

/** Core iterations per token at each depth level, unless the user's settings say otherwise. */
export const DEFAULT_STEPS_PER_LEVEL: readonly number[] = [2, 4, 8, 16, 32];

/** The budget of a request that carries none, and the defaults of the client's settings. */
export const DEFAULT_BUDGET: Readonly<DepthBudget> = Object.freeze({
  level: 2,
  steps: DEFAULT_STEPS_PER_LEVEL[2],
  exitThreshold: 1e-3,
  maxTokens: 64,
  timeCapMs: 2000,
  multiline: true,
  explicit: false,
});

/** Upper bounds that keep one request from taking the machine: the server rejects a budget past
 *  them, and the client's settings stop there. `level` is looser than DEPTH_LEVELS so that other
 *  clients may label finer levels. */
export const BUDGET_LIMITS = { steps: 256, maxTokens: 512, timeCapMs: 60_000, level: 16 } as const;

/** An explicit request (the user asked and is waiting) may generate this many times more tokens. */
export const INVOKE_TOKEN_FACTOR = 2;
/** ... and take this many times longer (up to BUDGET_LIMITS.timeCapMs). */
export const INVOKE_TIME_FACTOR = 4;

/** The default of the minConfidence setting: ghost text is shown when its calibrated confidence is
 *  at least this (npm run bench:quality: the bar that makes shown ghost text right 5x as often). */
export const DEFAULT_MIN_CONFIDENCE = 0.5;
/** An explicit request's bar is this fraction of minConfidence (and any length). */
export const EXPLICIT_CONFIDENCE_FACTOR = 0.5;

/** The one multi-line rule: a completion may span lines when the budget allows it and nothing but
 *  whitespace follows the cursor on its line. */
export function spansLines(budgetAllows: boolean, lineSuffix: string): boolean {
  return budgetAllows && lineSuffix.trim() === '';
}

/** Extra field of textDocument/inlineCompletion params. */
export interface BudgetedInlineCompletionParams {
  budget?: DepthBudget;
}

/** Extra field on each returned inline completion item. */
export interface CompletionInfo {
  requestId: number;
  /** The generated tokens' text and the core iterations each one used (the compute map). */
  tokens: { text: string; iterations: number }[];
  latencyMs: number;
  cached: boolean;
  budget: DepthBudget;
  /** The calibrated confidence in [0, 1] that the shown text is right (a correct start of what the
   *  user will write). */
  confidence: number;
  /** Shown below the minConfidence bar because the request was explicit. */
  lowConfidence: boolean;
}

/** The weight formats a checkpoint may be built as: `auto` is int4 on the CPU, fp16 on a GPU. */
export const MODEL_FORMATS = ['auto', 'fp32', 'fp16', 'int4'] as const;
export type ModelFormat = (typeof MODEL_FORMATS)[number];

/** Where the model runs. `auto`: a hardware WebGPU adapter, else CUDA where its provider library
 *  is installed, else the CPU (never a software WebGPU adapter); `webgpu` and `cuda` fall back
 *  to the CPU, with a message, when they cannot be used. */
export const DEVICES = ['auto', 'cpu', 'webgpu', 'cuda'] as const;
export type Device = (typeof DEVICES)[number];

export interface ServerSettings {
  /** A built model or a huginn checkpoint folder; null uses the shipped default model. */
  modelPath: string | null;
  device: Device;
  /** The format a checkpoint at modelPath is built as (a built model keeps its own). */
  modelFormat: ModelFormat;
  /** Characters of context before and after the cursor sent to the model. */
  prefixChars: number;
  suffixChars: number;
  /** Ghost text is the likeliest line a beam search this wide finds; 1 = greedy decoding. */
  beamWidth: number;
  /** Ghost text is shown only as far as its calibrated confidence reaches this (0..1; 0 = off). */
  minConfidence: number;
}

/** `building`: a checkpoint is being built into a model (see BuildProgressParams); `loading` follows. */
export type ServerState = 'loading' | 'building' | 'ready' | 'error';

export interface RecentCompletion {
  at: number;
  latencyMs: number;
  tokens: number;
  meanIterations: number;
  level: number;
}

export interface ServerStatus {
  state: ServerState;
  /** One clear message for errors and fallbacks (e.g. "model X is invalid: ...; using the default model"). */
  message?: string;
  /** How serious `message` is: 'error' when the configured model failed to build (the default
   *  model serves meanwhile; the client shows it once as an error notification). Absent: a warning. */
  severity?: 'warning' | 'error';
  /** The execution provider the model runs on: cpu, webgpu or cuda. */
  device?: string;
  /** The WebGPU adapter's name (on webgpu), e.g. "NVIDIA GeForce RTX 4070" or "llvmpipe (LLVM 15.0.6, 256 bits)". */
  adapter?: string;
  /** Why the model runs on the CPU although a GPU was allowed (one line; an explicit webgpu or
   *  cuda that fell back also puts it in `message`). */
  deviceReason?: string;
  model?: string;
  dtype?: string;
  /** While the state is `building`: how far the build is. */
  build?: { percent: number; tensor: string };
  lastLatencyMs?: number;
  tokensPerSecond?: number;
  meanIterations?: number;
  recent: RecentCompletion[];
  /** Totals since the server started. */
  counters?: { requests: number; cacheHits: number; computed: number; cancelled: number; errors: number };
}

export interface ProgressParams {
  requestId: number;
  uri: string;
  tokens: number;
  elapsedMs: number;
  meanIterations: number;
}

/** client -> server: the user paused at `position` (opened the document, moved the cursor, stopped
 *  typing); the server may run the prompt there into its prompt cache while it is idle, so the
 *  next completion at that place starts from it. */
export interface PrefillParams {
  textDocument: { uri: string };
  position: { line: number; character: number };
  /** The budget a completion at that place would carry (its iterations decide the cache). */
  budget?: DepthBudget;
}

/** A checkpoint is being built (sent as the build goes, ending with percent 100). */
export interface BuildProgressParams {
  /** 0..100, whole numbers. */
  percent: number;
  /** The tensor just written ('' before the first and after the last). */
  tensor: string;
  /** The checkpoint folder (the configured modelPath). */
  model: string;
  /** The weight format it is built as. */
  dtype: string;
}

export const Methods = {
  /** client -> server request: current ServerStatus. */
  getStatus: 'recurrent/getStatus',
  /** client -> server notification: ServerSettings changed. */
  configure: 'recurrent/configure',
  /** server -> client notification: ServerStatus changed. */
  status: 'recurrent/status',
  /** server -> client notification: a slow completion is still running (ProgressParams). */
  progress: 'recurrent/progress',
  /** client -> server notification: background prefill at a pause (PrefillParams). */
  prefill: 'recurrent/prefill',
  /** server -> client notification: a checkpoint build's progress (BuildProgressParams). */
  buildProgress: 'recurrent/buildProgress',
  /** client -> server notification: stop the running build and use the default model. */
  cancelBuild: 'recurrent/cancelBuild',
} as const;
