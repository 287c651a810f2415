// npm run bench:fullsize — the engine at huginn-0125's real size (3.56B parameters, random
// weights) on this machine: checkpoint generation, the int4 build, load time, resident memory,
// decode seconds per token at r=4 and r=32 (plain, adaptive exit, self-speculation), prompt
// tokens per second, the memory-bandwidth bound of decoding, and the PyTorch reference.
//
//   FULLSIZE_CHECKPOINT=DIR  use this checkpoint instead of generating one (7.1 GB, ~2 minutes)
//   FULLSIZE_KEEP=1          keep the generated checkpoint and the built models
//   FULLSIZE_FP32=1          also build and measure fp32 (14.3 GB of weights, ~15 GiB resident)
//   FULLSIZE_REFERENCE=1|0   run the PyTorch reference (fp32, ~16 GiB) or not; by default it runs
//                            when MemAvailable allows
//   FULLSIZE_CONTEXT_MEASURE=1  measure the 2,000-token context for real (minutes) instead of
//                            estimating it from the 100-token prompt
//   FULLSIZE_THREADS=N       intra-op threads of the engine and the reference (default: cores, max 2)
//   FULLSIZE_DECODE_TOKENS=N tokens decoded per decode figure (default 4)
//
// Each step is one function (generateCheckpoint, buildChild, weightBytes, measureBandwidth,
// measureEngine, measureReference) returning figures; report() turns them into the table. More
// engine figures go in fullsizeBenchRun.ts's MEASUREMENTS; figures of other processes (the
// language server) are one more step here and one more row in report(). No figure is asserted.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { onnx } from 'onnx-proto';
import { WeightDtype } from '../../native/model/manifest';
import { PYTHON, REPO, tmpDir } from '../helpers/reference';
import { CONTEXT_TOKENS, Figures, LONG_PROMPT } from './fullsizeBenchRun';

const RUN = path.join(__dirname, 'fullsizeBenchRun.js');
const GiB = 2 ** 30;
const THREADS = Number(process.env.FULLSIZE_THREADS ?? Math.min(2, os.cpus().length));
const DECODE_TOKENS = Number(process.env.FULLSIZE_DECODE_TOKENS ?? 4);
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

function memAvailableBytes(): number {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
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

/** The engine's figures from one child process (fullsizeBenchRun.ts measure), by measurement name. */
function measureEngine(modelDir: string): Record<string, Figures> {
  const names = ['decode r=4', 'decode r=32', 'decode r=32 kl-exit', 'decode r=32 speculative', 'prompt r=8'];
  if (process.env.FULLSIZE_CONTEXT_MEASURE === '1') names.push('context memory r=8');
  log(`measuring ${modelDir}: ${names.join(', ')}`);
  const r = timed(process.execPath, [RUN, 'measure', modelDir, String(THREADS), String(DECODE_TOKENS), ...names]);
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
  const available = memAvailableBytes();
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
  build: Timed & { weightsBytes: number };
  bytes: ReturnType<typeof weightBytes>;
  engine: Record<string, Figures>;
}

interface Results {
  checkpoint: { dir: string; generated?: Timed & { bytes: number } };
  models: DtypeResult[];
  bandwidth: Figures;
  reference: Figures;
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
  // the targets are for the int4 model
  const target = (t: string, ok: boolean | null): [string, string] => (m.dtype === 'int4' ? [t, met(ok)] : ['', '']);
  const rows: Row[] = [
    [`${m.dtype} build`, `${sec(m.build.seconds, 3)}, peak RSS ${gib(m.build.peakRssBytes)}, weights.bin ${gb(m.build.weightsBytes)}`, '', ''],
    [`${m.dtype} load (EngineClient.open)`, `${sec(load.seconds as number)}, ${load.threads} threads, ${load.provider}`, '', ''],
    [`${m.dtype} resident after load (VmRSS / VmHWM)`, `${gib(load.rssBytes as number)} / ${gib(load.hwmBytes as number)}`, '', ''],
    [`${m.dtype} weight bytes per graph run`, `prelude ${gb(m.bytes.prelude.read)}, core ${gb(m.bytes.core.read)}, coda ${gb(m.bytes.coda.read)} (LM head ${gb(m.bytes.coda.lmHead)})`, '', ''],
    [`${m.dtype} bytes read per token at r=4`, `${gb(bytesPerToken(m.bytes, 4))} = prelude + 4 x core + coda incl. LM head`, '', ''],
    [`${m.dtype} bandwidth bound at r=4`, `${sec(bound4)}/token = bytes / ${(bandwidth / 1e9).toFixed(1)} GB/s`, '', ''],
    decodeRow('decode r=4', 'r=4'),
    [`${m.dtype} decode r=4 / bandwidth bound`, ofBound ? `${(ofBound * 100).toFixed(0)}%` : 'n/a', ...target('>= 60%', ofBound === null ? null : ofBound >= 0.6)],
    [`${m.dtype} decode r=4 vs PyTorch reference`, vsRef ? `${vsRef.toFixed(2)}x` : `n/a (${reference.skipped ?? 'no reference'})`, ...target('>= 4x', vsRef === null ? null : vsRef >= 4)],
    decodeRow('decode r=32', 'r=32'),
    decodeRow('decode r=32 kl-exit', 'r=32, exit kl < 1e-3'),
    decodeRow('decode r=32 speculative', 'r=32, speculative draft 4 / lookahead 4'),
    [`${m.dtype} prompt r=8 (${p.tokens} tokens)`, `${num(p.tokensPerSecond)} tokens/s`, '', ''],
    [`${m.dtype} resident, ${CONTEXT_TOKENS}-token context at r=8`, `${gib(contextPeak.bytes)} (${contextPeak.how})`, ...target('< 6 GiB', Number.isFinite(contextPeak.bytes) ? contextPeak.bytes < 6 * GiB : null)],
    [`${m.dtype} bench process peak RSS`, gib(e.process.peakRssBytes as number | null), '', ''],
  ];
  return rows;
}

function report(r: Results): string {
  const bw = r.bandwidth.best as number;
  const gen = r.checkpoint.generated;
  const rows: Row[] = [
    ['checkpoint', gen ? `generated in ${sec(gen.seconds)}, peak RSS ${gib(gen.peakRssBytes)}, ${gb(gen.bytes)}` : `given: ${r.checkpoint.dir}`, '', ''],
    ['read bandwidth', `${(bw / 1e9).toFixed(1)} GB/s (numpy 1 thread ${num((r.bandwidth.numpy as number) / 1e9, 1)}, node 1 thread ${num((r.bandwidth.node1 as number) / 1e9, 1)}, node ${THREADS} threads ${num((r.bandwidth.nodeN as number) / 1e9, 1)})`, '', ''],
    ['load average (1 min) by step', r.load.map(([step, l]) => `${step} ${l.toFixed(1)}`).join(', ') + ` (${os.cpus().length} cores)`, '', ''],
    ...r.models.flatMap((m) => modelRows(m, bw, r.reference)),
    ['PyTorch reference fp32 decode r=4', typeof r.reference.secondsPerToken === 'number' ? `${sec(r.reference.secondsPerToken)}/token, peak RSS ${gib(r.reference.peakRssBytes as number)}` : `skipped: ${r.reference.skipped}`, '', ''],
  ];
  const head = ['figure', 'value', 'target', 'met'];
  const w = head.map((h, i) => Math.max(...rows.map((row) => row[i].length), h.length));
  const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  return [line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function main() {
  const keep = process.env.FULLSIZE_KEEP === '1';
  const work = tmpDir('fullsize');
  const given = process.env.FULLSIZE_CHECKPOINT;
  const results: Results = { checkpoint: { dir: given ?? path.join(work, 'checkpoint') }, models: [], bandwidth: {}, reference: {}, load: [] };
  const step = (name: string) => results.load.push([name, os.loadavg()[0]]);
  try {
    if (!given) results.checkpoint.generated = generateCheckpoint(results.checkpoint.dir);
    const dtypes: WeightDtype[] = process.env.FULLSIZE_FP32 === '1' ? ['int4', 'fp32'] : ['int4'];
    step('bandwidth');
    results.bandwidth = measureBandwidth();
    log(`bandwidth: ${JSON.stringify(results.bandwidth)}`);
    for (const dtype of dtypes) {
      const dir = path.join(work, dtype);
      step(`${dtype} build`);
      const build = buildChild(results.checkpoint.dir, dir, dtype);
      log(`${dtype} build: ${JSON.stringify(build)}`);
      const bytes = weightBytes(dir);
      log(`${dtype} weight bytes: ${JSON.stringify(bytes)}`);
      step(`${dtype} engine`);
      const engine = measureEngine(dir);
      log(`${dtype} engine: ${JSON.stringify(engine)}`);
      results.models.push({ dtype, build, bytes, engine });
      if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    }
    step('reference');
    results.reference = measureReference(results.checkpoint.dir);
    step('end');
    log(`reference: ${JSON.stringify(results.reference)}`);
    console.log(`huginn-0125 shape, random BF16 weights; ${THREADS} threads; greedy, zero state init; decode: ${DECODE_TOKENS} tokens after an 8-token prompt\n`);
    console.log(report(results));
    console.log(`\nbytes per token = prelude + r x core + coda (with the LM head): the weight bytes of each graph's initializers, less tables only gathered from (the embedding: one row per token)`);
    if (keep) console.log(`\nkept: ${work}`);
  } finally {
    if (!keep) fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
