// Owns the engine worker: loads the configured model (or the shipped default), building a
// checkpoint first in the configured format (state `building`, with progress, cancellable), falls
// back to the default with one clear message when the configured one is broken, its build failed
// or was cancelled, reloads on settings changes, and starts a new worker after a crash.
import * as fs from 'fs';
import * as path from 'path';
import { EngineClient, EngineError } from '../engine/engineClient';
import { EngineInfo } from '../engine/engine';
import { BuildProgress, DEFAULT_MODEL_DTYPE, defaultModelDir } from '../engine/modelResolver';
import { BuildProgressParams, ServerSettings, ServerStatus } from '../protocol';

export type HostStatus = Pick<ServerStatus, 'state' | 'message' | 'severity' | 'device' | 'adapter' | 'deviceReason' | 'model' | 'dtype' | 'build'>;

/** Build progress goes out at each new percent, and at least this often while the tensor changes. */
const BUILD_PROGRESS_EVERY_MS = 250;

export class ModelHost {
  private client: EngineClient | undefined;
  private loading: Promise<void> | undefined;
  private loadedFor: string | undefined;
  /** Aborts the configured model's open (its build) for the load in progress. */
  private opening: AbortController | undefined;
  private lastProgress = { percent: -1, at: 0 };
  status: HostStatus = { state: 'loading' };

  constructor(
    private settings: ServerSettings,
    private readonly onStatus: (s: HostStatus) => void,
    private readonly log: (line: string) => void,
    private readonly onBuildProgress: (p: BuildProgressParams) => void = () => {},
  ) {}

  private key(s: ServerSettings): string {
    return JSON.stringify([s.modelPath || defaultModelDir(), s.device, s.modelFormat]);
  }

  private setStatus(s: HostStatus): void {
    this.status = s;
    this.onStatus(s);
  }

  configure(settings: ServerSettings): void {
    const reload = this.key(settings) !== this.key(this.settings);
    this.settings = settings;
    if (reload) void this.load();
  }

  /** Starts loading (once per settings), resolving when loaded or failed. */
  load(): Promise<void> {
    const key = this.key(this.settings);
    if (this.loading && this.loadedFor === key) return this.loading;
    this.loadedFor = key;
    this.loading = this.doLoad(key);
    return this.loading;
  }

  /** recurrent/cancelBuild: stops the build in progress; the load then falls back to the default model. */
  cancelBuild(): boolean {
    if (this.status.state !== 'building' || !this.opening) return false;
    this.log(`cancelling the build of ${this.status.model}`);
    this.opening.abort();
    return true;
  }

  private async doLoad(key: string): Promise<void> {
    this.opening?.abort(); // a build for older settings stops
    const previous = this.client;
    this.client = undefined;
    await previous?.close().catch(() => previous.terminate());
    this.setStatus({ state: 'loading', message: 'loading model' });
    const { modelPath, device, modelFormat } = this.settings;
    const wanted = modelPath || defaultModelDir();
    // The format setting is for the configured checkpoint; the shipped default keeps its own.
    // Threads: the engine's choice for the model's size (intraOpThreads).
    const options = { device, log: this.log, buildDtype: DEFAULT_MODEL_DTYPE, onMoved: (info: EngineInfo) => this.moved(info, key) };
    let message: string | undefined;
    let severity: HostStatus['severity'];
    let client: EngineClient;
    const opening = new AbortController();
    this.opening = opening;
    this.lastProgress = { percent: -1, at: 0 };
    try {
      if (modelPath && !fs.existsSync(modelPath)) throw new Error(`model folder not found: ${modelPath}`);
      client = await EngineClient.open(wanted, {
        ...options,
        buildDtype: modelPath ? modelFormat : DEFAULT_MODEL_DTYPE,
        signal: opening.signal,
        onBuildProgress: (p) => this.buildProgress(p, wanted, key),
      });
    } catch (e) {
      if (this.loadedFor !== key) return; // superseded (its build was stopped): the newer load reports
      const reason = (e as Error).message;
      const kind = e instanceof EngineError ? e.kind : undefined;
      if (!modelPath) return this.fail(`the default model could not be loaded: ${reason}`, key);
      if (kind === 'cancelled') message = `build of ${modelPath} cancelled; using the default model`;
      else if (kind === 'build') {
        message = `${reason}; using the default model`;
        severity = 'error';
      } else message = `model ${modelPath} could not be loaded: ${reason}; using the default model`;
      this.log(message);
      this.setStatus({ state: 'loading', message: 'loading the default model' });
      try {
        client = await EngineClient.open(defaultModelDir(), options);
      } catch (e2) {
        return this.fail(`${message}, which failed too: ${(e2 as Error).message}`, key);
      }
    } finally {
      if (this.opening === opening) this.opening = undefined;
    }
    if (this.loadedFor !== key) {
      await client.close(); // settings changed while loading; the newer load wins
      return;
    }
    this.client = client;
    const info = client.info;
    // (The engine has logged its fallback line.) `auto` on a machine without a usable GPU is the
    // ordinary case: its reason goes with the device only; a GPU that was asked for and could not
    // be used is also the status message (a warning).
    this.log(`model ${info.modelDir} (${info.dtype}) on ${info.provider}${info.adapter ? ` (${info.adapter})` : ''}`);
    const deviceReason = info.provider === 'cpu' && device !== 'cpu' ? info.fallbackReason : undefined;
    message = [message, device === 'webgpu' || device === 'cuda' ? deviceReason : undefined, info.notice].filter(Boolean).join('. ') || undefined;
    this.setStatus({ state: 'ready', message, severity, device: info.provider, adapter: info.adapter, deviceReason, model: info.modelDir, dtype: info.dtype });
  }

  /** The GPU failed during a request and the engine moved the model to the CPU: the status says
   *  so, as a warning, whatever device was asked for. */
  private moved(info: EngineInfo, key: string): void {
    if (this.loadedFor !== key) return;
    const deviceReason = info.fallbackReason;
    this.setStatus({ ...this.status, message: deviceReason, severity: 'warning', device: info.provider, adapter: undefined, deviceReason });
  }

  /** The worker's report of a checkpoint build: status `building` and recurrent/buildProgress, throttled. */
  private buildProgress(p: BuildProgress, model: string, key: string): void {
    if (this.loadedFor !== key) return;
    const percent = Math.max(0, Math.min(100, Math.floor(p.fraction * 100)));
    const now = Date.now();
    if (percent === this.lastProgress.percent && now - this.lastProgress.at < BUILD_PROGRESS_EVERY_MS) return;
    this.lastProgress = { percent, at: now };
    const where = p.tensor ? ` (${p.tensor})` : '';
    this.setStatus({
      state: 'building',
      message: `building ${path.basename(model)} (${p.dtype}): ${percent}%${where}`,
      model,
      dtype: p.dtype,
      build: { percent, tensor: p.tensor },
    });
    this.onBuildProgress({ percent, tensor: p.tensor, model, dtype: p.dtype });
  }

  private fail(message: string, key: string): void {
    if (this.loadedFor !== key) return;
    this.log(message);
    this.setStatus({ state: 'error', message });
  }

  /** The ready engine, or undefined while loading or after an error. A crashed worker is replaced. */
  engine(): EngineClient | undefined {
    if (this.client && !this.client.alive) {
      this.log('the engine worker stopped; restarting it');
      this.client = undefined;
      this.loading = undefined;
      void this.load();
    }
    return this.client;
  }

  async dispose(): Promise<void> {
    this.loadedFor = undefined;
    this.opening?.abort();
    await this.client?.close().catch(() => undefined);
  }
}
