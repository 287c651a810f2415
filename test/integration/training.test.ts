// Smoke training with the paper's recipe on a tiny config: the loss falls, training resumes from
// its last checkpoint, and the exported checkpoint (official format) runs in the engine with the
// PyTorch reference's logits. The Python programs run here as black boxes; the checks of their
// data and losses (math rows, FIM rows, loss weights, document mask, the probes' targets) are
// Python tests next to the code (native/train/test_*.py, native/data/test_*.py: npm run test:python).
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { buildModel } from '../../native/builder/build';
import { HuginnModel } from '../../server/engine/huginnModel';
import { forwardChunk } from '../../server/engine/recurrence';
import { PYTHON, REPO, referenceLogits, relativeError, tmpDir } from '../helpers/reference';

const TRAIN = path.join(REPO, 'native/train/train.py');
const SMOKE = path.join(REPO, 'native/train/configs/smoke.json');

function train(out: string, extra: string[] = []): string {
  return execFileSync(PYTHON, [TRAIN, '--config', SMOKE, '--out', out, '--seed', '0', ...extra], {
    encoding: 'utf8',
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function losses(out: string): { step: number; loss: number; lr: number }[] {
  return fs
    .readFileSync(path.join(out, 'train_log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

describe('training (smoke)', function () {
  let out: string;
  before(function () {
    if (!fs.existsSync(path.join(REPO, 'native/data/build/code_train.jsonl'))) {
      execFileSync(PYTHON, [path.join(REPO, 'native/data/code_corpus.py'), '--out', path.join(REPO, 'native/data/build')]);
    }
    out = path.join(tmpDir('train'), 'run');
    train(out);
  });

  it('the loss falls over a few dozen steps', function () {
    const log = losses(out);
    assert.strictEqual(log[log.length - 1].step, 40);
    const first = (log[0].loss + log[1].loss) / 2;
    const last = (log[log.length - 1].loss + log[log.length - 2].loss) / 2;
    assert.ok(last < first - 1, `loss ${first.toFixed(2)} -> ${last.toFixed(2)}`);
  });

  it('saves the official checkpoint format and resumes from it; a run started --from it takes the same next steps', function () {
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'train_state.pt']) assert.ok(fs.existsSync(path.join(out, f)), f);
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    assert.strictEqual(cfg.model_type, 'huginn_raven');
    // --from: a fresh run starts where another stopped (here under the same config)
    const branch = path.join(path.dirname(out), 'branch');
    train(branch, ['--from', out, '--steps', '50', '--stop-at', '45']);
    assert.deepStrictEqual(losses(branch).map((l) => l.step), [45]);
    train(out, ['--steps', '50']);
    const steps = losses(out).map((l) => l.step);
    assert.deepStrictEqual(steps.slice(-3), [40, 45, 50]); // continued from step 40, not from 0
    // the branch took the same step 45 as the run it started from (same state, same schedule)
    const mine = losses(branch)[0];
    const theirs = losses(out).find((l) => l.step === 45)!;
    assert.strictEqual(mine.lr, theirs.lr);
    assert.ok(Math.abs(mine.loss - theirs.loss) < 1e-3, `${mine.loss} vs ${theirs.loss}`);
  });

  it('--init-weights: a fresh run starts from a checkpoint folder’s weights with a fresh schedule; another shape is refused', function () {
    const scratch = path.join(path.dirname(out), 'scratch');
    const init = path.join(path.dirname(out), 'init');
    train(scratch, ['--stop-at', '5']);
    train(init, ['--init-weights', out, '--stop-at', '5']);
    const [s, i] = [losses(scratch)[0], losses(init)[0]];
    assert.strictEqual(i.step, 5);
    assert.strictEqual(i.lr, s.lr); // the schedule starts over
    // the same data and depths as the scratch run, but trained weights: a much lower loss
    assert.ok(i.loss < s.loss - 1, `step 5: loss ${i.loss} from the weights vs ${s.loss} from scratch`);
    assert.throws(
      () => train(path.join(path.dirname(out), 'other-shape'), ['--init-weights', path.join(REPO, 'native/models/default')]),
      (e: { stderr: string }) => /another model shape/.test(e.stderr),
    );
  });

  it('recall probe: a curriculum of formats runs and reports each phase’s answers against guessing', function () {
    this.timeout(120_000);
    const out = execFileSync(
      PYTHON,
      [path.join(REPO, 'native/train/recall_probe.py'), '--config', SMOKE, '--steps', '4', '--batch', '4', '--log-every', '2', '--phases', 'pairs/6@1,compact/26@3'],
      { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } },
    );
    const lines = out.match(/^step +\d+ loss [\d.]+ answers: .*$/gm) ?? [];
    assert.strictEqual(lines.length, 2, out);
    assert.match(lines[0], /answers: pairs +[\d.]+% \(guessing +[\d.]+%\) +\d+ s$/);
    assert.match(lines[1], /answers: compact +[\d.]+% \(guessing +[\d.]+%\) +\d+ s$/);
  });

  it('chain probe: the recall stage and the chains run, and it reports every hop at every r', function () {
    this.timeout(120_000);
    const out = execFileSync(
      PYTHON,
      [path.join(REPO, 'native/train/chain_probe.py'), '--config', SMOKE, '--steps', '4', '--recall-steps', '2', '--batch', '4',
        '--log-every', '2', '--eval-d', '3', '--eval-n', '4', '--eval-r', '1,3'],
      { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } },
    );
    assert.match(out, /step +2 loss [\d.]+ \(recall\)/);
    assert.match(out, /step +4 loss [\d.]+ \(chains d <= 2\)/);
    assert.match(out, /^guessing( +\d+){4}$/m);
    assert.match(out, /^r=1( +\d+){4}$/m);
    assert.match(out, /^r=3( +\d+){4}$/m);
  });

  it('eval_fim: scores held-out FIM middles with and without the suffix; a window too long for the model is a clear error', function () {
    this.timeout(120_000);
    const script = path.join(REPO, 'native/train/eval_fim.py');
    const run = (args: string[]) => execFileSync(PYTHON, [script, out, ...args], { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' }, stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(run(['--n', '8', '--chars', '150', '--r', '2']), /^\d+ FIM middles \(\d+ bytes\), r=2: \d+\.\d{3} bits\/byte with the suffix, \d+\.\d{3} from the prefix alone\n$/);
    assert.throws(() => run(['--n', '2', '--chars', '5000']), (e: { stderr: string }) => /fits block_size 128/.test(e.stderr));
  });

  it('the exported checkpoint runs in the engine with the reference logits', async function () {
    const built = path.join(tmpDir('trained'), 'model');
    await buildModel({ checkpointDir: out, outDir: built, dtype: 'fp32' });
    const model = await HuginnModel.load(built, { device: 'cpu', threads: 1 });
    try {
      const ids = model.tokenizer.encode('def f(x):\n    return x + 1\n');
      const V = model.cfg.vocabSize;
      const { logits } = await forwardChunk(model, model.newCache(), ids, { steps: 4, stateInit: 'zero', seed: 0, numLogits: ids.length });
      const rows = ids.map((_, t) => logits.slice(t * V, (t + 1) * V));
      const err = relativeError(rows, referenceLogits(out, ids, 4));
      assert.ok(err < 1e-4, `relative error ${err}`);
    } finally {
      await model.release();
    }
  });
});
