// Smoke training with the paper's recipe on a tiny config: the loss falls, training resumes from
// its last checkpoint, and the exported checkpoint (official format) runs in the engine with the
// PyTorch reference's logits.
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

function losses(out: string): { step: number; loss: number }[] {
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

  it('math data: held-out prompts never trained on, chain root not first by position, multi-query chain answers are what Python prints', function () {
    this.timeout(120_000);
    const out = execFileSync(PYTHON, [path.join(REPO, 'native/data/math_tasks.py')], { encoding: 'utf8' });
    assert.match(out, /\nok\n$/);
  });

  it('math rows with math_loss "answers": the loss sees exactly the answers and the stop after each', function () {
    this.timeout(120_000);
    // Rebuild each problem's supervised text from the trainer's own rows and compare it with the
    // answers the generator gave: "<answer><stop>" per question, stop = "\n" or <|end_text|>.
    const script = `
import json, sys
sys.path.insert(0, ${JSON.stringify(path.join(REPO, 'native/train'))})
import train as T
cfg = json.load(open(${JSON.stringify(SMOKE)}))
assert cfg["data"]["math_loss"] == "answers"
tok = T.Tokenizer(T.os.path.join(T.TOKENIZER_DIR, "tokenizer.json"))
ms = T.MathStream(tok, 0, cfg["data"])
problems = T.math_texts(0, cfg["data"]["math_families"], cfg["data"]["math_d_weights"], cfg["data"]["chain_extra_queries"])
row = ms.take(4000)
n = 0
for pairs in problems:
    want = "".join(a + "\\n" for _, a in pairs)[:-1] + "<|end_text|>"
    toks = ms.encode(pairs)
    assert [t for t, _ in row[:len(toks)]] == [t for t, _ in toks]
    got = tok.decode([t for t, k in row[:len(toks)] if k])
    assert got == want, (pairs, got, want)
    assert sum(k for _, k in toks) < len(toks) / 2
    row, n = row[len(toks):], n + 1
    if not row or row[0][0] == tok.token_id("<|pad|>"):
        break
# the curriculum (math_stage_problems): the first stage is d = 1 only (a chain of d hops has
# d + 1 main lines and at most d + 1 distractors), the next stages go deeper
staged = T.math_texts(0, {"chain": 1.0}, [1, 1, 1], 0, 30)
lines = [pairs[0][0].count("\\n") - 1 for pairs in (next(staged) for _ in range(90))]
assert max(lines[:30]) <= 4 and max(lines[60:]) > 6, lines
print("checked", n)
`;
    const out = execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' });
    const n = Number(/checked (\d+)/.exec(out)?.[1]);
    assert.ok(n > 20, out);
  });

  it('the loss falls over a few dozen steps', function () {
    const log = losses(out);
    assert.strictEqual(log[log.length - 1].step, 40);
    const first = (log[0].loss + log[1].loss) / 2;
    const last = (log[log.length - 1].loss + log[log.length - 2].loss) / 2;
    assert.ok(last < first - 1, `loss ${first.toFixed(2)} -> ${last.toFixed(2)}`);
  });

  it('saves the official checkpoint format and resumes from it', function () {
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'train_state.pt']) assert.ok(fs.existsSync(path.join(out, f)), f);
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    assert.strictEqual(cfg.model_type, 'huginn_raven');
    train(out, ['--steps', '50']);
    const steps = losses(out).map((l) => l.step);
    assert.deepStrictEqual(steps.slice(-3), [40, 45, 50]); // continued from step 40, not from 0
  });

  it('recall probe: each answer target is what Python prints for the question before it, and the probe runs a few training steps', function () {
    this.timeout(120_000);
    const script = `
import random, sys
sys.path.insert(0, ${JSON.stringify(path.join(REPO, 'native/train'))})
import recall_probe as R
tok = R.T.Tokenizer(R.T.os.path.join(R.T.TOKENIZER_DIR, "tokenizer.json"))
rng, n = random.Random(1), 0
for _ in range(50):
    ids, targets, k = R.program(rng, tok, "python", 4)
    text = tok.decode(ids)
    env = {}
    exec(text, {"print": lambda *a: None}, env)  # assignments, questions, answer digits: all valid Python
    for j, t in enumerate(targets):
        if t >= 0:
            assert ids[j + 1] == t
            before = tok.decode(ids[:j + 1])
            if before.endswith(")\\n"):  # the answer digit, not the stop after it
                var = before[before.rindex("print(") + 6:-2]
                assert tok.decode([t]) == str(env[var]), (text, j)
                n += 1
            else:
                assert tok.decode([t]) == "\\n"
    assert len(set(env.values())) == k
assert n == 200, n
print("checked", n)
`;
    assert.match(execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' }), /checked 200/);
    const out = execFileSync(PYTHON, [path.join(REPO, 'native/train/recall_probe.py'), '--config', SMOKE, '--steps', '4', '--batch', '4', '--log-every', '2'], {
      encoding: 'utf8',
      env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
    });
    assert.strictEqual((out.match(/^step +\d+ loss [\d.]+ answers +[\d.]+% \(guessing a constant +[\d.]+%\)/gm) ?? []).length, 2, out);
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
