// Reuse of the previous prompt's KV cache: consecutive editor requests share most of their prompt
// (the text before the edit point), so only the tokens after the longest common prefix need a
// prefill. Only prompt tokens are kept: they were computed exactly as a fresh prefill would
// compute them, so a reused prefix gives the same completion as a cold start.
import { HuginnModel } from './huginnModel';
import { KvCache, KvStrategy } from './kvCache';

export class PromptCache {
  private ids: number[] = [];
  private cache: KvCache | undefined;
  private key = '';

  /** A cache holding the longest reusable prefix of `ids` (never all of it: the last prompt
   *  token must run to produce logits), and how many tokens it holds. */
  acquire(model: HuginnModel, ids: number[], strategy: KvStrategy, key: string): { cache: KvCache; reused: number } {
    const cache = this.cache;
    this.cache = undefined; // one request at a time owns it
    if (!cache || key !== this.key || cache.strategy !== strategy) {
      cache?.releaseDevice();
      return { cache: model.newCache(strategy), reused: 0 };
    }
    let n = 0;
    const limit = Math.min(this.ids.length, ids.length - 1, cache.length);
    while (n < limit && this.ids[n] === ids[n]) n++;
    cache.truncate(n);
    return { cache, reused: n };
  }

  /** Keeps the prompt part of a finished request's cache for the next request. */
  release(cache: KvCache, promptIds: number[], key: string): void {
    const keep = Math.min(promptIds.length, cache.length);
    cache.truncate(keep);
    this.ids = promptIds.slice(0, keep);
    this.cache = cache;
    this.key = key;
  }

  clear(): void {
    this.cache?.releaseDevice();
    this.cache = undefined;
    this.ids = [];
  }
}
