// Owns the engine worker: loads the configured model (or the shipped default), falls back to the
// default with one clear message when the configured one is broken, reloads on settings changes,
// and starts a new worker after a crash.
import * as fs from 'fs';
import * as path from 'path';
import { EngineClient } from '../engine/engineClient';
import { defaultModelDir } from '../engine/modelResolver';
import { ServerSettings, ServerState } from '../protocol';

export interface HostStatus {
  state: ServerState;
  message?: string;
  device?: string;
  model?: string;
  dtype?: string;
}

export class ModelHost {
  private client: EngineClient | undefined;
  private loading: Promise<void> | undefined;
  private loadedFor: string | undefined;
  status: HostStatus = { state: 'loading' };

  constructor(
    private settings: ServerSettings,
    private readonly onStatus: (s: HostStatus) => void,
    private readonly log: (line: string) => void,
  ) {}

  private key(s: ServerSettings): string {
    return JSON.stringify([s.modelPath || defaultModelDir(), s.device]);
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

  private async doLoad(key: string): Promise<void> {
    const previous = this.client;
    this.client = undefined;
    await previous?.close().catch(() => previous.terminate());
    this.setStatus({ state: 'loading', message: 'loading model' });
    const wanted = this.settings.modelPath || defaultModelDir();
    const options = { device: this.settings.device, threads: 1, log: this.log };
    let message: string | undefined;
    let client: EngineClient;
    try {
      if (this.settings.modelPath && !fs.existsSync(this.settings.modelPath)) throw new Error(`model folder not found: ${this.settings.modelPath}`);
      client = await EngineClient.open(wanted, options);
    } catch (e) {
      const reason = (e as Error).message;
      if (!this.settings.modelPath) return this.fail(`the default model could not be loaded: ${reason}`, key);
      message = `model ${this.settings.modelPath} could not be loaded: ${reason}; using the default model`;
      this.log(message);
      try {
        client = await EngineClient.open(defaultModelDir(), options);
      } catch (e2) {
        return this.fail(`${message}, which failed too: ${(e2 as Error).message}`, key);
      }
    }
    if (this.loadedFor !== key) {
      await client.close(); // settings changed while loading; the newer load wins
      return;
    }
    this.client = client;
    const info = client.info;
    if (info.fallbackReason && this.settings.device !== 'cpu') this.log(`running on CPU: ${info.fallbackReason}`);
    this.setStatus({ state: 'ready', message, device: info.provider, model: info.modelDir, dtype: info.dtype });
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
    await this.client?.close().catch(() => undefined);
  }
}
