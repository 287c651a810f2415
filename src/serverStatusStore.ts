// The last thing the server told us about itself (recurrent/status, recurrent/progress,
// recurrent/getStatus) and whether the language client is connected. The status bar and the
// settings panel both read it. Pure: notifications are checked here (recurrent/buildProgress
// too), listeners are callbacks.

import type { BuildProgressParams, ProgressParams, RecentCompletion, ServerState, ServerStatus } from '../server/protocol';
import { isObject } from './completionItems';

export type ClientState = 'starting' | 'running' | 'stopped';

const STATES: readonly ServerState[] = ['loading', 'building', 'ready', 'error'];
/** The panel's charts show at most this many recent completions. */
export const MAX_RECENT = 100;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function parseRecent(v: unknown): RecentCompletion | undefined {
  if (!isObject(v)) return undefined;
  const at = num(v.at), latencyMs = num(v.latencyMs), tokens = num(v.tokens);
  const meanIterations = num(v.meanIterations), level = num(v.level);
  if (at === undefined || latencyMs === undefined || tokens === undefined || meanIterations === undefined || level === undefined) {
    return undefined;
  }
  return { at, latencyMs, tokens, meanIterations, level };
}

function parseCounters(v: unknown): ServerStatus['counters'] {
  if (!isObject(v)) return undefined;
  const requests = num(v.requests), cacheHits = num(v.cacheHits), computed = num(v.computed);
  const cancelled = num(v.cancelled), errors = num(v.errors);
  if (requests === undefined || cacheHits === undefined || computed === undefined || cancelled === undefined || errors === undefined) {
    return undefined;
  }
  return { requests, cacheHits, computed, cancelled, errors };
}

/** A ServerStatus from the wire, or undefined if it is not one. Unknown fields are dropped. */
export function parseServerStatus(v: unknown): ServerStatus | undefined {
  if (!isObject(v) || !STATES.includes(v.state as ServerState)) return undefined;
  const recent = Array.isArray(v.recent) ? v.recent.map(parseRecent).filter((r): r is RecentCompletion => r !== undefined) : [];
  const status: ServerStatus = { state: v.state as ServerState, recent: recent.slice(-MAX_RECENT) };
  const optional = {
    message: str(v.message), device: str(v.device), adapter: str(v.adapter), deviceReason: str(v.deviceReason), model: str(v.model), dtype: str(v.dtype),
    lastLatencyMs: num(v.lastLatencyMs), tokensPerSecond: num(v.tokensPerSecond), meanIterations: num(v.meanIterations),
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) (status as unknown as Record<string, unknown>)[key] = value;
  }
  if (v.severity === 'warning' || v.severity === 'error') status.severity = v.severity;
  if (isObject(v.build) && isPercent(v.build.percent) && typeof v.build.tensor === 'string') {
    status.build = { percent: v.build.percent, tensor: v.build.tensor };
  }
  const counters = parseCounters(v.counters);
  if (counters) status.counters = counters;
  return status;
}

const isPercent = (v: unknown): v is number => num(v) !== undefined && (v as number) >= 0 && (v as number) <= 100;

export function parseBuildProgress(v: unknown): BuildProgressParams | undefined {
  if (!isObject(v) || !isPercent(v.percent)) return undefined;
  const tensor = str(v.tensor), model = str(v.model), dtype = str(v.dtype);
  if (tensor === undefined || model === undefined || dtype === undefined) return undefined;
  return { percent: v.percent, tensor, model, dtype };
}

/**
 * The error to show as a notification when `next` replaces `previous`: a failed server, or a
 * fallback after an error (a failed build), once per occurrence (a status repeating the same error,
 * as each completion's status does, is not announced again).
 */
export function errorToAnnounce(previous: ServerStatus | undefined, next: ServerStatus): string | undefined {
  const error = (s: ServerStatus | undefined) => (s && (s.state === 'error' || s.severity === 'error') ? s.message : undefined);
  const message = error(next);
  return message !== undefined && message !== error(previous) ? message : undefined;
}

export function parseProgress(v: unknown): ProgressParams | undefined {
  if (!isObject(v)) return undefined;
  const requestId = num(v.requestId), tokens = num(v.tokens), elapsedMs = num(v.elapsedMs), meanIterations = num(v.meanIterations);
  const uri = str(v.uri);
  if (requestId === undefined || tokens === undefined || elapsedMs === undefined || meanIterations === undefined || uri === undefined) {
    return undefined;
  }
  return { requestId, uri, tokens, elapsedMs, meanIterations };
}

export class ServerStatusStore {
  private statusValue: ServerStatus | undefined;
  private progressValue: ProgressParams | undefined;
  private clientStateValue: ClientState = 'starting';
  private readonly listeners = new Set<() => void>();

  get status(): ServerStatus | undefined {
    return this.statusValue;
  }

  /** The latest progress of a completion still running; cleared when no request is in flight. */
  get progress(): ProgressParams | undefined {
    return this.progressValue;
  }

  get clientState(): ClientState {
    return this.clientStateValue;
  }

  setStatus(status: ServerStatus): void {
    this.statusValue = status;
    this.emit();
  }

  setProgress(progress: ProgressParams | undefined): void {
    this.progressValue = progress;
    this.emit();
  }

  setClientState(state: ClientState): void {
    if (state === this.clientStateValue) return;
    this.clientStateValue = state;
    if (state !== 'running') this.progressValue = undefined;
    this.emit();
  }

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private emit(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
