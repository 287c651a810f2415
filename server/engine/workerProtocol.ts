// Messages between EngineClient (any thread that must stay responsive) and the engine worker.
import { EngineInfo, EngineOptions, ScoreRequest, TextGenerateRequest } from './engine';
import { GenerateResult } from './generate';
import { BuildProgress } from './modelResolver';
import { TokenEvent } from './stopping';

/** What of EngineOptions crosses to the worker (callbacks and the signal stay on the client's side). */
export type WorkerOpenOptions = Omit<EngineOptions, 'log' | 'onBuildProgress' | 'signal' | 'onMoved'>;

export type ToWorker =
  /** `cancel`: a shared flag that stops a checkpoint's build (the worker may be busy building). */
  | { type: 'open'; modelDir: string; options: WorkerOpenOptions; cancel: SharedArrayBuffer }
  | { type: 'generate'; id: number; request: TextGenerateRequest; cancel: SharedArrayBuffer }
  | { type: 'score'; id: number; request: ScoreRequest; cancel: SharedArrayBuffer }
  | { type: 'close' };

/** `build`: a checkpoint's build failed; `cancelled` also ends an open whose build was cancelled. */
export type ErrorKind = 'cancelled' | 'invalid-request' | 'model' | 'build' | 'internal';

export type FromWorker =
  | { type: 'opened'; info: EngineInfo }
  | { type: 'open-failed'; kind: ErrorKind; message: string }
  | { type: 'build-progress'; progress: BuildProgress }
  | { type: 'log'; line: string }
  /** The model moved to the CPU after its GPU failed during a request. */
  | { type: 'moved'; info: EngineInfo }
  | { type: 'token'; id: number; event: TokenEvent }
  | { type: 'generated'; id: number; result: GenerateResult }
  | { type: 'scored'; id: number; logits: Float32Array[] }
  | { type: 'failed'; id: number; kind: ErrorKind; message: string }
  | { type: 'closed' };
