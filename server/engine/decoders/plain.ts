// Plain decoding, greedy or sampled: one token at a time through the KV cache (with adaptive exit
// and a warm-started state when asked), or, with useCache off, a full recomputation of the whole
// sequence per token: the reference path that cached decoding must agree with. Returns the model's
// log-probability of each generated token (given the ones before it).
import { forwardChunk, ForwardResult } from '../recurrence';
import { logSoftmax, sampleToken } from '../sampling';
import { Decoding, outOfRoom } from './decoding';

export async function decodePlain(d: Decoding, prefill: ForwardResult): Promise<{ tokenLogProbs: number[] }> {
  const { model, req, base, sink } = d;
  let { logits, iterations } = prefill;
  // Warm start: the prefill returned its state (generate asks for it), and each token returns its own.
  let lastState: Float32Array | undefined = prefill.state?.slice(prefill.state.length - model.cfg.nEmbd);
  const tokenLogProbs: number[] = [];
  const next = () => {
    const dist = d.next(logits, sink.ids);
    const token = sampleToken(dist, d.sampling, d.rng);
    const before = sink.ids.length;
    const more = sink.push(token, iterations);
    if (sink.ids.length > before) tokenLogProbs.push(logSoftmax(dist)[token]);
    return more;
  };
  while (next()) {
    if (outOfRoom(d)) return { tokenLogProbs };
    const token = sink.ids[sink.ids.length - 1];
    if (req.useCache === false) {
      d.cache.releaseDevice();
      d.cache = model.newCache();
      ({ logits, iterations } = await forwardChunk(model, d.cache, [...req.ids, ...sink.ids], base));
    } else {
      const r = await forwardChunk(model, d.cache, [token], { ...base, exit: req.exit, initialState: req.warmStart ? lastState : undefined, returnState: req.warmStart });
      ({ logits, iterations } = r);
      lastState = r.state;
    }
  }
  return { tokenLogProbs };
}
