// npm run bench:fullsize — the engine at huginn-0125's real size (3.56B parameters, random
// weights) on this machine: checkpoint generation, the int4 build, load time, resident memory,
// decode seconds per token at r=4 and r=32 (plain, adaptive exit by criterion and check interval,
// self-speculation), prompt tokens per second, cancellation latency, intra-op threads 1 against 2,
// the memory-bandwidth bound of decoding, time to ghost text through the language server, and the
// PyTorch reference.
//
//   FULLSIZE_CHECKPOINT=DIR  use this checkpoint instead of generating one (7.1 GB, ~2 minutes)
//   FULLSIZE_MODEL=DIR       the int4 model: a built folder there is used as it is (no build);
//                            otherwise int4 is built into DIR and kept, for the next run
//   FULLSIZE_KEEP=1          keep the generated checkpoint and the built models
//   FULLSIZE_FP32=1          also build and measure fp32 (14.3 GB of weights, ~15 GiB resident)
//   FULLSIZE_REFERENCE=1|0   run the PyTorch reference (fp32, ~16 GiB) or not; by default it runs
//                            when MemAvailable allows
//   FULLSIZE_CONTEXT_MEASURE=1  measure the 2,000-token context for real (minutes) instead of
//                            estimating it from the 100-token prompt
//   FULLSIZE_THREADS=N       intra-op threads of the engine and the reference (default: cores, max 2)
//   FULLSIZE_DECODE_TOKENS=N tokens decoded per decode figure (default 4)
//   FULLSIZE_LSP=0           skip the language-server figures (~8 minutes)
//   FULLSIZE_LSP_WAIT_S=S    how long the file is open before the user types (default 60)
//   FULLSIZE_LSP_CAP_S=S     stop asking for ghost text after this long (default 300)
//   FULLSIZE_LSP_PROMPT_TOKENS=N  only the file's last lines that make a prompt of N tokens
//   FULLSIZE_ONLY=lsp        only the language-server figures (needs FULLSIZE_MODEL built)
//
// Decode r=4 and the prompt passes are also measured at 1 and 2 intra-op threads (one more child
// process per thread count besides FULLSIZE_THREADS), to choose the language server's count.
//
// Each step is one function (generateCheckpoint, buildChild, weightBytes, measureBandwidth,
// measureEngine, measureLsp (fullsizeBenchLsp.ts), measureReference) returning figures; report()
// turns them into the table. More engine figures go in fullsizeBenchRun.ts's MEASUREMENTS; figures
// of other processes are one more step here and one more row in report(). No figure is asserted.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { onnx } from 'onnx-proto';
import { WeightDtype } from '../../native/model/manifest';
import { availableMemoryBytes } from '../../server/engine/memory';
import { PYTHON, REPO, tmpDir } from '../helpers/reference';
import { LspFigures, measureLsp } from './fullsizeBenchLsp';
import { CANCEL_PROMPT, CONTEXT_TOKENS, Figures, LONG_PROMPT } from './fullsizeBenchRun';

const RUN = path.join(__dirname, 'fullsizeBenchRun.js');
const GiB = 2 ** 30;
const THREADS = Number(process.env.FULLSIZE_THREADS ?? Math.min(2, os.cpus().length));
const DECODE_TOKENS = Number(process.env.FULLSIZE_DECODE_TOKENS ?? 4);
/** Intra-op thread counts the thread figures compare (each one not THREADS is one more child). */
const THREAD_COUNTS = [1, 2];
const THREAD_MEASUREMENTS = ['decode r=4', 'prompt r=8', 'prompt r=4', 'ghost text r=4', 'ghost text r=4 greedy', 'ghost text r=4 no exit'];
/** What the fp32 reference needs resident at this size (measured 16.0 GiB) plus room. */
const REFERENCE_BYTES = 17 * GiB;
const PY_ENV = { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', OMP_NUM_THREADS: String(THREADS), RC_TORCH_THREADS: String(THREADS) };

const log = (line: string) => process.stderr.write(`[fullsize] ${line}\n`);

interface Timed {
  seconds: number;
  peakRssBytes: number | null;
}

/** Runs a command under /usr/bin/time (when present) for its wall time and peak RSS. */
function timed(cmd: string, args: string[], env = process.env): Timed & { stdout: string } {
  const useTime = fs.existsSync('/usr/bin/time');
  const t0 = performance.now();
  const r = useTime
    ? spawnSync('/usr/bin/time', ['-f', 'MAXRSS_KB=%M', cmd, ...args], { encoding: 'utf8', env, maxBuffer: 1 << 26 })
    : spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 1 << 26 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stderr.slice(-4000)}`);
  const kb = /MAXRSS_KB=(\d+)/.exec(r.stderr);
  return { seconds, peakRssBytes: kb ? Number(kb[1]) * 1024 : null, stdout: r.stdout };
}

function folderBytes(dir: string): number {
  return fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
}

// ---- steps ----

function generateCheckpoint(out: string): Timed & { bytes: number } {
  log(`generating the checkpoint in ${out}`);
  const r = timed(PYTHON, [path.join(REPO, 'native/reference/make_fullsize_checkpoint.py'), '--out', out, '--quiet'], PY_ENV);
  return { seconds: r.seconds, peakRssBytes: r.peakRssBytes, bytes: folderBytes(out) };
}

function buildChild(checkpoint: string, out: string, dtype: WeightDtype): Timed & { weightsBytes: number } {
  log(`building ${dtype} into ${out}`);
  const r = timed(process.execPath, [RUN, 'build', checkpoint, out, dtype]);
  const child = JSON.parse(r.stdout.trim().split('\n').pop()!) as Timed;
  return { seconds: child.seconds, peakRssBytes: r.peakRssBytes ?? child.peakRssBytes, weightsBytes: fs.statSync(path.join(out, 'weights.bin')).size };
}

export interface GraphBytes {
  /** Weight bytes a run of the graph reads: every initializer but tables it only gathers rows from. */
  read: number;
  /** Tables only gathered from (the embedding): one row per token is read, counted as 0. */
  gathered: number;
  /** Of `read`, the LM head's matrix (nodes under /coda/lm_head/). */
  lmHead: number;
}

function initializerBytes(t: onnx.ITensorProto): number {
  const length = t.externalData?.find((e) => e.key === 'length')?.value;
  if (length) return Number(length);
  return t.rawData?.length ?? 0; // small constants stored inside the graph
}

/** Weight bytes per graph of a built model, from its ONNX files' initializers (external data). */
export function weightBytes(modelDir: string): Record<'prelude' | 'core' | 'coda', GraphBytes> {
  const manifest = JSON.parse(fs.readFileSync(path.join(modelDir, 'manifest.json'), 'utf8')) as { graphs: Record<'prelude' | 'core' | 'coda', string> };
  const out = {} as Record<'prelude' | 'core' | 'coda', GraphBytes>;
  for (const [part, file] of Object.entries(manifest.graphs) as ['prelude' | 'core' | 'coda', string][]) {
    const graph = onnx.ModelProto.decode(fs.readFileSync(path.join(modelDir, file))).graph!;
    const consumers = new Map<string, onnx.INodeProto[]>();
    for (const node of graph.node ?? []) for (const input of node.input ?? []) consumers.set(input, [...(consumers.get(input) ?? []), node]);
    const g: GraphBytes = { read: 0, gathered: 0, lmHead: 0 };
    for (const t of graph.initializer ?? []) {
      const users = consumers.get(t.name!) ?? [];
      const bytes = initializerBytes(t);
      if (users.length > 0 && users.every((n) => n.opType === 'Gather')) g.gathered += bytes;
      else {
        g.read += bytes;
        if (users.some((n) => (n.name ?? '').includes('/lm_head/'))) g.lmHead += bytes;
      }
    }
    out[part] = g;
  }
  return out;
}

/** Weight bytes one decoded token reads at r iterations: prelude + r x core + coda (with the LM head). */
export function bytesPerToken(w: ReturnType<typeof weightBytes>, r: number): number {
  return w.prelude.read + r * w.core.read + w.coda.read;
}

const BANDWIDTH_MB = 512;

/** Read bandwidth in bytes/s: the best of numpy summing 512 MB (one thread) and a Node loop summing
 *  a 512 MB Float32Array on one thread and split over THREADS worker threads. */
function measureBandwidth(): Figures {
  const numpy = (() => {
    try {
      const code = [
        'import numpy as np, time',
        `a = np.ones(${BANDWIDTH_MB} * 2**20 // 4, np.float32); a.sum(); best = 1e9`,
        'for _ in range(5):',
        '    t = time.perf_counter(); a.sum(); best = min(best, time.perf_counter() - t)',
        'print(a.nbytes / best)',
      ].join('\n');
      return Number(execFileSync(PYTHON, ['-c', code], { encoding: 'utf8', env: PY_ENV }).trim());
    } catch {
      return null;
    }
  })();
  const node = (threads: number) => Number(execFileSync(process.execPath, ['-e', NODE_BANDWIDTH, String(BANDWIDTH_MB), String(threads)], { encoding: 'utf8' }).trim());
  const node1 = node(1);
  const nodeN = THREADS > 1 ? node(THREADS) : null;
  return { numpy, node1, nodeN, best: Math.max(numpy ?? 0, node1, nodeN ?? 0) };
}

// Node: sums a shared Float32Array split over N worker threads, best of 5 passes; prints bytes/s.
const NODE_BANDWIDTH = `
const { Worker } = require('worker_threads');
const [mb, n] = process.argv.slice(1).map(Number);
const sab = new SharedArrayBuffer(mb * 2 ** 20); new Float32Array(sab).fill(1);
const body = \`const { parentPort, workerData: { sab, from, to } } = require('worker_threads');
  const a = new Float32Array(sab, from * 4, to - from);
  parentPort.on('message', () => { let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let i = 0; i < a.length; i += 4) { s0 += a[i]; s1 += a[i + 1]; s2 += a[i + 2]; s3 += a[i + 3]; }
    parentPort.postMessage(s0 + s1 + s2 + s3); });\`;
const len = sab.byteLength / 4;
const workers = Array.from({ length: n }, (_, k) => new Worker(body, { eval: true, workerData: { sab, from: Math.floor(k * len / n), to: Math.floor((k + 1) * len / n) } }));
const pass = () => Promise.all(workers.map((w) => new Promise((r) => { w.once('message', r); w.postMessage(0); })));
(async () => { await pass(); let best = Infinity;
  for (let i = 0; i < 5; i++) { const t = performance.now(); await pass(); best = Math.min(best, performance.now() - t); }
  console.log(sab.byteLength / (best / 1000)); await Promise.all(workers.map((w) => w.terminate())); })();
`;

const ENGINE_MEASUREMENTS = [
  'decode r=4',
  'decode r=32',
  'decode r=32 kl-exit',
  'decode r=32 kl-exit every 2',
  'decode r=32 kl-exit every 4',
  'decode r=32 latent-diff',
  'decode r=32 speculative',
  'prompt r=8',
  'prompt r=4',
  'ghost text r=4',
  'ghost text r=4 greedy',
  'ghost text r=4 no exit',
  'cancel prompt r=8',
  'cancel decode r=32',
];

/** The engine's figures from one child process (fullsizeBenchRun.ts measure), by measurement name. */
function measureEngine(modelDir: string, threads: number, names: string[]): Record<string, Figures> {
  log(`measuring ${modelDir} at ${threads} threads: ${names.join(', ')}`);
  const r = timed(process.execPath, [RUN, 'measure', modelDir, String(threads), String(DECODE_TOKENS), ...names]);
  const out: Record<string, Figures> = {};
  for (const line of r.stdout.trim().split('\n')) {
    const { name, ...figures } = JSON.parse(line) as Figures & { name: string };
    out[name] = figures;
  }
  out.process = { peakRssBytes: r.peakRssBytes, seconds: r.seconds };
  return out;
}

/** The PyTorch reference (fp32) at r=4 on the same checkpoint: cli.py bench, last, when memory allows. */
function measureReference(checkpoint: string): Figures {
  const wanted = process.env.FULLSIZE_REFERENCE;
  const available = availableMemoryBytes();
  if (wanted === '0') return { skipped: 'FULLSIZE_REFERENCE=0' };
  if (wanted !== '1' && available < REFERENCE_BYTES) {
    return { skipped: `MemAvailable ${(available / GiB).toFixed(1)} GiB < ${REFERENCE_BYTES / GiB} GiB (FULLSIZE_REFERENCE=1 forces it)` };
  }
  log('running the PyTorch reference at r=4 (fp32)');
  const args = [path.join(REPO, 'native/reference/cli.py'), 'bench', '--checkpoint', checkpoint, '--steps', '4', '--prompt-len', '8', '--decode-tokens', String(DECODE_TOKENS)];
  try {
    const r = timed(PYTHON, args, PY_ENV);
    const out = JSON.parse(r.stdout) as { decode_tok_s: number; prefill_tok_s: number; peak_rss_mb: number };
    return { secondsPerToken: 1 / out.decode_tok_s, peakRssBytes: out.peak_rss_mb * 2 ** 20, seconds: r.seconds };
  } catch (e) {
    return { skipped: `failed: ${(e as Error).message.split('\n')[0]}` }; // the engine's figures still print
  }
}

// ---- the table ----

interface DtypeResult {
  dtype: WeightDtype;
  /** `given`: FULLSIZE_MODEL named a built folder, which was used without building. */
  build: Timed & { weightsBytes: number; given?: string };
  bytes: ReturnType<typeof weightBytes>;
  engine: Record<string, Figures>;
  /** THREAD_MEASUREMENTS at each of THREAD_COUNTS but THREADS (those are in `engine`). */
  threads: Record<number, Record<string, Figures>>;
}

interface Results {
  checkpoint: { dir: string; generated?: Timed & { bytes: number } };
  models: DtypeResult[];
  bandwidth: Figures;
  reference: Figures;
  /** Through the language server, on the int4 model. */
  lsp: LspFigures;
  /** 1-minute load average when each step began: other processes on the machine skew every timing. */
  load: [step: string, load: number][];
}

/** figure, value, target (where the issue gives one), and whether the value meets it. */
type Row = [figure: string, value: string, target: string, met: string];
const met = (ok: boolean | null) => (ok === null ? '' : ok ? 'yes' : 'NO');

const gib = (b: number | null | undefined) => (b == null || !Number.isFinite(b) ? 'n/a' : `${(b / GiB).toFixed(2)} GiB`);
const gb = (b: number) => (b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : `${(b / 1e6).toFixed(1)} MB`);
const sec = (s: number | null | undefined, d = 3) => (s == null || !Number.isFinite(s) ? 'n/a' : `${s >= 10 ** (d - 1) ? s.toFixed(0) : s.toPrecision(d)} s`);
const num = (x: Figures[string], d = 2) => (typeof x === 'number' ? x.toFixed(d) : 'n/a');

function modelRows(m: DtypeResult, bandwidth: number, reference: Figures): Row[] {
  const e = m.engine;
  const load = e.load;
  const d4 = e['decode r=4'].secondsPerToken as number | null;
  const bound4 = bytesPerToken(m.bytes, 4) / bandwidth;
  const decodeRow = (name: string, label: string): Row => {
    const f = e[name];
    const extra = [
      typeof f.meanIterations === 'number' ? `${f.meanIterations.toFixed(1)} iterations/token` : '',
      typeof f.drafted === 'number' ? `${f.accepted}/${f.drafted} drafts accepted` : '',
      `${f.decodedTokens} tokens`,
      typeof f.load1 === 'number' ? `load ${f.load1.toFixed(1)}` : '',
    ].filter(Boolean);
    return [`${m.dtype} decode ${label}`, `${sec(f.secondsPerToken as number)}/token (${extra.join(', ')})`, '', ''];
  };
  const p = e['prompt r=8'];
  const ctx = e['context memory r=8'];
  const contextPeak = ctx
    ? { bytes: ctx.peakBytes as number, how: 'measured' }
    : { bytes: (p.hwmBytes as number) + (CONTEXT_TOKENS - LONG_PROMPT) * (p.kvBytesPerToken as number), how: `estimated: peak after ${LONG_PROMPT} tokens + ${CONTEXT_TOKENS - LONG_PROMPT} x ${((p.kvBytesPerToken as number) / 2 ** 20).toFixed(2)} MiB KV` };
  const ref = typeof reference.secondsPerToken === 'number' ? reference.secondsPerToken : null;
  const ofBound = d4 ? bound4 / d4 : null;
  const vsRef = d4 && ref ? ref / d4 : null;
  // the issue's targets are for the int4 model
  const target = (t: string, ok: boolean | null): [string, string] => (m.dtype === 'int4' ? [t, met(ok)] : ['', '']);
  const fixed32 = e['decode r=32'].secondsPerToken as number | null;
  const exitRow = (name: string, label: string): Row => {
    const f = e[name];
    const s = f.secondsPerToken as number | null;
    const ratio = s && fixed32 ? fixed32 / s : null;
    const value = `${sec(s)}/token, ${num(f.meanIterations, 1)} iterations/token, ${ratio ? `${ratio.toFixed(2)}x` : 'n/a'} the tokens/s of fixed r=32 (${f.decodedTokens} tokens${typeof f.load1 === 'number' ? `, load ${f.load1.toFixed(1)}` : ''})`;
    return [`${m.dtype} decode r=32, ${label}`, value, '', ''];
  };
  const cancelRow = (name: string, label: string): Row => {
    const f = e[name];
    const max = f.maxSeconds as number | null;
    const early = f.finishedBeforeCancel ? `; ${f.finishedBeforeCancel} of ${f.repeats} finished before the cancel` : '';
    const value = `max ${sec(max)} / median ${sec(f.medianSeconds as number | null)} (cancel() -> rejection, ${f.cancelAfterSeconds} s in: ${f.samples || 'none'} s${early})`;
    return [`${m.dtype} cancellation, ${label}`, value, ...target('< 0.5 s', max === null ? null : max < 0.5)];
  };
  // by intra-op thread count: THREADS's figures come from the main child, the others from theirs
  const at = (t: number) => (t === THREADS ? e : m.threads[t]);
  const counts = [...new Set([...THREAD_COUNTS, THREADS])].sort((a, b) => a - b);
  const byThreads = (name: string, label: string, value: (f: Figures) => number | null, unit: string, faster: (a: number, b: number) => number): Row => {
    const vals = counts.map((t) => [t, at(t)?.[name] ? value(at(t)[name]) : null] as const);
    const [lo, hi] = [vals[0][1], vals[vals.length - 1][1]];
    const gain = lo && hi ? `; ${vals[vals.length - 1][0]} threads ${faster(lo, hi).toFixed(2)}x as fast as ${vals[0][0]}` : '';
    return [`${m.dtype} ${label} by intra-op threads`, vals.map(([t, v]) => `${t}: ${v === null ? 'n/a' : unit === 's/token' ? `${sec(v)}/token` : `${v.toFixed(2)} ${unit}`}`).join(', ') + gain, '', ''];
  };
  const build = m.build.given
    ? `given: ${m.build.given} (FULLSIZE_MODEL; not built in this run), weights.bin ${gb(m.build.weightsBytes)}`
    : `${sec(m.build.seconds, 3)}, peak RSS ${gib(m.build.peakRssBytes)}, weights.bin ${gb(m.build.weightsBytes)}`;
  const rows: Row[] = [
    [`${m.dtype} build`, build, '', ''],
    [`${m.dtype} load (EngineClient.open)`, `${sec(load.seconds as number)}, ${load.threads} threads, ${load.provider}`, '', ''],
    [`${m.dtype} resident after load (VmRSS / VmHWM)`, `${gib(load.rssBytes as number)} / ${gib(load.hwmBytes as number)}`, '', ''],
    [`${m.dtype} weight bytes per graph run`, `prelude ${gb(m.bytes.prelude.read)}, core ${gb(m.bytes.core.read)}, coda ${gb(m.bytes.coda.read)} (LM head ${gb(m.bytes.coda.lmHead)})`, '', ''],
    [`${m.dtype} bytes read per token at r=4`, `${gb(bytesPerToken(m.bytes, 4))} = prelude + 4 x core + coda incl. LM head`, '', ''],
    [`${m.dtype} bandwidth bound at r=4`, `${sec(bound4)}/token = bytes / ${(bandwidth / 1e9).toFixed(1)} GB/s`, '', ''],
    decodeRow('decode r=4', 'r=4'),
    [`${m.dtype} decode r=4 / bandwidth bound`, ofBound ? `${(ofBound * 100).toFixed(0)}%` : 'n/a', ...target('>= 60%', ofBound === null ? null : ofBound >= 0.6)],
    [`${m.dtype} decode r=4 vs PyTorch reference`, vsRef ? `${vsRef.toFixed(2)}x` : `n/a (${reference.skipped ?? 'no reference'})`, ...target('>= 4x', vsRef === null ? null : vsRef >= 4)],
    decodeRow('decode r=32', 'r=32'),
    exitRow('decode r=32 kl-exit', 'exit kl < 1e-3, checked every iteration'),
    exitRow('decode r=32 kl-exit every 2', 'exit kl < 1e-3, checked every 2nd iteration'),
    exitRow('decode r=32 kl-exit every 4', 'exit kl < 1e-3, checked every 4th iteration'),
    exitRow('decode r=32 latent-diff', 'exit latent-diff < 0.03 (no decoding)'),
    decodeRow('decode r=32 speculative', 'r=32, speculative draft 4 / lookahead 4'),
    [`${m.dtype} prompt r=8 (${p.tokens} tokens)`, `${num(p.tokensPerSecond)} tokens/s`, '', ''],
    byThreads('decode r=4', 'decode r=4', (f) => f.secondsPerToken as number | null, 's/token', (a, b) => a / b),
    byThreads('prompt r=8', `prompt r=8 (${LONG_PROMPT} tokens)`, (f) => f.tokensPerSecond as number | null, 'tokens/s', (a, b) => b / a),
    byThreads('prompt r=4', `prompt r=4 (${LONG_PROMPT} tokens)`, (f) => f.tokensPerSecond as number | null, 'tokens/s', (a, b) => b / a),
    byThreads('ghost text r=4', 'ghost-text decode at level 1 as the server asks (r=4, beam width 4, KL exit 1e-3 checked every iteration)', (f) => f.secondsPerToken as number | null, 's/token', (a, b) => a / b),
    byThreads('ghost text r=4 greedy', 'ghost-text decode at level 1, greedy (beam width 1)', (f) => f.secondsPerToken as number | null, 's/token', (a, b) => a / b),
    byThreads('ghost text r=4 no exit', 'ghost-text decode at level 1, no exit (beam width 4)', (f) => f.secondsPerToken as number | null, 's/token', (a, b) => a / b),
    cancelRow('cancel prompt r=8', `prompt pass r=8, ${CANCEL_PROMPT} tokens`),
    cancelRow('cancel decode r=32', 'decode r=32, mid-token'),
    [`${m.dtype} resident, ${CONTEXT_TOKENS}-token context at r=8`, `${gib(contextPeak.bytes)} (${contextPeak.how})`, ...target('< 6 GiB', Number.isFinite(contextPeak.bytes) ? contextPeak.bytes < 6 * GiB : null)],
    [`${m.dtype} bench process peak RSS`, gib(e.process.peakRssBytes as number | null), '', ''],
  ];
  return rows;
}

/** The language server's rows: per level, the time to the first ghost text, how far the
 *  background prefill got, and an estimate of how much of the time was the rest of the prompt
 *  pass (from the engine's prompt tokens/s at the server's thread count). */
function lspRows(lsp: LspFigures, int4: DtypeResult | undefined): Row[] {
  if (lsp.skipped) return [['language server', `skipped: ${lsp.skipped}`, '', '']];
  const rows: Row[] = [['language server load (initialize -> ready)', `${sec(lsp.loadSeconds)}, beam width ${lsp.beamWidth}, ${lsp.threads} intra-op thread(s), device cpu`, '', '']];
  for (const l of lsp.levels) {
    const name = `language server level ${l.level} (${l.steps} iterations)`;
    const first = l.requests[0];
    const last = l.requests[l.requests.length - 1];
    const firstText = first ? (first.text ? `not empty` : 'EMPTY') : 'none';
    const shown = last?.text ? `${JSON.stringify(last.text)} (${last.tokens} tokens, ${num(last.meanIterations, 1)} iterations/token)` : 'none';
    const value = l.toGhostSeconds !== null
      ? `${sec(l.toGhostSeconds)} over ${l.requests.length} request(s), one typed character each; first answer ${firstText} after ${sec(first?.seconds)}; ghost text ${shown}`
      : `none within ${sec(last ? l.requests.reduce((a, r) => a + r.seconds, 0) : null)} (${l.requests.length} requests, all empty)`;
    rows.push([`${name}: typed -> first non-empty ghost text`, value, '', '']);
    // Random weights write bytes that post-processing cuts, so whether text shows says little at
    // this size: the answer's time, with the tokens it carried, is what a trained model would show.
    const answered = l.requests.find((r) => r.generated > 0);
    const answer = l.toAnswerSeconds !== null && answered
      ? `${sec(l.toAnswerSeconds)}: ${answered.generated} tokens generated in the request's ${sec(answered.seconds)} (typed ${JSON.stringify(answered.typed)})`
      : `none (${l.requests.length} requests)`;
    const ok = l.toAnswerSeconds !== null && l.toAnswerSeconds <= 5;
    rows.push([`${name}: typed -> first answer with generated tokens`, answer, ...((l.level === 1 ? ['<= 5 s', met(ok)] : ['', '']) as [string, string])]);
    if (l.next) {
      const n = l.next;
      rows.push([`${name}: the next keystroke (prompt cached)`, `${sec(n.seconds)}, ghost text ${n.text ? `${JSON.stringify(n.text)} (${n.tokens} tokens)` : 'EMPTY'}`, '', '']);
    }
    const serverThreads = lsp.threads ?? THREADS;
    const rate = int4 ? ((THREADS === serverThreads ? int4.engine : int4.threads[serverThreads])?.[`prompt r=${l.steps}`]?.tokensPerSecond as number | undefined) : undefined;
    const prefill = l.prefillBusySeconds === null ? `still running after ${sec(l.waitSeconds)}` : `finished within ${Math.max(1, Math.ceil(l.prefillBusySeconds))} s after it was sent`;
    let estimate = '';
    if (rate) {
      const done = l.prefillBusySeconds === null ? Math.min(l.promptTokens, Math.round(rate * l.cpuSecondsDuringWait)) : l.promptTokens;
      const left = l.promptTokens - done;
      estimate = `; estimated from ${rate.toFixed(2)} prompt tokens/s (${serverThreads} thread(s), r=${l.steps}): ${done} done in the wait, ${left} left = ${sec(left / rate)} of prompt pass after the first keystroke`;
    }
    rows.push([`${name}: prompt and background prefill`, `${l.promptTokens} prompt tokens (${l.chars} characters); background prefill ${prefill} (${l.cpuSecondsDuringWait.toFixed(0)} CPU s)${estimate}`, '', '']);
    rows.push([`${name}: server resident after (VmRSS / VmHWM)`, `${gib(l.rssBytes)} / ${gib(l.hwmBytes)}`, '', '']);
  }
  return rows;
}

function report(r: Results): string {
  const bw = r.bandwidth.best as number;
  const gen = r.checkpoint.generated;
  const rows: Row[] = [
    ...(r.reference.skipped === ONLY_LSP ? [] : [['checkpoint', gen ? `generated in ${sec(gen.seconds)}, peak RSS ${gib(gen.peakRssBytes)}, ${gb(gen.bytes)}` : `given: ${r.checkpoint.dir}`, '', ''] as Row]),
    ...(bw ? [['read bandwidth', `${(bw / 1e9).toFixed(1)} GB/s (numpy 1 thread ${num((r.bandwidth.numpy as number) / 1e9, 1)}, node 1 thread ${num((r.bandwidth.node1 as number) / 1e9, 1)}, node ${THREADS} threads ${num((r.bandwidth.nodeN as number) / 1e9, 1)})`, '', ''] as Row] : []),
    ['load average (1 min) by step', r.load.map(([step, l]) => `${step} ${l.toFixed(1)}`).join(', ') + ` (${os.cpus().length} cores)`, '', ''],
    ...r.models.flatMap((m) => modelRows(m, bw, r.reference)),
    ...lspRows(r.lsp, r.models.find((m) => m.dtype === 'int4')),
    ...(r.reference.skipped === ONLY_LSP ? [] : [['PyTorch reference fp32 decode r=4', typeof r.reference.secondsPerToken === 'number' ? `${sec(r.reference.secondsPerToken)}/token, peak RSS ${gib(r.reference.peakRssBytes as number)}` : `skipped: ${r.reference.skipped}`, '', ''] as Row]),
  ];
  const head = ['figure', 'value', 'target', 'met'];
  const w = head.map((h, i) => Math.max(...rows.map((row) => row[i].length), h.length));
  const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  return [line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

const ONLY_LSP = 'FULLSIZE_ONLY=lsp';

/** FULLSIZE_ONLY=lsp: the language server's figures on a built int4 folder, nothing else. */
async function onlyLsp(model: string | undefined, work: string, results: Results, step: (name: string) => void): Promise<void> {
  if (!model || !fs.existsSync(path.join(model, 'manifest.json'))) throw new Error('FULLSIZE_ONLY=lsp needs FULLSIZE_MODEL=<a built int4 folder>');
  results.reference = { skipped: ONLY_LSP };
  step('language server');
  results.lsp = await measureLsp(model, work, log);
  log(`language server: ${JSON.stringify(results.lsp)}`);
  step('end');
}

async function main() {
  const keep = process.env.FULLSIZE_KEEP === '1';
  const work = tmpDir('fullsize');
  const given = process.env.FULLSIZE_CHECKPOINT;
  const model = process.env.FULLSIZE_MODEL ? path.resolve(process.env.FULLSIZE_MODEL) : undefined;
  const results: Results = { checkpoint: { dir: given ?? path.join(work, 'checkpoint') }, models: [], bandwidth: {}, reference: {}, lsp: { skipped: 'no int4 model', levels: [] }, load: [] };
  const step = (name: string) => results.load.push([name, os.loadavg()[0]]);
  try {
    if (process.env.FULLSIZE_ONLY === 'lsp') {
      await onlyLsp(model, work, results, step);
      console.log(`huginn-0125 shape, random BF16 weights; ${model}; language server only\n`);
      console.log(report(results));
      return;
    }
    const builtModel = model !== undefined && fs.existsSync(path.join(model, 'manifest.json'));
    if (!given && !builtModel) results.checkpoint.generated = generateCheckpoint(results.checkpoint.dir);
    const dtypes: WeightDtype[] = process.env.FULLSIZE_FP32 === '1' ? ['int4', 'fp32'] : ['int4'];
    step('bandwidth');
    results.bandwidth = measureBandwidth();
    log(`bandwidth: ${JSON.stringify(results.bandwidth)}`);
    for (const dtype of dtypes) {
      // FULLSIZE_MODEL is the int4 model's folder, kept between runs
      const dir = dtype === 'int4' && model ? model : path.join(work, dtype);
      let build: DtypeResult['build'];
      if (dtype === 'int4' && builtModel) {
        const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { dtype?: string };
        if (manifest.dtype !== 'int4') throw new Error(`FULLSIZE_MODEL=${dir} is a ${manifest.dtype} model, not int4`);
        build = { seconds: NaN, peakRssBytes: null, weightsBytes: fs.statSync(path.join(dir, 'weights.bin')).size, given: dir };
      } else {
        step(`${dtype} build`);
        build = buildChild(results.checkpoint.dir, dir, dtype);
      }
      log(`${dtype} build: ${JSON.stringify(build)}`);
      const bytes = weightBytes(dir);
      log(`${dtype} weight bytes: ${JSON.stringify(bytes)}`);
      step(`${dtype} engine`);
      const names = [...ENGINE_MEASUREMENTS, ...(process.env.FULLSIZE_CONTEXT_MEASURE === '1' ? ['context memory r=8'] : [])];
      const engine = measureEngine(dir, THREADS, names);
      log(`${dtype} engine: ${JSON.stringify(engine)}`);
      const threads: DtypeResult['threads'] = {};
      for (const t of THREAD_COUNTS.filter((t) => t !== THREADS)) {
        step(`${dtype} ${t} thread(s)`);
        threads[t] = measureEngine(dir, t, THREAD_MEASUREMENTS);
        log(`${dtype} ${t} thread(s): ${JSON.stringify(threads[t])}`);
      }
      results.models.push({ dtype, build, bytes, engine, threads });
      if (dtype === 'int4') {
        step('language server');
        results.lsp = await measureLsp(dir, work, log);
        log(`language server: ${JSON.stringify(results.lsp)}`);
      }
      if (!keep && dir !== model) fs.rmSync(dir, { recursive: true, force: true });
    }
    step('reference');
    results.reference = measureReference(results.checkpoint.dir);
    step('end');
    log(`reference: ${JSON.stringify(results.reference)}`);
    console.log(`huginn-0125 shape, random BF16 weights; ${THREADS} threads unless a row says otherwise; greedy, zero state init; decode: ${DECODE_TOKENS} tokens after an 8-token prompt\n`);
    console.log(report(results));
    console.log(`\nbytes per token = prelude + r x core + coda (with the LM head): the weight bytes of each graph's initializers, less tables only gathered from (the embedding: one row per token)`);
    console.log(`random weights: adaptive exit converges as these weights do, not as a trained model's would; ghost text is random text`);
    if (keep) console.log(`\nkept: ${work}`);
    if (model) console.log(`\nint4 model: ${model} (FULLSIZE_MODEL; kept)`);
  } finally {
    if (!keep) fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
