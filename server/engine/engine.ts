// The engine: one loaded model plus the operations every front end uses (CLI, language server,
// benchmarks): generate from text or ids, and score a sequence. Front ends that must stay
// responsive run it through EngineClient (a worker thread); this class is the worker's body.
import { CancelledError, CancelSignal, NEVER_CANCELLED } from './cancel';
import { generate, GenerateResult } from './generate';
import { GenerateRequest } from './generateRequest';
import { TokenEvent } from './stopping';
import { HuginnModel, StateInit } from './huginnModel';
import { formatNotice, ModelFormat, resolveBuildDtype } from './modelFormat';
import { BuildProgress, resolveModelDir } from './modelResolver';
import { forwardChunk, measurePromptCost, PromptCost } from './recurrence';
import { PromptCache } from './promptCache';
import { buildPrompt, PromptSource } from './prompt';
import { decideDevice, fallbackLine, ortMessage } from './device';
import { GraphRunError, PROVIDER_NAMES, SessionOptions } from './sessions';

export interface EngineOptions extends SessionOptions {
  /** Bytes of memory available, instead of the system's figure (tests of the memory guard). */
  availableMemory?: number;
  /** The format a checkpoint is built as (default fp32); `auto` picks by the device (modelFormat.ts). */
  buildDtype?: ModelFormat;
  log?: (line: string) => void;
  /** A checkpoint's build as it goes. */
  onBuildProgress?: (p: BuildProgress) => void;
  /** Stops a checkpoint's build; open then rejects. */
  signal?: AbortSignal;
  /** The model moved to the CPU after its GPU failed during a request (the engine's new info). */
  onMoved?: (info: EngineInfo) => void;
}

export interface EngineInfo {
  modelDir: string;
  /** The execution provider the model runs on: cpu, webgpu or cuda. */
  provider: string;
  /** The WebGPU adapter's name, on webgpu. */
  adapter?: string;
  /** Why the model runs on the CPU although a GPU was allowed (one line). */
  fallbackReason?: string;
  dtype: string;
  /** Something to know about how this model runs here (e.g. fp16 on the CPU). */
  notice?: string;
  vocabSize: number;
  nEmbd: number;
  meanRecurrence: number;
  blockSize: number;
  /** What a prompt token costs here, measured at load (recurrence.measurePromptCost). */
  promptCost: PromptCost;
}

/** A generation request whose prompt is text, a cursor's surroundings or ids (prompt.ts). */
export interface TextGenerateRequest extends Omit<GenerateRequest, 'ids' | 'healedText' | 'documentIds'>, PromptSource {
  /** Reuse the KV entries of the previous request's prompt (editor requests share prefixes). */
  reusePrompt?: boolean;
}

export interface ScoreRequest {
  ids: number[];
  steps: number;
  stateInit?: StateInit;
  seed?: number;
}

export class Engine {
  private readonly prompts = new PromptCache();

  private constructor(
    private model_: HuginnModel,
    private promptCost: PromptCost,
    private readonly opts: EngineOptions,
  ) {}

  get model(): HuginnModel {
    return this.model_;
  }

  static async open(modelDir: string, opts: EngineOptions = {}): Promise<Engine> {
    // One device decision for the build format and the sessions (`auto` builds fp16 for a GPU).
    const decision = opts.decision ?? (await decideDevice(opts.device ?? 'auto'));
    const dtype = resolveBuildDtype(opts.buildDtype ?? 'fp32', decision.provider);
    const resolved = await resolveModelDir(modelDir, dtype, opts.log, { onProgress: opts.onBuildProgress, signal: opts.signal });
    const model = await HuginnModel.load(resolved.dir, { ...opts, decision });
    const engine = new Engine(model, await measurePromptCost(model), opts);
    const { fallbackReason, notice } = engine.info();
    if (fallbackReason) opts.log?.(fallbackReason);
    if (notice) opts.log?.(notice);
    return engine;
  }

  info(): EngineInfo {
    const m = this.model;
    return {
      modelDir: m.manifest.dir,
      provider: m.sessions.provider,
      adapter: m.sessions.adapter,
      fallbackReason: m.sessions.fallbackReason,
      dtype: m.manifest.dtype,
      notice: formatNotice(m.manifest.dtype, m.sessions.provider),
      vocabSize: m.cfg.vocabSize,
      nEmbd: m.cfg.nEmbd,
      meanRecurrence: m.cfg.meanRecurrence,
      blockSize: m.cfg.blockSize,
      promptCost: this.promptCost,
    };
  }

  encode(text: string): number[] {
    return this.model.tokenizer.encode(text);
  }

  async generate(req: TextGenerateRequest, onToken?: (e: TokenEvent) => void, cancel: CancelSignal = NEVER_CANCELLED): Promise<GenerateResult> {
    // A cursor's prompt keeps within the KV ceiling, with room for the answer, and to the length
    // the caller can afford to run.
    const kvRoom = req.maxKvBytes === undefined ? Infinity : Math.floor(req.maxKvBytes / this.model.kvBytesPerToken(req.steps)) - req.maxTokens;
    const maxPromptTokens = Math.min(kvRoom, req.maxPromptTokens ?? Infinity);
    const { ids, healedText, documentIds } = buildPrompt(this.model, req, req.maxTokens, maxPromptTokens);
    let streamed = false;
    const events = onToken && ((e: TokenEvent) => ((streamed = true), onToken(e)));
    return this.onDevice(
      () => generate(this.model, { ...req, ids, healedText, documentIds }, events, cancel, req.reusePrompt ? this.prompts : undefined),
      () => !streamed, // text already streamed cannot be taken back: such a request errors
    );
  }

  /** Raw float32 logits of every input position, from one full forward. */
  async score(req: ScoreRequest, cancel: CancelSignal = NEVER_CANCELLED): Promise<Float32Array[]> {
    const V = this.model.cfg.vocabSize;
    for (const id of req.ids) {
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new RangeError(`token id ${id} is outside the vocabulary [0, ${V})`);
    }
    return this.onDevice(async () => {
      const cache = this.model.newCache();
      const { logits } = await forwardChunk(this.model, cache, req.ids, {
        steps: req.steps,
        stateInit: req.stateInit ?? 'random',
        seed: req.seed ?? 0,
        numLogits: req.ids.length,
        cancel,
      }).finally(() => cache.releaseDevice());
      return req.ids.map((_, t) => logits.slice(t * V, (t + 1) * V));
    });
  }

  /**
   * Runs a request. When the GPU fails during it (a lost device, its memory exhausted, a driver
   * error: any failure on a GPU provider but a cancellation or a bad request), the model moves to
   * the CPU, with one line that says why, and the request runs again there when `retry` allows:
   * it answers, and so does every request after it.
   */
  private async onDevice<T>(run: () => Promise<T>, retry: () => boolean = () => true): Promise<T> {
    try {
      return await run();
    } catch (e) {
      if (this.model.provider === 'cpu' || e instanceof CancelledError || e instanceof RangeError) throw e;
      await this.moveToCpu(e as Error);
      if (!retry()) throw e;
      return run();
    }
  }

  private async moveToCpu(e: Error): Promise<void> {
    const gpu = this.model;
    const failure = `${PROVIDER_NAMES[gpu.sessions.provider]} failed during a request: ${ortMessage(e instanceof GraphRunError ? e.failure : e.message)}`;
    const reason = fallbackLine([failure]);
    this.opts.log?.(reason);
    let cpu: HuginnModel;
    try {
      cpu = await HuginnModel.load(gpu.manifest.dir, { threads: this.opts.threads, availableMemory: this.opts.availableMemory, decision: { provider: 'cpu', fallbackReason: reason } });
    } catch (loadError) {
      throw new Error(`${failure}, and the model cannot run on the CPU: ${(loadError as Error).message}`, { cause: e });
    }
    // The GPU's buffers may be gone with it: freeing them is best effort.
    try {
      this.prompts.clear();
    } catch {
      // a lost device's buffers
    }
    await gpu.release().catch(() => undefined);
    this.model_ = cpu;
    this.promptCost = await measurePromptCost(cpu);
    this.opts.onMoved?.(this.info());
  }

  async close(): Promise<void> {
    this.prompts.clear();
    await this.model.release();
  }
}
