// What the user has asked of the depth during this session: the Think Harder / Think Less offset
// (not a setting: it resets when the window reloads), the policy's last decision, which the status
// bar and the settings panel show, and how sure the server was of the ghost text that decision
// got. Pure: listeners are plain callbacks.

import { MAX_LEVEL, MIN_LEVEL } from './depthPolicy';

/** The offset can move any base level to either end of the range, and no further. */
export const MAX_OFFSET = MAX_LEVEL - MIN_LEVEL;

export interface Decision {
  level: number;
  steps: number;
  reasons: string[];
  languageId: string;
  at: number;
}

/** The server's confidence in the ghost text shown for the last decision (CompletionInfo). */
export interface ShownConfidence {
  confidence: number;
  /** Shown below the minConfidence bar because the request was explicit. */
  lowConfidence: boolean;
}

export class DepthSession {
  private offsetValue = 0;
  private last: Decision | undefined;
  private shown: ShownConfidence | undefined;
  private readonly listeners = new Set<() => void>();

  get offset(): number {
    return this.offsetValue;
  }

  get lastDecision(): Decision | undefined {
    return this.last;
  }

  /** The confidence of the ghost text shown for the last decision (none: nothing shown yet). */
  get lastShown(): ShownConfidence | undefined {
    return this.shown;
  }

  /** Returns whether the offset changed (it does not move past ±MAX_OFFSET). */
  raise(): boolean {
    return this.setOffset(this.offsetValue + 1);
  }

  lower(): boolean {
    return this.setOffset(this.offsetValue - 1);
  }

  reset(): boolean {
    return this.setOffset(0);
  }

  /** A new request: its decision; what the previous one showed no longer applies. */
  recordDecision(decision: Decision): void {
    this.last = decision;
    this.shown = undefined;
    this.emit();
  }

  recordShown(shown: ShownConfidence): void {
    this.shown = { confidence: shown.confidence, lowConfidence: shown.lowConfidence };
    this.emit();
  }

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private setOffset(value: number): boolean {
    const clamped = Math.max(-MAX_OFFSET, Math.min(MAX_OFFSET, value));
    if (clamped === this.offsetValue) return false;
    this.offsetValue = clamped;
    this.emit();
    return true;
  }

  private emit(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
