// The engine behind a worker thread, with a promise API and cancellation that takes effect
// between two model runs (a shared-memory flag the worker polls), even while the worker is busy.
import * as path from 'path';
import { Worker } from 'worker_threads';
import { CancelledError, SharedCancelFlag } from './cancel';
import { decideDevice } from './device';
import { EngineInfo, EngineOptions, ScoreRequest, TextGenerateRequest } from './engine';
import { GenerateResult } from './generate';
import { TokenEvent } from './stopping';
import { ErrorKind, FromWorker, ToWorker } from './workerProtocol';

export class EngineError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  resolve: (v: any) => void;
  reject: (e: Error) => void;
  onToken?: (e: TokenEvent) => void;
}

export interface RequestHandle<T> {
  result: Promise<T>;
  cancel(): void;
}

export class EngineClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private info_: EngineInfo | undefined;
  private opened: Promise<EngineInfo>;
  private exited: Error | undefined;

  private constructor(modelDir: string, options: EngineOptions, cancelOpen: SharedCancelFlag) {
    // Callbacks and the signal stay on this thread (they cannot be cloned to the worker).
    const { log, onBuildProgress, onMoved, signal: _signal, ...rest } = options;
    this.worker = new Worker(path.join(__dirname, 'engineWorker.js'));
    this.opened = new Promise((resolve, reject) => {
      this.worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'opened') {
          this.info_ = msg.info;
          resolve(msg.info);
        } else if (msg.type === 'open-failed') reject(new EngineError(msg.kind, msg.message));
        else if (msg.type === 'build-progress') onBuildProgress?.(msg.progress);
        else if (msg.type === 'log') log?.(msg.line);
        else if (msg.type === 'moved') {
          this.info_ = msg.info;
          onMoved?.(msg.info);
        }
        else this.dispatch(msg);
      });
      this.worker.on('error', (e) => this.fail(e, reject));
      this.worker.on('exit', (code) => this.fail(new Error(`engine worker exited (code ${code})`), reject));
    });
    this.post({ type: 'open', modelDir, options: rest, cancel: cancelOpen.buffer });
  }

  /**
   * Starts a worker and opens the model in it, building a checkpoint first if needed (reported
   * through `onBuildProgress`). Aborting `signal` stops the build: open then rejects with an
   * EngineError of kind 'cancelled'; once the model is built, it no longer applies.
   */
  static async open(modelDir: string, options: EngineOptions = {}): Promise<EngineClient> {
    // The device is decided on this thread: its WebGPU probe runs once per process, not per worker.
    const decision = options.decision ?? (await decideDevice(options.device ?? 'auto'));
    const cancel = new SharedCancelFlag();
    const client = new EngineClient(modelDir, { ...options, decision }, cancel);
    const onAbort = () => cancel.cancel();
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await client.opened;
    } catch (e) {
      await client.worker.terminate();
      throw e;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    return client;
  }

  get info(): EngineInfo {
    return this.info_!;
  }

  /** False once the worker has exited (crashed or closed): open a new client then. */
  get alive(): boolean {
    return this.exited === undefined;
  }

  /** Kills the worker at once (a stuck or crashed engine); pending requests fail. */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  private post(msg: ToWorker): void {
    this.worker.postMessage(msg);
  }

  private fail(e: Error, rejectOpen: (e: Error) => void): void {
    if (this.exited) return;
    this.exited = e;
    rejectOpen(new EngineError('internal', e.message));
    for (const p of this.pending.values()) p.reject(new EngineError('internal', e.message));
    this.pending.clear();
  }

  private dispatch(msg: FromWorker): void {
    if (!('id' in msg)) return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'token') {
      p.onToken?.(msg.event);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.type === 'generated') p.resolve(msg.result);
    else if (msg.type === 'scored') p.resolve(msg.logits);
    else if (msg.type === 'failed') p.reject(msg.kind === 'cancelled' ? new CancelledError() : new EngineError(msg.kind, msg.message));
  }

  private request<T>(make: (id: number, cancel: SharedArrayBuffer) => ToWorker, onToken?: (e: TokenEvent) => void): RequestHandle<T> {
    const id = this.nextId++;
    const flag = new SharedCancelFlag();
    const result = new Promise<T>((resolve, reject) => {
      if (this.exited) return reject(new EngineError('internal', this.exited.message));
      this.pending.set(id, { resolve, reject, onToken });
      this.post(make(id, flag.buffer));
    });
    return { result, cancel: () => flag.cancel() };
  }

  generate(request: TextGenerateRequest, onToken?: (e: TokenEvent) => void): RequestHandle<GenerateResult> {
    return this.request((id, cancel) => ({ type: 'generate', id, request, cancel }), onToken);
  }

  score(request: ScoreRequest): RequestHandle<Float32Array[]> {
    return this.request((id, cancel) => ({ type: 'score', id, request, cancel }));
  }

  async close(): Promise<void> {
    if (!this.exited) {
      await new Promise<void>((resolve) => {
        this.worker.once('exit', () => resolve());
        this.worker.on('message', (m: FromWorker) => m.type === 'closed' && void this.worker.terminate());
        this.post({ type: 'close' });
      });
    }
  }
}
