// What the exactness tests share (CPU: engine.exactness.test.ts; WebGPU: webgpu.test.ts): the
// random checkpoint shapes, the prompt, builds, and the engine's logits for a prefill followed by
// cached one-token decodes.
import * as path from 'path';
import { buildModel } from '../../native/builder/build';
import { WeightDtype } from '../../native/model/manifest';
import { HuginnModel } from '../../server/engine/huginnModel';
import { forwardChunk } from '../../server/engine/recurrence';
import { CheckpointShape, tmpDir } from './reference';

export const SHAPES: Record<string, CheckpointShape> = {
  // huginn-0125's layout (2 prelude, 4 core, 2 coda, qk bias, tied) at a small width.
  huginnLike: { nEmbd: 96, nHeads: 6, prelude: 2, core: 4, coda: 2, intermediate: 256, vocab: 1024, seed: 1 },
  // Other shapes: odd head dim, bf16 shards, an untied head, adapter bias, no qk bias.
  narrow: { nEmbd: 40, nHeads: 2, prelude: 1, core: 2, coda: 1, intermediate: 72, vocab: 300, seed: 2, dtype: 'bf16', shards: 2, tie: false, bias: true, qkBias: false },
  wideHeads: { nEmbd: 128, nHeads: 4, prelude: 1, core: 3, coda: 1, intermediate: 160, vocab: 512, seed: 3, dtype: 'f16' },
};

export const IDS = [5, 17, 200, 3, 99, 42, 7, 250, 11, 64, 128, 1];

/** The prompt, without the ids outside this shape's vocabulary. */
export function idsFor(shape: CheckpointShape): number[] {
  return IDS.filter((i) => i < shape.vocab);
}

/** `checkpoint` built as `dtype` into a fresh folder. */
export async function built(checkpoint: string, dtype: WeightDtype): Promise<string> {
  const out = path.join(tmpDir(`built-${dtype}`), 'model');
  await buildModel({ checkpointDir: checkpoint, outDir: out, dtype });
  return out;
}

/** Engine logits for every position: prefill `prefill` tokens, then decode one token at a time. */
export async function engineLogits(model: HuginnModel, ids: number[], steps: number, prefill: number): Promise<Float32Array[]> {
  const V = model.cfg.vocabSize;
  const cache = model.newCache();
  const rows: Float32Array[] = [];
  const opts = { steps, stateInit: 'zero' as const, seed: 0 };
  try {
    const first = await forwardChunk(model, cache, ids.slice(0, prefill), { ...opts, numLogits: prefill });
    for (let t = 0; t < prefill; t++) rows.push(first.logits.slice(t * V, (t + 1) * V));
    for (let t = prefill; t < ids.length; t++) {
      rows.push((await forwardChunk(model, cache, [ids[t]], { ...opts, numLogits: 1 })).logits);
    }
    return rows;
  } finally {
    cache.releaseDevice();
  }
}
