import * as assert from 'assert';
import * as ort from 'onnxruntime-node';
import { ModelSessions, runGraph } from '../../server/engine/sessions';

describe('runGraph', function () {
  const failing = { run: () => Promise.reject(new Error('Got invalid dimensions for input: state\n index: 1 Got: 32 Expected: 64')) } as unknown as ort.InferenceSession;
  const sessions = { prelude: failing, core: failing, coda: failing, files: { prelude: 'prelude.onnx', core: 'core.onnx', coda: 'coda.onnx' }, provider: 'cpu', fetches: { prelude: [], core: [], coda: ['logits'] }, transfers: { toDevice: 0, toHost: 0, kvFits: 0 } } as unknown as ModelSessions;

  it("names the graph's file and each input's name, type and shape", async function () {
    const feeds = {
      state: new ort.Tensor('float32', new Float32Array(5 * 64), [1, 5, 64]),
      logits_start: new ort.Tensor('int64', BigInt64Array.from([4n]), [1]),
    };
    await assert.rejects(runGraph(sessions, 'coda', feeds), {
      message: 'coda.onnx run failed: Got invalid dimensions for input: state index: 1 Got: 32 Expected: 64; inputs: state float32[1,5,64], logits_start int64[1]',
    });
  });
});
