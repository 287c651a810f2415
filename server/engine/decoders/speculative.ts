// Self-speculative decoding (the official generate_speculative): draft `lookahead` tokens with
// `draftSteps` iterations each, drop the drafts from the cache, verify them all in one forward at
// the full budget, keep the agreeing prefix and take the verifier's token at the first mismatch.
// The cache then holds only verified entries, so greedy output equals plain decoding.
import { SpeculativeOptions } from '../generateRequest';
import { forwardChunk, ForwardResult } from '../recurrence';
import { argmax, sampleToken } from '../sampling';
import { Decoding, outOfRoom } from './decoding';

export interface SpeculativeStats {
  rounds: number;
  drafted: number;
  accepted: number;
}

export async function decodeSpeculative(d: Decoding, prefill: ForwardResult, sp: SpeculativeOptions): Promise<SpeculativeStats> {
  const { model, cache, base, sink } = d;
  const V = model.cfg.vocabSize;
  const threshold = sp.threshold ?? 1;
  const stats = { rounds: 0, drafted: 0, accepted: 0 };
  let pending = sampleToken(d.next(prefill.logits, []), d.sampling, d.rng); // sampled but not yet in the cache
  if (!sink.push(pending, prefill.iterations)) return stats;
  while (!sink.done) {
    if (outOfRoom(d)) break;
    // Draft no further than the context and the token budget allow.
    const lookahead = Math.min(sp.lookahead, d.contextLeft(), d.req.maxTokens - sink.ids.length);
    const start = cache.length;
    const verified = [...sink.ids];
    const drafts: number[] = [];
    let x = pending;
    for (let i = 0; i < lookahead; i++) {
      const r = await forwardChunk(model, cache, [x], { ...base, steps: sp.draftSteps });
      x = sampleToken(d.next(r.logits, [...verified, ...drafts]), d.sampling, d.rng);
      drafts.push(x);
    }
    cache.truncate(start);
    const verify = await forwardChunk(model, cache, [pending, ...drafts.slice(0, -1)], { ...base, numLogits: lookahead });
    let accepted = 0;
    // The verifier's distribution at each drafted position (the document cache sees the drafts
    // before it, as plain decoding would have).
    const row = (i: number) => d.next(verify.logits.subarray(i * V, (i + 1) * V), [...verified, ...drafts.slice(0, i)]);
    while (accepted < lookahead && keeps(row(accepted), drafts[accepted], threshold)) accepted++;
    stats.rounds++;
    stats.drafted += lookahead;
    stats.accepted += accepted;
    for (let i = 0; i < accepted; i++) if (!sink.push(drafts[i], base.steps)) return stats;
    if (accepted < lookahead) {
      // The verifier's own token at the first mismatch; its predecessor is the last verified entry.
      cache.truncate(start + accepted + 1);
      pending = sampleToken(row(accepted), d.sampling, d.rng);
      if (!sink.push(pending, base.steps)) return stats;
    } else {
      pending = drafts[lookahead - 1];
    }
  }
  return stats;
}

/** Whether the verifier's row of logits keeps a drafted token (see SpeculativeOptions.threshold). */
function keeps(row: Float32Array, draft: number, threshold: number): boolean {
  const best = argmax(row);
  if (threshold >= 1) return best === draft;
  // p(draft) >= threshold * p(best)  <=>  logit(draft) - logit(best) >= log(threshold)
  return row[draft] - row[best] >= Math.log(threshold);
}
