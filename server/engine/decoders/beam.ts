// Beam decoding: the beam search's best continuation (beamSearch.ts) fed through the sink (stops,
// streaming, finish reason), with its log-probabilities (summed and per token) and the other
// finished continuations' texts and scores.
import { beamSearch, NOT_BLANK } from '../beamSearch';
import { ForwardResult } from '../recurrence';
import { Decoding } from './decoding';

export async function decodeBeams(
  d: Decoding,
  prefill: ForwardResult,
  width: number,
  timeUp: () => boolean,
): Promise<{ logProb: number; tokenLogProbs: number[]; alternatives: string[]; alternativeLogProbs: number[]; runnerUpLogProb: number }> {
  const { model, req, sink } = d;
  const best = await beamSearch(
    model,
    d.cache,
    prefill,
    {
      width,
      maxTokens: Math.min(req.maxTokens, d.contextLeft()),
      timeUp,
      memoryFull: () => d.cache.usedBytes >= (req.maxKvBytes ?? Infinity),
      candidate: req.beamCandidate ?? NOT_BLANK,
      next: d.next,
    },
    d.stop,
    { ...d.base, exit: req.exit },
  );
  best.ids.forEach((id, i) => sink.push(id, best.iterations[i]));
  // A stop sequence or the token limit was set by the sink.
  sink.finishReason ??= best.cutShort ?? (best.stopped ? 'eos' : 'context');
  const { logProb, tokenLogProbs, alternatives, alternativeLogProbs, runnerUpLogProb } = best;
  return { logProb, tokenLogProbs, alternatives, alternativeLogProbs, runnerUpLogProb };
}
