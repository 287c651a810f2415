// The child processes of bench:fullsize, so that each one's time and peak memory are its own.
//   node fullsizeBenchRun.js build CHECKPOINT OUT_DIR DTYPE
//     builds with the project's builder; prints {seconds, peakRssBytes}
//   node fullsizeBenchRun.js measure MODEL_DIR THREADS DECODE_TOKENS [MEASUREMENT ...]
//     opens the model through EngineClient (the worker thread the language server uses) and prints
//     one JSON line per measurement: {name, ...figures}; "load" always comes first.
// Each measurement is one function of the open client; add one to MEASUREMENTS to measure more.
import * as fs from 'fs';
import * as os from 'os';
import { buildModel } from '../../native/builder/build';
import { WeightDtype } from '../../native/model/manifest';
import { CancelledError } from '../../server/engine/cancel';
import { EngineClient, RequestHandle } from '../../server/engine/engineClient';
import { TextGenerateRequest } from '../../server/engine/engine';
import { GenerateResult } from '../../server/engine/generate';

export type ProcessMemory = {
  /** Resident now, and the peak so far, in bytes (/proc/<pid>/status VmRSS, VmHWM). */
  rssBytes: number;
  hwmBytes: number;
};

/** This process's memory, or another's (`pid`). */
export function processMemory(pid: number | 'self' = 'self'): ProcessMemory {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM') };
}

export type Figures = Record<string, number | string | null>;

interface Context {
  client: EngineClient;
  vocab: number;
  decodeTokens: number;
}

/** Prompt ids that are ordinary tokens (below the special block at the top of the vocabulary). */
export function promptIds(n: number, vocab: number): number[] {
  return Array.from({ length: n }, (_, i) => (i * 7919 + 13) % (vocab - 64));
}

const DECODE_PROMPT = 8;
export const LONG_PROMPT = 100;
export const CONTEXT_TOKENS = 2000;

async function run(ctx: Context, req: Omit<TextGenerateRequest, 'ids'>, prompt: number): Promise<GenerateResult> {
  return ctx.client.generate({ stateInit: 'zero', ...req, ids: promptIds(prompt, ctx.vocab) }).result;
}

/** Greedy decode of a handful of tokens after a short prompt: seconds per decoded token (the
 *  first token comes from the prompt pass and is not counted). With beams (no stop, so the search
 *  runs to the token limit), seconds per token step: each step after the first forwards up to
 *  `beams` beams, whatever the best continuation's text turns out to be. */
async function decode(ctx: Context, steps: number, extra: Partial<TextGenerateRequest> = {}): Promise<Figures> {
  const r = await run(ctx, { steps, maxTokens: ctx.decodeTokens + 1, ...extra }, DECODE_PROMPT);
  const beams = extra.beams ?? 1;
  const decoded = beams > 1 ? ctx.decodeTokens : r.ids.length - 1;
  const later = r.iterations.slice(1);
  return {
    steps,
    ...(beams > 1 ? { beams, resultTokens: r.ids.length } : {}),
    secondsPerToken: decoded > 0 ? r.decodeMs / 1000 / decoded : null,
    decodedTokens: decoded,
    meanIterations: later.length ? later.reduce((a, b) => a + b, 0) / later.length : null,
    promptSeconds: r.prefillMs / 1000,
    finishReason: r.finishReason,
    ...(r.speculative ? { drafted: r.speculative.drafted, accepted: r.speculative.accepted, rounds: r.speculative.rounds } : {}),
  };
}

/** Prompt tokens per second of one prompt pass; memory right after it and the KV bytes per token. */
async function promptPass(ctx: Context, steps: number, tokens: number): Promise<Figures> {
  const r = await run(ctx, { steps, maxTokens: 1 }, tokens);
  const mem = processMemory();
  return { steps, tokens: r.promptTokens, tokensPerSecond: r.promptTokens / (r.prefillMs / 1000), kvBytesPerToken: r.kvBytesPerToken, ...mem };
}

const CANCEL_AFTER_MS = 1500;
const CANCEL_REPEATS = 3;
export const CANCEL_PROMPT = 200;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** When a request settles, and how: the result promise wrapped so that a cancellation is an outcome. */
function settledAt(handle: RequestHandle<GenerateResult>): Promise<{ outcome: 'resolved' | 'cancelled'; at: number }> {
  return handle.result.then(
    () => ({ outcome: 'resolved' as const, at: performance.now() }),
    (e) => {
      if (e instanceof CancelledError) return { outcome: 'cancelled' as const, at: performance.now() };
      throw e;
    },
  );
}

/** Cancellation latency: `start` begins a request and resolves when the clock to the cancel starts
 *  (or with 'settled' when the request ended first); CANCEL_AFTER_MS later handle.cancel(), and the
 *  time from it until the result promise rejects is one sample. */
async function cancelLatency(start: () => { handle: RequestHandle<GenerateResult>; armed: Promise<void> }): Promise<Figures> {
  const seconds: number[] = [];
  let finishedFirst = 0;
  for (let i = 0; i < CANCEL_REPEATS; i++) {
    const { handle, armed } = start();
    const settled = settledAt(handle);
    const early = await Promise.race([armed.then(() => sleep(CANCEL_AFTER_MS)).then(() => null), settled]);
    if (early) {
      finishedFirst++; // ran to the end (or errored) before the cancel: no sample
      continue;
    }
    const t = performance.now();
    handle.cancel();
    const { outcome, at } = await settled;
    if (outcome === 'cancelled') seconds.push((at - t) / 1000);
    else finishedFirst++;
  }
  const sorted = [...seconds].sort((a, b) => a - b);
  return {
    repeats: CANCEL_REPEATS,
    cancelAfterSeconds: CANCEL_AFTER_MS / 1000,
    samples: seconds.map((s) => s.toFixed(3)).join(', '),
    finishedBeforeCancel: finishedFirst,
    maxSeconds: sorted.length ? sorted[sorted.length - 1] : null,
    medianSeconds: sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : null,
  };
}

/** A prompt pass of `tokens` tokens at `steps`, cancelled CANCEL_AFTER_MS after it starts. */
function cancelPrompt(ctx: Context, steps: number, tokens: number): Promise<Figures> {
  return cancelLatency(() => ({
    handle: ctx.client.generate({ stateInit: 'zero', steps, maxTokens: 1, ids: promptIds(tokens, ctx.vocab) }),
    armed: Promise.resolve(),
  }));
}

/** A decode at `steps`, cancelled CANCEL_AFTER_MS after its first token arrived: in the middle of
 *  the second token's iterations (one token at r=32 takes seconds at this size). */
function cancelDecode(ctx: Context, steps: number): Promise<Figures> {
  return cancelLatency(() => {
    let first!: () => void;
    const armed = new Promise<void>((r) => (first = r));
    const handle = ctx.client.generate({ stateInit: 'zero', steps, maxTokens: 64, ids: promptIds(DECODE_PROMPT, ctx.vocab) }, () => first());
    return { handle, armed };
  });
}

/** Peak resident memory while the model holds a long context, with a real prompt of that length
 *  (minutes at full size; the bench estimates it from 'prompt r=8' unless asked for this). */
async function contextMemory(ctx: Context, steps: number, tokens: number): Promise<Figures> {
  const p = await promptPass(ctx, steps, tokens);
  return { steps, tokens, peakBytes: p.hwmBytes, kvBytesPerToken: p.kvBytesPerToken, promptSeconds: tokens / (p.tokensPerSecond as number) };
}

export const MEASUREMENTS: Record<string, (ctx: Context) => Promise<Figures>> = {
  'decode r=4': (ctx) => decode(ctx, 4),
  'decode r=32': (ctx) => decode(ctx, 32),
  'decode r=32 kl-exit': (ctx) => decode(ctx, 32, { exit: { criterion: 'kl', threshold: 1e-3 } }),
  'decode r=32 kl-exit every 2': (ctx) => decode(ctx, 32, { exit: { criterion: 'kl', threshold: 1e-3, checkEvery: 2 } }),
  'decode r=32 kl-exit every 4': (ctx) => decode(ctx, 32, { exit: { criterion: 'kl', threshold: 1e-3, checkEvery: 4 } }),
  'decode r=32 latent-diff': (ctx) => decode(ctx, 32, { exit: { criterion: 'latent-diff', threshold: 0.03 } }),
  'decode r=32 speculative': (ctx) => decode(ctx, 32, { speculative: { draftSteps: 4, lookahead: 4 } }),
  // the language server's level-1 ghost-text request after its prompt: beam width 4 (its default),
  // KL exit 1e-3 checked every iteration (the budget's exitThreshold); no stop, so every figure
  // decodes the same number of tokens; and the same greedy, and without the exit
  'ghost text r=4': (ctx) => decode(ctx, 4, { beams: 4, exit: { criterion: 'kl', threshold: 1e-3 } }),
  'ghost text r=4 greedy': (ctx) => decode(ctx, 4, { exit: { criterion: 'kl', threshold: 1e-3 } }),
  'ghost text r=4 no exit': (ctx) => decode(ctx, 4, { beams: 4 }),
  'prompt r=8': (ctx) => promptPass(ctx, 8, LONG_PROMPT),
  'prompt r=4': (ctx) => promptPass(ctx, 4, LONG_PROMPT),
  'cancel prompt r=8': (ctx) => cancelPrompt(ctx, 8, CANCEL_PROMPT),
  'cancel decode r=32': (ctx) => cancelDecode(ctx, 32),
  'context memory r=8': (ctx) => contextMemory(ctx, 8, CONTEXT_TOKENS),
};

function emit(name: string, figures: Figures): void {
  process.stdout.write(JSON.stringify({ name, ...figures }) + '\n');
}

async function measure(modelDir: string, threads: number, decodeTokens: number, names: string[]): Promise<void> {
  const t0 = performance.now();
  const client = await EngineClient.open(modelDir, { device: 'cpu', threads, log: (l) => process.stderr.write(`${l}\n`) });
  emit('load', { seconds: (performance.now() - t0) / 1000, provider: client.info.provider, dtype: client.info.dtype, threads, ...processMemory() });
  const ctx: Context = { client, vocab: client.info.vocabSize, decodeTokens };
  try {
    // warm-up: every session's first run allocates its buffers
    await run(ctx, { steps: 1, maxTokens: 2 }, 4);
    for (const name of names) {
      const m = MEASUREMENTS[name];
      if (!m) throw new Error(`unknown measurement "${name}" (${Object.keys(MEASUREMENTS).join(', ')})`);
      const t = performance.now();
      // the machine's 1-minute load average as the measurement starts: other jobs skew timings
      const load1 = os.loadavg()[0];
      emit(name, { ...(await m(ctx)), wallSeconds: (performance.now() - t) / 1000, load1 });
    }
    emit('end', processMemory());
  } finally {
    await client.close();
  }
}

async function build(checkpointDir: string, outDir: string, dtype: WeightDtype): Promise<void> {
  const t0 = performance.now();
  await buildModel({ checkpointDir, outDir, dtype, log: (l) => process.stderr.write(`${l}\n`) });
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ seconds, peakRssBytes: process.resourceUsage().maxRSS * 1024 }) + '\n');
}

async function main() {
  const [cmd, ...args] = process.argv.slice(2);
  if (cmd === 'build') return build(args[0], args[1], args[2] as WeightDtype);
  if (cmd === 'measure') return measure(args[0], Number(args[1]), Number(args[2]), args.slice(3));
  throw new Error('usage: fullsizeBenchRun.js build CHECKPOINT OUT DTYPE | measure MODEL_DIR THREADS DECODE_TOKENS [NAME ...]');
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`${e.stack}\n`);
    process.exit(1);
  });
}
