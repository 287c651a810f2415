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
}

/**
 * Test hook: a provider named here (comma-separated: webgpu, cuda) fails at session creation as a
 * GPU that cannot be used would, so the tests see the CPU fallback. Nothing else reads it.
 */
export const FAIL_SESSIONS_ENV = 'RECURRENT_COPILOT_TEST_FAIL_SESSIONS';

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

/** On the GPU, the outputs that stay there: the next runs take them as they are. */
const DEVICE_OUTPUTS: Record<GraphName, Record<string, ort.Tensor.DataLocation>> = {
  prelude: { injection: 'gpu-buffer' },
  core: { state_out: 'gpu-buffer' },
  coda: {}, // logits and the new keys and values go to the host
};

/** y = x for a latent [S, h]: a GPU-buffer input read back as a CPU output. */
function readbackGraph(): Uint8Array {
  const g = new Graph('readback', new WeightsFile('unused.bin'));
  const x = g.input('x', DataType.FLOAT, ['S', 'h']);
  g.output('y', DataType.FLOAT, ['S', 'h'], x);
  return g.encode();
}

async function createAll(m: LoadedManifest, opts: ort.InferenceSession.SessionOptions, deviceState = false) {
  // allSettled, not all: when one graph fails, the others must finish (and be released) before
  // the error propagates. A worker terminated while onnxruntime still completes a session in the
  // background aborts the whole process (the binding throws into a dead N-API environment).
  const graphs: GraphName[] = ['prelude', 'core', 'coda'];
  const creating = graphs.map((g) => ort.InferenceSession.create(m.paths[g], deviceState ? { ...opts, preferredOutputLocation: DEVICE_OUTPUTS[g] } : opts));
  if (deviceState) creating.push(ort.InferenceSession.create(readbackGraph(), opts));
  const settled = await Promise.allSettled(creating);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(settled.map((r) => (r.status === 'fulfilled' ? r.value.release().catch(() => undefined) : undefined)));
    throw failed.reason;
  }
  const [prelude, core, coda, readback] = settled.map((r) => (r as PromiseFulfilledResult<ort.InferenceSession>).value);
  const files = { prelude: path.basename(m.paths.prelude), core: path.basename(m.paths.core), coda: path.basename(m.paths.coda) };
  return { prelude, core, coda, files, deviceState, readback };
}

/** `state float32[1,5,64]` for each feed. */
function describeFeeds(feeds: Record<string, ort.Tensor>): string {
  return Object.entries(feeds)
    .map(([name, t]) => `${name} ${t.type}[${t.dims.join(',')}]`)
    .join(', ');
}

/** Runs one graph. onnxruntime's own error names neither the graph nor what it was fed; this one
 *  does: `core.onnx run failed: <message>; inputs: state float32[1,64], ...`. */
export async function runGraph(sessions: ModelSessions, graph: GraphName | 'readback', feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
  try {
    const session = sessions[graph];
    if (!session) throw new Error('no read-back session: the state is not kept on the GPU');
    return await session.run(feeds);
  } catch (e) {
    // onnxruntime's messages can span lines; the error stays one line (logs, the status bar).
    const message = String((e as Error)?.message ?? e).replace(/\s*\n\s*/g, ' ');
    const file = graph === 'readback' ? 'the read-back graph' : sessions.files[graph];
    throw new Error(`${file} run failed: ${message}; inputs: ${describeFeeds(feeds)}`, { cause: e });
  }
}

export class ModelLoadError extends Error {}

const PROVIDER_NAMES: Record<Provider, string> = { cpu: 'CPU', webgpu: 'WebGPU', cuda: 'CUDA' };

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
      const sessions = await createAll(m, sessionOptions(provider, threads), provider === 'webgpu' && so.deviceState !== false);
      return { ...sessions, provider, adapter: decision.adapter?.name };
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
