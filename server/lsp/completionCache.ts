// Completions already computed, reused for the identical request and for typed-ahead text: when
// the user types the first characters of the shown completion, the rest is served at once.

export interface CachedCompletion<T> {
  prefix: string;
  suffix: string;
  /** Budget identity (level/steps/...): a deeper request is not served by a shallower answer. */
  budgetKey: string;
  text: string;
  info: T;
}

export class CompletionCache<T> {
  private entries: CachedCompletion<T>[] = [];

  constructor(private readonly capacity = 64) {}

  put(entry: CachedCompletion<T>): void {
    this.entries = this.entries.filter((e) => !(e.prefix === entry.prefix && e.suffix === entry.suffix && e.budgetKey === entry.budgetKey));
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.shift();
  }

  /** The remaining completion for (prefix, suffix), if a cached one covers it. */
  get(prefix: string, suffix: string, budgetKey: string): { text: string; entry: CachedCompletion<T> } | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (e.suffix !== suffix || e.budgetKey !== budgetKey || !prefix.startsWith(e.prefix)) continue;
      const typed = prefix.slice(e.prefix.length);
      if (e.text.startsWith(typed) && e.text.length > typed.length) return { text: e.text.slice(typed.length), entry: e };
    }
    return undefined;
  }

  get size(): number {
    return this.entries.length;
  }

  clear(): void {
    this.entries = [];
  }
}
