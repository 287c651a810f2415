// Recent completion figures for the status bar and the settings panel.
import { RecentCompletion } from '../protocol';

export class CompletionStats {
  private readonly recent: RecentCompletion[] = [];
  readonly counters = { requests: 0, cacheHits: 0, computed: 0, cancelled: 0, errors: 0 };
  private decodeTokens = 0;
  private decodeMs = 0;

  constructor(private readonly keep = 50) {}

  record(latencyMs: number, tokens: number, meanIterations: number, level: number, decodeMs: number): void {
    this.recent.push({ at: Date.now(), latencyMs, tokens, meanIterations, level });
    if (this.recent.length > this.keep) this.recent.shift();
    // Tokens per second over a sliding window of decode time.
    this.decodeTokens = this.decodeTokens * 0.8 + tokens;
    this.decodeMs = this.decodeMs * 0.8 + decodeMs;
  }

  snapshot() {
    const last = this.recent[this.recent.length - 1];
    return {
      lastLatencyMs: last?.latencyMs,
      meanIterations: last?.meanIterations,
      tokensPerSecond: this.decodeMs > 0 ? (this.decodeTokens * 1000) / this.decodeMs : undefined,
      recent: [...this.recent],
      counters: { ...this.counters },
    };
  }
}
