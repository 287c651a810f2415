// onnxruntime sessions for the three graphs of a built model. A GPU provider is tried first when
// allowed; onnxruntime-node does not fall back by itself (session creation throws when the CUDA
// library is missing), so we catch and retry on CPU, and report which provider runs the model.
import * as fs from 'fs';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { LoadedManifest } from '../../native/model/manifest';

export type DevicePreference = 'auto' | 'cuda' | 'cpu';

export type GraphName = 'prelude' | 'core' | 'coda';

export interface ModelSessions {
  prelude: ort.InferenceSession;
  core: ort.InferenceSession;
  coda: ort.InferenceSession;
  /** Each graph's file name (for error messages). */
  files: Record<GraphName, string>;
  /** Execution provider actually used. */
  provider: 'cuda' | 'cpu';
  /** Why a GPU was not used, when one was allowed. */
  fallbackReason?: string;
}

export interface SessionOptions {
  device?: DevicePreference;
  /** Intra-op threads; 0 lets onnxruntime decide. */
  threads?: number;
}

function options(providers: string[], threads: number, quiet = false): ort.InferenceSession.SessionOptions {
  return {
    // 3 = errors only; a CUDA probe that is allowed to fail logs nothing.
    logSeverityLevel: quiet ? 4 : 3,
    executionProviders: providers,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    // Spinning threads steal the core that the language server and the editor need.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

async function createAll(m: LoadedManifest, opts: ort.InferenceSession.SessionOptions) {
  // allSettled, not all: when one graph fails, the others must finish (and be released) before
  // the error propagates. A worker terminated while onnxruntime still completes a session in the
  // background aborts the whole process (the binding throws into a dead N-API environment).
  const settled = await Promise.allSettled([m.paths.prelude, m.paths.core, m.paths.coda].map((p) => ort.InferenceSession.create(p, opts)));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(settled.map((r) => (r.status === 'fulfilled' ? r.value.release().catch(() => undefined) : undefined)));
    throw failed.reason;
  }
  const [prelude, core, coda] = settled.map((r) => (r as PromiseFulfilledResult<ort.InferenceSession>).value);
  const files = { prelude: path.basename(m.paths.prelude), core: path.basename(m.paths.core), coda: path.basename(m.paths.coda) };
  return { prelude, core, coda, files };
}

/** `state float32[1,5,64]` for each feed. */
function describeFeeds(feeds: Record<string, ort.Tensor>): string {
  return Object.entries(feeds)
    .map(([name, t]) => `${name} ${t.type}[${t.dims.join(',')}]`)
    .join(', ');
}

/** Runs one graph. onnxruntime's own error names neither the graph nor what it was fed; this one
 *  does: `core.onnx run failed: <message>; inputs: state float32[1,64], ...`. */
export async function runGraph(sessions: ModelSessions, graph: GraphName, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
  try {
    return await sessions[graph].run(feeds);
  } catch (e) {
    // onnxruntime's messages can span lines; the error stays one line (logs, the status bar).
    const message = String((e as Error)?.message ?? e).replace(/\s*\n\s*/g, ' ');
    throw new Error(`${sessions.files[graph]} run failed: ${message}; inputs: ${describeFeeds(feeds)}`, { cause: e });
  }
}

export class ModelLoadError extends Error {}

export async function createSessions(m: LoadedManifest, so: SessionOptions = {}): Promise<ModelSessions> {
  const device = so.device ?? 'auto';
  const threads = so.threads ?? 0;
  let fallbackReason: string | undefined;
  if (device !== 'cpu') {
    const missing = cudaProviderMissing();
    if (missing) {
      fallbackReason = missing;
    } else {
      try {
        return { ...(await createAll(m, options(['cuda'], threads, true))), provider: 'cuda' };
      } catch (e) {
        fallbackReason = `CUDA unavailable: ${firstLine((e as Error).message)}`;
      }
    }
  }
  try {
    return { ...(await createAll(m, options(['cpu'], threads))), provider: 'cpu', fallbackReason };
  } catch (e) {
    throw new ModelLoadError(`cannot load the model graphs in ${m.dir}: ${firstLine((e as Error).message)}`);
  }
}

/** Where onnxruntime-node keeps the CUDA provider library, if the package can be found. */
function cudaProviderPath(): { dir: string; lib: string } | undefined {
  let binding: string;
  try {
    binding = path.dirname(require.resolve('onnxruntime-node/package.json'));
  } catch {
    return undefined;
  }
  const dir = path.join(binding, 'bin', 'napi-v6', process.platform, process.arch);
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  return { dir, lib };
}

/** The npm package ships the CUDA provider only when its install script could download it. */
function cudaProviderMissing(): string | undefined {
  const p = cudaProviderPath();
  return p && fs.existsSync(p.dir) && !fs.existsSync(path.join(p.dir, p.lib)) ? `CUDA provider library ${p.lib} is not installed` : undefined;
}

/**
 * Whether sessions for `device` will try a GPU provider that is installed here (CUDA is the only
 * one today). It cannot tell whether a GPU answers: session creation may still fall back to the CPU.
 */
export function gpuProviderAvailable(device: DevicePreference): boolean {
  const p = cudaProviderPath();
  return device !== 'cpu' && p !== undefined && fs.existsSync(path.join(p.dir, p.lib));
}

function firstLine(s: string): string {
  return s.split('\n')[0].slice(0, 300);
}
