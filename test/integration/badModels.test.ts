// Broken models in the language server: each gives one clear message naming the problem, the
// server stays up, and it falls back to the default model.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { buildModel } from '../../native/builder/build';
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

function patchJson(file: string, patch: Record<string, unknown>): void {
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), ...patch }));
}
