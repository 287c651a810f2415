// Beam search for the most likely continuation up to a stop (the end of the line, for ghost
// text), instead of the greedy one. A small model is often unsure of the next token while sure of
// the line: after `    main(` the default model's greedy decoding takes `self` and goes on with
// `, 'f8'`, where the likeliest whole line is `)`. Beams share the prompt's KV entries; each
// keeps only the rows of its own tokens, put back into the one cache before its next forward. Scores are summed log-probabilities, and the search ends as soon
// as the best finished continuation scores above every live beam (scores only fall as beams
// grow), so it returns the best continuation among the candidates it kept.
import { CancelledError } from './cancel';
import { KvCache, SavedRows } from './kvCache';
import { HuginnModel } from './huginnModel';
import { forwardChunk, ForwardOptions } from './recurrence';
import { logSoftmax } from './sampling';
import { matches } from './tokenHealing';
import { firstStop, StopRules } from './stopping';

export interface BeamResult {
  ids: number[];
  /** Core iterations of the forward that produced each token. */
  iterations: number[];
  /** Summed log-probability of the continuation (and of its stop, when it ended at one). */
  logProb: number;
  /** The log-probability of each token of `ids` given the ones before it (the stop's is not
   *  among them: it is `logProb` less their sum). */
  tokenLogProbs: number[];
  /** It ended at a stop token. */
  stopped: boolean;
  /** Why the search ended before its best continuation was certain (a deadline, the memory
   *  ceiling): it returns the best one so far. */
  cutShort?: 'time' | 'memory';
  /** The texts (up to their stop) of the other finished continuations it found, likeliest first
   *  (at most `width`): for a caller whose own rules reject the best one (ghost text
   *  post-processing). */
  alternatives: string[];
  /** The summed log-probabilities of `alternatives`, in their order. */
  alternativeLogProbs: number[];
  /** The best score of any other continuation when the search ended: the next finished one's, or
   *  a live beam's (which could only fall as it grew); -Infinity when there was none. */
  runnerUpLogProb: number;
}

interface Beam {
  ids: number[];
  iterations: number[];
  logProb: number;
  tokenLogProbs: number[];
  rows: SavedRows;
  /** Next-token logits, and the iterations of the forward that produced them. */
  logits: Float32Array;
  logitsIterations: number;
}

/** The `k` largest entries of `xs` (indices, best first), skipping -Infinity. */
function topK(xs: Float64Array, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] === -Infinity || (best.length === k && xs[i] <= xs[best[k - 1]])) continue;
    let j = best.length < k ? best.length : k - 1;
    best[j] = i;
    while (j > 0 && xs[best[j - 1]] < xs[best[j]]) {
      [best[j - 1], best[j]] = [best[j], best[j - 1]];
      j--;
    }
  }
  return best;
}

export interface BeamLimits {
  width: number;
  maxTokens: number;
  /** The deadline passed and the request was not cancelled (the forward's cancel signal fires
   *  for both). */
  timeUp: () => boolean;
  /** The KV memory ceiling is reached. */
  memoryFull: () => boolean;
  /** A finished continuation is a candidate only when its text matches this. */
  candidate: RegExp;
  /** The next-token distribution after a beam's tokens, from the model's logits (Decoding.next:
   *  the document cache mixed in). */
  next: (logits: Float32Array, generated: readonly number[]) => Float32Array;
}

/** The default candidate rule: a continuation with no text but blanks is no answer. */
export const NOT_BLANK = /\S/;

/**
 * The best continuation of the prompt in `cache` (whose next-token logits, and the iterations
 * that made them, are `first`) found by a beam search of `limits.width`. Only continuations whose
 * text before their stop matches `limits.candidate` are candidates. The cache ends holding the
 * prompt only.
 */
export async function beamSearch(
  model: HuginnModel,
  cache: KvCache,
  first: { logits: Float32Array; iterations: number },
  limits: BeamLimits,
  stop: StopRules,
  opts: ForwardOptions,
): Promise<BeamResult> {
  const { width, maxTokens } = limits;
  const promptLength = cache.length;
  /** The continuation's text and where its first stop sequence starts (-1: none yet). */
  const textOf = (ids: number[]) => {
    const text = model.tokenizer.decode(ids).slice(stop.healed.length);
    return { text, stopAt: firstStop(text, stop.sequences) };
  };
  const isCandidate = (text: string) => matches(limits.candidate, text);
  let live: Beam[] = [{ ids: [], iterations: [], logProb: 0, tokenLogProbs: [], rows: cache.saveRows(promptLength), logits: first.logits, logitsIterations: first.iterations }];
  type Finished = Omit<BeamResult, 'alternatives' | 'alternativeLogProbs' | 'runnerUpLogProb'>;
  let done: Finished | undefined;
  const finished: { text: string; logProb: number }[] = [];
  const finish = (f: Finished, text: string) => {
    if (!done || f.logProb > done.logProb) done = f;
    finished.push({ text, logProb: f.logProb });
  };
  const better = (a: { logProb: number }) => !done || a.logProb > done.logProb;
  let cutShort: BeamResult['cutShort'];
  // Each beam's saved rows may hold references to device copies of the KV cache: a beam dropped
  // releases them, and whatever is left is released at the end.
  let next: Beam[] = [];
  try {
    while (live.length > 0 && better(live[0])) {
      if (limits.memoryFull()) {
        cutShort = 'memory';
        break;
      }
      // Every beam's best `width` next tokens: a stop, a stop sequence or the token limit
      // finishes a continuation (its last forward is not needed), the rest compete for the next
      // step.
      const grown: { ids: number[]; iterations: number[]; logProb: number; tokenLogProbs: number[]; parent: Beam }[] = [];
      for (const beam of live) {
        const lp = logSoftmax(limits.next(beam.logits, beam.ids));
        for (const token of topK(lp, width)) {
          const logProb = beam.logProb + lp[token];
          if (stop.ids.has(token)) {
            const { text } = textOf(beam.ids);
            if (isCandidate(text)) finish({ ids: beam.ids, iterations: beam.iterations, logProb, tokenLogProbs: beam.tokenLogProbs, stopped: true }, text);
            continue;
          }
          const next = { ids: [...beam.ids, token], iterations: [...beam.iterations, beam.logitsIterations], logProb, tokenLogProbs: [...beam.tokenLogProbs, lp[token]], parent: beam };
          const { text, stopAt } = textOf(next.ids);
          if (stopAt >= 0 || next.ids.length >= maxTokens) {
            const before = stopAt >= 0 ? text.slice(0, stopAt) : text;
            if (isCandidate(before)) finish({ ids: next.ids, iterations: next.iterations, logProb, tokenLogProbs: next.tokenLogProbs, stopped: false }, before);
          } else {
            grown.push(next);
          }
        }
      }
      grown.sort((a, b) => b.logProb - a.logProb);
      next = [];
      for (const g of grown.slice(0, width).filter(better)) {
        cache.restoreRows(g.parent.rows);
        const r = await forwardChunk(model, cache, [g.ids[g.ids.length - 1]], opts);
        next.push({ ids: g.ids, iterations: g.iterations, logProb: g.logProb, tokenLogProbs: g.tokenLogProbs, rows: cache.saveRows(promptLength), logits: r.logits, logitsIterations: r.iterations });
      }
      for (const beam of live) beam.rows.release();
      live = next;
      next = [];
    }
  } catch (e) {
    // Past the deadline the best continuation so far is the answer (as greedy decoding answers
    // with its tokens so far); a real cancellation or an error propagates.
    if (!(e instanceof CancelledError) || !limits.timeUp()) throw e;
    cutShort = 'time';
  } finally {
    cache.truncate(promptLength);
    for (const beam of [...live, ...next]) beam.rows.release();
  }
  finished.sort((a, b) => b.logProb - a.logProb);
  // Cut short, a finished continuation is still preferred to an unfinished beam.
  if (done) {
    const others = finished.slice(1, width + 1);
    const runnerUpLogProb = Math.max(others[0]?.logProb ?? -Infinity, live[0]?.logProb ?? -Infinity);
    return { ...done, cutShort, alternatives: others.map((f) => f.text), alternativeLogProbs: others.map((f) => f.logProb), runnerUpLogProb };
  }
  const best = live[0];
  return {
    ids: best?.ids ?? [],
    iterations: best?.iterations ?? [],
    logProb: best?.logProb ?? 0,
    tokenLogProbs: best?.tokenLogProbs ?? [],
    stopped: false,
    cutShort,
    alternatives: [],
    alternativeLogProbs: [],
    runnerUpLogProb: live[1]?.logProb ?? -Infinity,
  };
}
