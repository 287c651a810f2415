// A checkpoint as the editor's model: the language server builds it in the configured format
// (recurrentCopilot.modelFormat), reports the build (state `building`, recurrent/buildProgress),
// stops it on recurrent/cancelBuild, and says clearly when a build fails, serving the default
// model meanwhile.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { FP16_ON_CPU } from '../../server/engine/modelFormat';
import { ServerStatus } from '../../server/protocol';
import { LspSession } from '../helpers/lspClient';
import { builtModel, makeCheckpoint, tmpDir } from '../helpers/reference';

const SMALL = { nEmbd: 32, nHeads: 2, prelude: 1, core: 1, coda: 1, intermediate: 48, vocab: 300, seed: 21 };
/** Large enough that its fp32 build takes a good part of a second here. */
const LARGE = { nEmbd: 256, nHeads: 4, prelude: 1, core: 4, coda: 1, intermediate: 512, vocab: 4096, seed: 22 };

describe('language server: building a checkpoint', function () {
  let defaultModel: string;
  let small: string;
  let large: string;
  let cache: string;
  let lsp: LspSession;

  before(async function () {
    defaultModel = await builtModel({ ...SMALL, seed: 20 }, 'lspbuild-default');
    small = makeCheckpoint(SMALL, path.join(tmpDir('lspbuild'), 'small-ck'));
    large = makeCheckpoint(LARGE, path.join(tmpDir('lspbuild'), 'large-ck'));
    cache = tmpDir('lspbuild-cache');
    lsp = new LspSession({ RECURRENT_COPILOT_DEFAULT_MODEL: defaultModel, RECURRENT_COPILOT_CACHE: cache });
    await lsp.initialize({ device: 'cpu' });
    await lsp.waitForState(['ready']);
  });
  after(() => lsp?.close());

  /** Sends settings and waits for the load they start to end (ready or error, saying `done`). */
  async function configure(settings: object, done: (s: ServerStatus) => boolean): Promise<ServerStatus> {
    await lsp.conn.sendNotification('recurrent/configure', { device: 'cpu', ...settings });
    return lsp.waitForStatus(JSON.stringify(settings), (s) => (s.state === 'ready' || s.state === 'error') && done(s));
  }

  const builtFor = (checkpoint: string) => fs.readdirSync(cache).filter((name) => name.startsWith(`${path.basename(checkpoint)}-`));

  it('modelFormat int4: the checkpoint is built as int4, with progress up to 100, then served', async function () {
    const s = await configure({ modelPath: small, modelFormat: 'int4' }, (st) => st.model !== defaultModel);
    assert.strictEqual(s.state, 'ready', s.message);
    assert.strictEqual(s.dtype, 'int4');
    assert.strictEqual(path.dirname(s.model!), cache);
    assert.strictEqual(s.message, undefined);
    const progress = lsp.buildProgress.filter((p) => p.model === small);
    assert.ok(progress.length >= 2, JSON.stringify(progress));
    assert.strictEqual(progress[0].percent, 0);
    assert.strictEqual(progress[progress.length - 1].percent, 100);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i].percent >= progress[i - 1].percent, JSON.stringify(progress));
    assert.ok(progress.every((p) => p.dtype === 'int4'));
    // The status said `building`, with the percent, while it built.
    const building = lsp.statuses.filter((st) => st.state === 'building');
    assert.ok(building.length >= 1);
    assert.match(building[0].message ?? '', /^building small-ck \(int4\): \d+%/);
    assert.strictEqual(typeof building[0].build?.percent, 'number');
  });

  it('modelFormat auto on the CPU is int4: the int4 build is reused, not built again', async function () {
    const before = lsp.buildProgress.length;
    await configure({ modelPath: null }, (st) => st.model === defaultModel);
    const s = await configure({ modelPath: small, modelFormat: 'auto' }, (st) => st.model !== defaultModel);
    assert.strictEqual(s.dtype, 'int4');
    assert.strictEqual(lsp.buildProgress.length, before);
    assert.strictEqual(builtFor(small).length, 1);
  });

  it('modelFormat fp16 on the CPU builds fp16 and says what that costs there', async function () {
    const s = await configure({ modelPath: small, modelFormat: 'fp16' }, (st) => st.dtype === 'fp16');
    assert.strictEqual(s.state, 'ready');
    assert.strictEqual(s.message, FP16_ON_CPU);
    assert.ok(lsp.logs.some((l) => l.includes(FP16_ON_CPU)));
    assert.strictEqual(builtFor(small).length, 2, 'one build per dtype');
  });

  it('recurrent/cancelBuild stops the build: the default model, one clear message, no build left; a later load builds again', async function () {
    const before = lsp.buildProgress.length;
    await lsp.conn.sendNotification('recurrent/configure', { device: 'cpu', modelPath: large, modelFormat: 'fp32' });
    const deadline = Date.now() + 60_000;
    while (!lsp.buildProgress.slice(before).some((p) => p.model === large) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await lsp.conn.sendNotification('recurrent/cancelBuild');
    const s = await lsp.waitForStatus('the fallback after the cancel', (st) => st.state === 'ready' && (st.message ?? '').includes('cancelled'));
    assert.strictEqual(s.message, `build of ${large} cancelled; using the default model`);
    assert.strictEqual(s.model, defaultModel);
    assert.deepStrictEqual(builtFor(large), []);
    assert.ok(lsp.statuses.some((st) => st.state === 'building' && st.model === large));

    await configure({ modelPath: null }, (st) => st.model === defaultModel && !st.message);
    const again = await configure({ modelPath: large, modelFormat: 'fp32' }, (st) => st.model !== defaultModel);
    assert.strictEqual(again.state, 'ready', again.message);
    assert.strictEqual(again.dtype, 'fp32');
    assert.strictEqual(lsp.buildProgress.filter((p) => p.model === large).pop()?.percent, 100);
    assert.strictEqual(builtFor(large).length, 1);
  });

  it('the shipped default model (a checkpoint) keeps its fp32 whatever the format setting', async function () {
    const other = new LspSession({ RECURRENT_COPILOT_DEFAULT_MODEL: small, RECURRENT_COPILOT_CACHE: tmpDir('lspbuild-default-cache') });
    try {
      await other.initialize({ device: 'cpu', modelFormat: 'int4' });
      const s = await other.waitForStatus('the default model', (st) => st.state === 'ready' || st.state === 'error');
      assert.strictEqual(s.state, 'ready', s.message);
      assert.strictEqual(s.dtype, 'fp32');
    } finally {
      await other.close();
    }
  });

  it('a failed build: one error message naming the build, and the default model keeps serving', async function () {
    // The cache folder cannot be created (a file stands in its way), as a full disk stops a build.
    const blocked = path.join(tmpDir('lspbuild-blocked'), 'cache');
    fs.writeFileSync(blocked, '');
    const other = new LspSession({ RECURRENT_COPILOT_DEFAULT_MODEL: defaultModel, RECURRENT_COPILOT_CACHE: path.join(blocked, 'models') });
    try {
      await other.initialize({ device: 'cpu', modelPath: small, modelFormat: 'int4' });
      const s = await other.waitForStatus('the fallback after the failed build', (st) => st.state === 'ready' || st.state === 'error');
      assert.strictEqual(s.state, 'ready');
      assert.strictEqual(s.severity, 'error');
      assert.match(s.message ?? '', new RegExp(`^build of ${small} \\(int4\\) failed: .+; using the default model$`));
      assert.strictEqual(s.model, defaultModel);
      other.open('file:///a.py', 'x = 1\ny = ');
      const r = await other.complete('file:///a.py', 1, 4, { steps: 2, maxTokens: 3 });
      assert.ok(Array.isArray(r.items));
    } finally {
      await other.close();
    }
  });
});
