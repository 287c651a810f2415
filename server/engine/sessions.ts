// onnxruntime sessions for the three graphs of a built model, on the provider the device decision
// picked (device.ts): WebGPU, CUDA or the CPU. onnxruntime-node does not fall back by itself
// (session creation throws when a GPU provider cannot be used), so a GPU failure is caught and the
// sessions are made on the CPU, with one line that says why.
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { DataType, Graph, WeightsFile } from '../../native/builder/onnxGraph';
import { LoadedManifest } from '../../native/model/manifest';
import { decideDevice, DeviceDecision, DevicePreference, fallbackLine, ortMessage, Provider } from './device';

export type { DevicePreference, Provider } from './device';

export type GraphName = 'prelude' | 'core' | 'coda';
/** The model's graphs and the device-only helpers. */
type RunnableGraph = GraphName | 'readback' | 'kvFit' | 'kvRead';

/** Bytes that crossed between the host and a GPU in graph runs (inputs fed from JS memory, outputs
 *  returned to it), counted on a GPU provider only. */
export interface Transfers {
  toDevice: number;
  toHost: number;
  /** kvFit runs (a device copy trimmed or extended on the GPU). */
  kvFits: number;
  /** kvRead runs (rows of a device copy read back into the host cache). */
  kvReads: number;
}

export interface ModelSessions {
  prelude: ort.InferenceSession;
  core: ort.InferenceSession;
  coda: ort.InferenceSession;
  /** Each graph's file name (for error messages). */
  files: Record<GraphName, string>;
  /** Execution provider actually used. */
  provider: Provider;
  /** The WebGPU adapter's name, on webgpu. */
  adapter?: string;
  /** Why the model runs on the CPU although a GPU was allowed (one line). */
  fallbackReason?: string;
  /**
   * The latent state and the injection stay in GPU memory across a token's core iterations: the
   * prelude's `injection` and the core's `state_out` are GPU-buffer outputs, fed to the next runs
   * as they are, and `readback` copies one to the host when it is needed (onnxruntime-node's
   * getData() on a GPU-buffer tensor aborts the process; an identity graph with a CPU output is
   * the safe way back).
   */
  deviceState: boolean;
  readback?: ort.InferenceSession;
  /**
   * The KV cache stays on the GPU too: every attention layer's `present_*` output (its whole keys
   * and values) is a GPU-buffer output, kept as the layer's device copy and fed as the next run's
   * past; the `new_*` outputs stay there too (and are freed at once). `kvFit` trims a device copy
   * and appends rows (from the host or from another copy) on the GPU, and `kvRead` reads rows
   * back only where a host path needs them (KvCache tracks which rows each side holds). On the
   * CPU the `present_*` outputs are never fetched.
   */
  deviceKv: boolean;
  kvFit?: ort.InferenceSession;
  kvRead?: ort.InferenceSession;
  /** The outputs each graph run fetches. */
  fetches: Record<GraphName, string[]>;
  transfers: Transfers;
  /** Graph runs so far, and the one that fails (the test hook FAIL_RUN_ENV only). */
  runs: number;
  failRunAt?: number;
}

export interface SessionOptions {
  device?: DevicePreference;
  /** The device decision, when already made (EngineClient makes it once per process); otherwise made here. */
  decision?: DeviceDecision;
  /** Intra-op threads; 0 lets onnxruntime decide. */
  threads?: number;
  /** On WebGPU, keep the latent state on the GPU across a token's iterations (default true; false
   *  sends it to the host after every run, as on the CPU: the tests compare the two). */
  deviceState?: boolean;
  /** On WebGPU with the state there, keep the KV cache on the GPU too (default true; false feeds
   *  the past from the host every run: the tests and bench:gpu compare the two). */
  deviceKv?: boolean;
}

/**
 * Test hook: a provider named here (comma-separated: webgpu, cuda) fails at session creation as a
 * GPU that cannot be used would, so the tests see the CPU fallback. Nothing else reads it.
 */
export const FAIL_SESSIONS_ENV = 'RECURRENT_COPILOT_TEST_FAIL_SESSIONS';

/**
 * Test hook: `<provider>:<n>` makes the n-th graph run on that provider (counted per set of
 * sessions) fail as a lost device does, so the tests see the engine move to the CPU mid-request.
 */
export const FAIL_RUN_ENV = 'RECURRENT_COPILOT_TEST_FAIL_RUN';

/** The run FAIL_RUN_ENV makes fail on `provider`, read once when the sessions are made. */
function failRunAt(provider: Provider): number | undefined {
  const m = /^(\w+):(\d+)$/.exec(process.env[FAIL_RUN_ENV] ?? '');
  return m && m[1] === provider ? Number(m[2]) : undefined;
}

/** The engine's session options on `provider` (exported for the tests' placement check). */
export function sessionOptions(provider: Provider, threads: number): ort.InferenceSession.SessionOptions {
  return {
    // 3 = errors only. A CUDA attempt logs nothing: when its libraries cannot be loaded the error is
    // reported in the fallback line. (WebGPU was probed in a child already; its run-time errors,
    // such as a lost device, are worth their log line.)
    logSeverityLevel: provider === 'cuda' ? 4 : 3,
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    // Spinning threads steal the core that the language server and the editor need.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

/** On the GPU, the outputs that stay there: the next runs take them as they are. The logits go
 *  to the host (sampling, exit rules). With the KV cache there, a run's `new_*` rows stay there
 *  too, unused (its `present_*` hold them): they are fetched and freed at once, because
 *  onnxruntime-node 1.30 applies these locations by the position in the fetch list, not by name,
 *  so every output must be fetched for each to get its own location. */
function deviceOutputs(m: LoadedManifest, graph: GraphName, kv: boolean): Record<string, ort.Tensor.DataLocation> {
  const c = m.parsedConfig;
  const layers = { prelude: c.nLayersInPrelude, core: c.nLayersInRecurrentBlock, coda: c.nLayersInCoda }[graph];
  const out: Record<string, ort.Tensor.DataLocation> = graph === 'prelude' ? { injection: 'gpu-buffer' } : graph === 'core' ? { state_out: 'gpu-buffer' } : {};
  if (kv) for (let i = 0; i < layers; i++) out[`present_key.${i}`] = out[`present_value.${i}`] = out[`new_key.${i}`] = out[`new_value.${i}`] = 'gpu-buffer';
  return out;
}

const isPresent = (name: string) => name.startsWith('present_');

/** Builds from builder version 4 on output each layer's whole keys and values. */
function hasPresentOutputs(m: LoadedManifest): boolean {
  const version = Number(/\/(\d+)$/.exec(m.builder)?.[1] ?? 0);
  return version >= 4;
}

/** y = x for a latent [S, h]: a GPU-buffer input read back as a CPU output. */
function readbackGraph(): Uint8Array {
  const g = new Graph('readback', new WeightsFile('unused.bin'));
  const x = g.input('x', DataType.FLOAT, ['S', 'h']);
  g.output('y', DataType.FLOAT, ['S', 'h'], x);
  return g.encode();
}

/** A layer's device copy fitted on the GPU: the first `keep` rows of `key`/`value`, then rows
 *  `src_from`..`src_to` of `src_*` (the host's rows after them, or another layer's copy), as
 *  GPU-buffer outputs. */
function kvFitGraph(): Uint8Array {
  const g = new Graph('kvfit', new WeightsFile('unused.bin'));
  const keep = g.input('keep', DataType.INT64, [1]);
  const from = g.input('src_from', DataType.INT64, [1]);
  const to = g.input('src_to', DataType.INT64, [1]);
  const axis = g.constInt64([0]);
  for (const part of ['key', 'value']) {
    const rows = g.input(part, DataType.FLOAT, ['P', 'H', 'D']);
    const src = g.input(`src_${part}`, DataType.FLOAT, ['Q', 'H', 'D']);
    const kept = g.op('Slice', [rows, axis, keep, axis]);
    const added = g.op('Slice', [src, from, to, axis]);
    g.output(`${part}_out`, DataType.FLOAT, ['R', 'H', 'D'], g.op('Concat', [kept, added], { axis: 0 }));
  }
  return g.encode();
}

/** Rows `from`..`to` of a device copy, read back (CPU outputs). */
function kvReadGraph(): Uint8Array {
  const g = new Graph('kvread', new WeightsFile('unused.bin'));
  const from = g.input('from', DataType.INT64, [1]);
  const to = g.input('to', DataType.INT64, [1]);
  for (const part of ['key', 'value']) {
    const rows = g.input(part, DataType.FLOAT, ['P', 'H', 'D']);
    g.output(`${part}_out`, DataType.FLOAT, ['R', 'H', 'D'], g.op('Slice', [rows, from, to, g.constInt64([0])]));
  }
  return g.encode();
}

/** The device-only helper graphs, by name (exported for the tests' placement check). */
export const HELPER_GRAPHS = { readback: readbackGraph, kvFit: kvFitGraph, kvRead: kvReadGraph };

async function createAll(m: LoadedManifest, opts: ort.InferenceSession.SessionOptions, device: { state: boolean; kv: boolean } = { state: false, kv: false }) {
  // allSettled, not all: when one graph fails, the others must finish (and be released) before
  // the error propagates. A worker terminated while onnxruntime still completes a session in the
  // background aborts the whole process (the binding throws into a dead N-API environment).
  const graphs: GraphName[] = ['prelude', 'core', 'coda'];
  const creating = graphs.map((g) => ort.InferenceSession.create(m.paths[g], device.state ? { ...opts, preferredOutputLocation: deviceOutputs(m, g, device.kv) } : opts));
  creating.push(device.state ? ort.InferenceSession.create(readbackGraph(), opts) : Promise.resolve(undefined as unknown as ort.InferenceSession));
  if (device.kv) {
    creating.push(ort.InferenceSession.create(kvFitGraph(), { ...opts, preferredOutputLocation: { key_out: 'gpu-buffer', value_out: 'gpu-buffer' } }));
    creating.push(ort.InferenceSession.create(kvReadGraph(), opts));
  }
  const settled = await Promise.allSettled(creating);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(settled.map((r) => (r.status === 'fulfilled' ? r.value?.release().catch(() => undefined) : undefined)));
    throw failed.reason;
  }
  const [prelude, core, coda, readback, kvFit, kvRead] = settled.map((r) => (r as PromiseFulfilledResult<ort.InferenceSession>).value);
  const files = { prelude: path.basename(m.paths.prelude), core: path.basename(m.paths.core), coda: path.basename(m.paths.coda) };
  // With the KV cache on the GPU every output is fetched (see deviceOutputs); elsewhere a run's new
  // rows come back (new_*) and present_* are not fetched. Builds before builder version 4 have no
  // present_* outputs.
  const outputsOf = (s: ort.InferenceSession) => s.outputNames.filter((n) => device.kv || !isPresent(n));
  const fetches = { prelude: outputsOf(prelude), core: outputsOf(core), coda: outputsOf(coda) };
  return { prelude, core, coda, files, deviceState: device.state, readback, deviceKv: device.kv, kvFit, kvRead, fetches, transfers: { toDevice: 0, toHost: 0, kvFits: 0, kvReads: 0 }, runs: 0 };
}

/** `state float32[1,5,64]` for each feed. */
function describeFeeds(feeds: Record<string, ort.Tensor>): string {
  return Object.entries(feeds)
    .map(([name, t]) => `${name} ${t.type}[${t.dims.join(',')}]`)
    .join(', ');
}

/** Runs one graph. onnxruntime's own error names neither the graph nor what it was fed; this one
 *  does: `core.onnx run failed: <message>; inputs: state float32[1,64], ...`. */
export async function runGraph(sessions: ModelSessions, graph: RunnableGraph, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
  try {
    const session = sessions[graph];
    if (!session) throw new Error(`no ${graph} session: the ${graph === 'readback' ? 'state' : 'KV cache'} is not kept on the GPU`);
    const onDevice = sessions.provider !== 'cpu';
    if (sessions.failRunAt !== undefined && ++sessions.runs === sessions.failRunAt) {
      throw new Error(`Device lost (${FAIL_RUN_ENV}=${sessions.provider}:${sessions.failRunAt})`);
    }
    if (onDevice) for (const t of Object.values(feeds)) if (t.location === 'cpu') sessions.transfers.toDevice += byteSize(t);
    const out = graph === 'prelude' || graph === 'core' || graph === 'coda' ? await session.run(feeds, sessions.fetches[graph]) : await session.run(feeds);
    if (onDevice) for (const t of Object.values(out)) if (t.location === 'cpu') sessions.transfers.toHost += byteSize(t);
    if (graph === 'kvFit') sessions.transfers.kvFits++;
    if (graph === 'kvRead') sessions.transfers.kvReads++;
    return out;
  } catch (e) {
    // onnxruntime's messages can span lines; the error stays one line (logs, the status bar).
    const message = String((e as Error)?.message ?? e).replace(/\s*\n\s*/g, ' ');
    const helper = { readback: 'the read-back graph', kvFit: 'the KV-fit graph', kvRead: 'the KV read-back graph' } as Record<string, string>;
    const file = helper[graph] ?? sessions.files[graph as GraphName];
    throw new GraphRunError(`${file} run failed: ${message}`, describeFeeds(feeds), e);
  }
}

/** A graph run's failure: `failure` names the graph and onnxruntime's message (what a status line
 *  says); the message adds what the graph was fed (what a log says). */
export class GraphRunError extends Error {
  constructor(
    readonly failure: string,
    inputs: string,
    cause: unknown,
  ) {
    super(`${failure}; inputs: ${inputs}`, { cause });
  }
}

/** A CPU tensor's data size in bytes. */
function byteSize(t: ort.Tensor): number {
  const data = t.data as ArrayBufferView | string[];
  return ArrayBuffer.isView(data) ? data.byteLength : 0;
}

export class ModelLoadError extends Error {}

export const PROVIDER_NAMES: Record<Provider, string> = { cpu: 'CPU', webgpu: 'WebGPU', cuda: 'CUDA' };

export async function createSessions(m: LoadedManifest, so: SessionOptions = {}): Promise<ModelSessions> {
  const decision = so.decision ?? (await decideDevice(so.device ?? 'auto'));
  const threads = so.threads ?? 0;
  let fallbackReason = decision.fallbackReason;
  if (decision.provider !== 'cpu') {
    const provider = decision.provider;
    try {
      if ((process.env[FAIL_SESSIONS_ENV] ?? '').split(',').includes(provider)) {
        throw new Error(`session creation refused (${FAIL_SESSIONS_ENV}=${process.env[FAIL_SESSIONS_ENV]})`);
      }
      const state = provider === 'webgpu' && so.deviceState !== false;
      const kv = state && so.deviceKv !== false && hasPresentOutputs(m);
      const sessions = await createAll(m, sessionOptions(provider, threads), { state, kv });
      return { ...sessions, provider, adapter: decision.adapter?.name, failRunAt: failRunAt(provider) };
    } catch (e) {
      fallbackReason = fallbackLine([...(decision.passedOver ?? []), `${PROVIDER_NAMES[provider]} unavailable: ${ortMessage((e as Error).message)}`]);
    }
  }
  try {
    return { ...(await createAll(m, sessionOptions('cpu', threads))), provider: 'cpu', fallbackReason };
  } catch (e) {
    throw new ModelLoadError(`cannot load the model graphs in ${m.dir}: ${firstLine((e as Error).message)}`);
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0].slice(0, 300);
}
