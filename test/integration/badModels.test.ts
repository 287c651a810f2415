// Broken models in the language server: each gives one clear message naming the problem, the
// server stays up, and it falls back to the default model.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { buildModel } from '../../native/builder/build';
import { Engine } from '../../server/engine/engine';
import { checkMemory, NotEnoughMemory, residentWeightBytes } from '../../server/engine/memory';
import { LspSession } from '../helpers/lspClient';
import { copyModel, makeCheckpoint, tmpDir } from '../helpers/reference';

describe('bad model input in the server', function () {
  let good: string;
  let checkpoint: string;
  let lsp: LspSession;

  before(async function () {
    checkpoint = makeCheckpoint({ nEmbd: 32, nHeads: 2, prelude: 1, core: 1, coda: 1, intermediate: 48, vocab: 300, seed: 8 });
    good = path.join(tmpDir('bad'), 'default');
    await buildModel({ checkpointDir: checkpoint, outDir: good, dtype: 'fp32' });
    lsp = new LspSession({ RECURRENT_COPILOT_DEFAULT_MODEL: good, RECURRENT_COPILOT_CACHE: tmpDir('badcache') });
    await lsp.initialize({ device: 'cpu' });
    await lsp.waitForState(['ready']);
    lsp.open('file:///bad/a.py', 'x = 1\ny = ');
  });
  after(() => lsp?.close());

  function brokenCopy(from: string, breakIt: (dir: string) => void): string {
    const dir = copyModel(from, 'broken');
    breakIt(dir);
    return dir;
  }

  const cases: [string, () => string, RegExp][] = [
    ['a missing folder', () => '/nonexistent/model', /model folder not found/],
    ['a folder that is no model', () => tmpDir('empty'), /neither a built model/],
    ['a corrupt ONNX graph', () => brokenCopy(good, (d) => fs.writeFileSync(path.join(d, 'core.onnx'), Buffer.alloc(1000, 7))), /cannot load the model graphs/],
    ['a truncated weights file', () => brokenCopy(good, (d) => fs.truncateSync(path.join(d, 'weights.bin'), 100)), /cannot load the model graphs/],
    ['an unreadable tokenizer', () => brokenCopy(good, (d) => fs.writeFileSync(path.join(d, 'tokenizer.json'), '{"model": 5')), /tokenizer\.json: cannot read/],
    ['a manifest escaping its folder', () => brokenCopy(good, (d) => patchJson(path.join(d, 'manifest.json'), { weights: '../../etc/passwd' })), /points outside the model folder/],
    ['a checkpoint with a truncated safetensors file', () => brokenCopy(checkpoint, (d) => fs.truncateSync(path.join(d, 'model.safetensors'), 5000)), /truncated/],
    ['a checkpoint with an absurd config', () => brokenCopy(checkpoint, (d) => patchJson(path.join(d, 'config.json'), { n_layers_in_recurrent_block: 100000 })), /n_layers_in_recurrent_block/],
    ['a checkpoint with a wrongly shaped tensor', () => brokenCopy(checkpoint, (d) => patchJson(path.join(d, 'config.json'), { intermediate_size: 50 })), /has shape \[96, 32\], expected \[100, 32\]/],
  ];
  for (const [what, make, message] of cases) {
    it(`${what}: one clear message, fallback to the default model, still serving`, async function () {
      const dir = make();
      await lsp.conn.sendNotification('recurrent/configure', { modelPath: dir, device: 'cpu' });
      let status = await lsp.waitForState(['ready', 'error']);
      // Wait for this configuration's load to finish (the state passes through loading).
      for (let i = 0; i < 100 && !(status.message ?? '').includes(dir); i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = await lsp.waitForState(['ready', 'error']);
      }
      assert.strictEqual(status.state, 'ready');
      assert.match(status.message ?? '', message);
      assert.match(status.message ?? '', /using the default model/);
      assert.strictEqual(status.model, good);
      const r = await lsp.complete('file:///bad/a.py', 1, 4, { steps: 2, maxTokens: 3 });
      assert.ok(Array.isArray(r.items));
    });
  }
});

describe('memory guard', function () {
  it('refuses, before loading, a model that would not fit, naming both numbers and what to do', async function () {
    const dir = path.join(tmpDir('guard'), 'model');
    await buildModel({ checkpointDir: makeCheckpoint({ nEmbd: 32, nHeads: 2, prelude: 1, core: 1, coda: 1, intermediate: 48, vocab: 300, seed: 9 }), outDir: dir, dtype: 'fp32' });
    const MiB = 2 ** 20;
    await assert.rejects(
      Engine.open(dir, { device: 'cpu', threads: 1, availableMemory: 200 * MiB }),
      (e: Error) => e instanceof NotEnoughMemory && /needs about 0\.3 GiB of memory \(weights 0\.0 GiB as fp32, KV cache 0\.3 GiB\), but 0\.2 GiB is available: build it as int4/.test(e.message),
    );
    const engine = await Engine.open(dir, { device: 'cpu', threads: 1, availableMemory: 4096 * MiB });
    await engine.close();
  });

  it('counts fp16 weights twice on the CPU and advises int4 only where it helps', function () {
    const GiB = 2 ** 30;
    assert.strictEqual(residentWeightBytes(GiB, 'fp16'), 2 * residentWeightBytes(GiB, 'fp32'));
    assert.throws(() => checkMemory('m', 8 * GiB, 'fp32', 9 * GiB), /needs about 9\.8 GiB of memory \(weights 9\.6 GiB as fp32, KV cache 0\.3 GiB\), but 9\.0 GiB is available: build it as int4/);
    assert.throws(() => checkMemory('m', 8 * GiB, 'int4', 9 * GiB), /available: close other programs or use a smaller context/);
    assert.doesNotThrow(() => checkMemory('m', 3.45e9, 'int4', 16 * GiB));
  });
});

function patchJson(file: string, patch: Record<string, unknown>): void {
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), ...patch }));
}
