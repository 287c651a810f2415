// Messages between EngineClient (any thread that must stay responsive) and the engine worker.
import { EngineInfo, EngineOptions, ScoreRequest, TextGenerateRequest } from './engine';
import { GenerateResult } from './generate';
import { TokenEvent } from './stopping';

export type ToWorker =
  | { type: 'open'; modelDir: string; options: Omit<EngineOptions, 'log'> }
  | { type: 'generate'; id: number; request: TextGenerateRequest; cancel: SharedArrayBuffer }
  | { type: 'score'; id: number; request: ScoreRequest; cancel: SharedArrayBuffer }
  | { type: 'close' };

export type ErrorKind = 'cancelled' | 'invalid-request' | 'model' | 'internal';

export type FromWorker =
  | { type: 'opened'; info: EngineInfo }
  | { type: 'open-failed'; message: string }
  | { type: 'log'; line: string }
  | { type: 'token'; id: number; event: TokenEvent }
  | { type: 'generated'; id: number; result: GenerateResult }
  | { type: 'scored'; id: number; logits: Float32Array[] }
  | { type: 'failed'; id: number; kind: ErrorKind; message: string }
  | { type: 'closed' };
