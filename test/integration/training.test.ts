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

  it('math data: held-out prompts never trained on, chain root not first by position, multi-query chain and chained-operation answers are what Python prints', function () {
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
# a list gives each stage its own length; after the list, every d
assert [T.curriculum_stage(c, [10, 5], 3) for c in (0, 9, 10, 14, 15, 99)] == [1, 1, 2, 2, 3, 3]
assert T.curriculum_stage(7, 0, 3) == 3 and T.curriculum_stage(25, 10, 6) == 3
# ops_recipe: questions in the middle of ops programs, with a probability set per stage: echoes
# (the bare value after its update line) one update deep, then none
ops = T.math_texts(0, {"ops": 1.0}, [1, 1, 1, 1], 0, 0, None, {"print_p": [1.0, 0.0], "stages": [10], "questions": "echo"})
first, later = [next(ops) for _ in range(10)], [next(ops) for _ in range(10)]
assert all([q.count(" = ") for q, _ in pairs] == [2] + [1] * (len(pairs) - 1) for pairs in first), first
assert all(q.endswith("\\n") and "print" not in q for pairs in first for q, _ in pairs[:-1]), first
assert all(len(pairs) == 1 and pairs[0][0].endswith("% 10)\\n") for pairs in later), later
# a mode per stage: echoes for the first 10 problems, then latent questions
staged_q = T.math_texts(0, {"ops": 1.0}, [1, 1, 1, 1], 0, 0, None, {"print_p": [1.0, 1.0], "stages": [10], "questions": ["echo", "latent"]})
first, later = [next(staged_q) for _ in range(10)], [next(staged_q) for _ in range(10)]
assert all(len(p) == 2 for pairs in first for p in pairs) and all(len(p) == 3 for pairs in later for p in pairs[:-1]), (first, later)
# latent questions: the rows hold the plain program, and the target at each update line's break
# is that line's value in place of the next token (the next line's first letter)
cfg_l = {"train": {"seq_len": 255, "batch_size": 2}, "data": {"math_fraction": 1.0, "math_families": {"ops": 1.0},
         "math_d_weights": [1, 1, 1, 1], "math_loss": "answers", "ops_recipe": {"print_p": [1.0], "stages": [], "questions": "latent"}}}
x, y, _ = T.Batches(tok, cfg_l, 0).next()
latent = T.math_texts(0, {"ops": 1.0}, [1, 1, 1, 1], 0, 0, None, cfg_l["data"]["ops_recipe"])
pad, seen = tok.token_id("<|pad|>"), 0
row_x, row_y = x[0].tolist()[1:], y[0].tolist()[1:]  # (after <|begin_text|>)
while row_x and row_x[0] != pad:
    pairs = next(latent)
    text = "".join(q for q, *_ in pairs)
    whole = tok.encode(text + pairs[-1][1] + "<|end_text|>")  # as the engine tokenizes a prompt
    n_tok = len(whole)
    if n_tok > len(row_x):  # (the row's last token is a target only)
        break
    assert row_x[:n_tok] == whole, (pairs, tok.decode(row_x[:n_tok]))
    targets = tok.decode([t for t in row_y[:n_tok] if t != pad])
    assert targets == "".join(a for _, a, *_ in pairs) + "<|end_text|>", (pairs, targets)
    assert all(len(p) == 3 for p in pairs[:-1]) and text.count("\\n") == len(pairs) + 2, pairs
    seen += len(pairs) > 1
    row_x, row_y = row_x[n_tok:], row_y[n_tok:]
assert seen > 3, seen
# and the held-out exclusion checks the text before the first written answer: with latent
# questions the whole program, which is generate's prompt (so a held-out one is recognised)
for seed in range(50):
    d = 2 + seed % 5
    assert T.first_prompt(T.math_tasks.ops_training_text(d, T.random.Random(seed), 1.0, "latent")) == T.math_tasks.generate("ops", d, T.random.Random(seed))[0]
    echo = T.math_tasks.ops_training_text(d, T.random.Random(seed), 1.0, "echo")
    assert T.first_prompt(echo) == echo[0][0]
# chain_recipe (repl style, recall stage): the first chain problems are bare lookups on the
# first letters, then chains
recall = T.math_texts(0, {"chain": 1.0}, [1], 0, 0, {"style": "repl", "recall": {"problems": 20, "letters": 4, "questions": 5}})
first, later = [next(recall) for _ in range(20)], [next(recall) for _ in range(20)]
copies = lambda pairs: [l for l in pairs[0][0].split("\\n")[:-1] if l[2:].isalpha()]
for pairs in first:
    env = {}
    exec(pairs[0][0][:-1], {}, env)
    assert len(pairs) == 5 and set(env) <= set("abcd") and not copies(pairs), pairs
    assert all(a == str(env[q[-1]]) for q, a in pairs), pairs
assert all(copies(pairs) for pairs in later), later
# chain_recipe latent: every program line's value is a latent target before the questions
lat = T.math_texts(0, {"chain": 1.0}, [1, 1], 2, 0, {"latent": True})
for pairs in (next(lat) for _ in range(20)):
    n_latent = sum(len(p) == 3 for p in pairs)
    assert n_latent + 1 == T.first_prompt(pairs).count("\\n") and len(pairs) > n_latent, pairs
print("checked", n)
`;
    const out = execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' });
    const n = Number(/checked (\d+)/.exec(out)?.[1]);
    assert.ok(n > 20, out);
  });

  it('fim_rows: each FIM row holds whole prefix-suffix-middle examples of one document window, then padding, and resumes where it stopped', function () {
    this.timeout(120_000);
    const script = `
import json, sys
sys.path.insert(0, ${JSON.stringify(path.join(REPO, 'native/train'))})
import train as T
cfg = json.load(open(${JSON.stringify(SMOKE)}))
cfg["data"].update(math_fraction=0.0, fim_rows=1.0)
tok = T.Tokenizer(T.os.path.join(T.TOKENIZER_DIR, "tokenizer.json"))
b = T.Batches(tok, cfg, 0)
fp, fs, fm, end, pad = (tok.token_id(t) for t in ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|end_text|>", "<|pad|>"))
filled = []
for _ in range(6):
    x, y, is_math = b.next()
    assert not is_math.any()
    for row, target in zip(x.tolist(), y.tolist()):
        body = row[1:]
        n = len(body)
        while body[n - 1] == pad:
            n -= 1
        text, rest = body[:n], body[n:]
        assert text[0] == fp and text[-1] == end and all(t == pad for t in rest), (text[:3], text[-3:])
        # whole examples only: markers come in order, once per example
        examples = tok.decode(text).split("<|end_text|>")[:-1]
        for e in examples:
            assert e.startswith("<|fim_prefix|>") and e.index("<|fim_suffix|>") < e.index("<|fim_middle|>"), e[:80]
        assert all(t == pad for t in target[n:])  # no loss on the padding
        filled.append(n / len(body))
assert sum(filled) / len(filled) > 0.6, filled
state = b.state()
after = b.next()[0]
again = T.Batches(tok, cfg, 0, state).next()[0]
assert (after == again).all()
cfgfile = T.checkpoint_config(cfg, tok)
assert cfgfile["fill_in_the_middle"] is True
print("ok")
`;
    assert.match(execFileSync(PYTHON, ['-c', script], { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } }), /ok\n$/);
  });

  it('math_loss_weight: each math position counts that many times a code position; 1 is the plain mean', function () {
    this.timeout(60_000);
    const script = `
import sys, torch
sys.path.insert(0, ${JSON.stringify(path.join(REPO, 'native/train'))})
import train as T
F = T.F
g = torch.Generator().manual_seed(0)
logits, targets = torch.randn(7, 11, generator=g), torch.randint(0, 11, (7,), generator=g)
math = torch.tensor([True, True, False, False, False, True, False])
plain = F.cross_entropy(logits, targets)
assert torch.equal(T.weighted_loss(logits, targets, math, 1), plain)
each = F.cross_entropy(logits, targets, reduction="none")
want = (3 * each[math].sum() + each[~math].sum()) / (3 * 3 + 4)
got = T.weighted_loss(logits, targets, math, 3)
assert abs(float(got - want)) < 1e-6, (float(got), float(want))
# the weight goes to the math positions, not the code ones
swapped = (each[math].sum() + 3 * each[~math].sum()) / (3 + 3 * 4)
assert abs(float(got - swapped)) > 1e-3
print("ok")
`;
    assert.match(execFileSync(PYTHON, ['-c', script], { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } }), /ok\n$/);
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

  it('recall probe: in every format each answer target is the value of the name asked before it, and a curriculum runs', function () {
    this.timeout(120_000);
    const script = `
import random, re, sys
sys.path.insert(0, ${JSON.stringify(path.join(REPO, 'native/train'))})
import recall_probe as R
tok = R.T.Tokenizer(R.T.os.path.join(R.T.TOKENIZER_DIR, "tokenizer.json"))
rng, n = random.Random(1), 0
for fmt, (line, question) in R.FORMATS.items():
    line_re = re.compile(re.escape(line).replace(r"\\{\\}", "([a-z])", 1).replace(r"\\{\\}", "([0-9])"))
    for _ in range(20):
        ids, targets, k = R.program(rng, tok, fmt, 4, n_names=6)
        program = tok.decode(ids).split("\\n")
        values = dict(line_re.fullmatch(l + "\\n").groups() for l in program[:k])
        assert len(values) == k and set(values) <= set("abcdef") and len(set(values.values())) == k
        if fmt in ("python", "compact"):  # valid Python: the answers are what it prints
            env = {}
            exec("".join(l + "\\n" for l in program[:k]), {}, env)
            assert {v: str(x) for v, x in env.items()} == values
        asked = None
        for j, t in enumerate(targets):
            if t < 0:
                continue
            assert ids[j + 1] == t
            before = tok.decode(ids[:j + 1])
            if asked is None:  # the answer digit: the question just before it names the variable
                asked = re.search(re.escape(question).replace(r"\\{\\}", "([a-z])") + "$", before).group(1)
                assert tok.decode([t]) == values[asked], (fmt, before)
                n += 1
            else:  # the stop after it
                assert tok.decode([t]) == "\\n"
                asked = None
assert n == 4 * 20 * len(R.FORMATS), n
assert R.parse_phases("pairs/6@1,compact+python/26@3") == [(1, ["pairs"], 6), (3, ["compact", "python"], 26)]
print("checked", n)
`;
    assert.match(execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' }), /checked 400/);
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

  it('document mask: a packed document sees only itself and the row start, and a lone document gets the plain causal logits; logits at chosen positions only', function () {
    this.timeout(120_000);
    const script = `
import json, sys, torch
sys.path.insert(0, ${JSON.stringify(path.join(REPO, 'native/train'))})
import train as T
E = 9  # <|end_text|> in this toy row
ids = torch.tensor([[0, 5, 6, E, 7, 8, E, 4]])
m = T.document_mask(ids, E)[0, 0]
docs = [0, 0, 0, 0, 1, 1, 1, 2]
for i in range(8):
    for j in range(8):
        assert bool(m[i, j]) == (j <= i and (j == 0 or docs[i] == docs[j])), (i, j, m)
cfg = json.load(open(${JSON.stringify(SMOKE)}))
tok = T.Tokenizer(T.os.path.join(T.TOKENIZER_DIR, "tokenizer.json"))
model = T.Huginn(T.HuginnConfig.from_dict(T.checkpoint_config(cfg, tok)))
model.takase_init_(seed=0)
x = torch.tensor([[tok.token_id("<|begin_text|>")] + tok.encode("a=4\\nb=a\\nb4\\n")])
run = lambda mask: T.train_forward(model, x, model.rope(0, x.shape[1]), 3, 1, 1.0, torch.Generator().manual_seed(0), mask)
plain, masked = run(None), run(T.document_mask(x, tok.token_id("<|end_text|>")))
assert torch.equal(plain, masked), (plain - masked).abs().max()
# the LM head only where the loss looks (at): the same logits at those positions
at = torch.rand(x.shape, generator=torch.Generator().manual_seed(1)) < 0.3
full, few = (T.train_forward(model, x, model.rope(0, x.shape[1]), 3, 1, 1.0, torch.Generator().manual_seed(0), bf16=False, at=a) for a in (None, at))
assert few.shape == (int(at.sum()), full.shape[-1]) and torch.allclose(few, full[at], atol=1e-5), few.shape
print("checked")
`;
    assert.match(execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' }), /checked/);
  });

  it('chain probe: the loss sees exactly the answers and their stops, and it reports every hop at every r', function () {
    this.timeout(120_000);
    const script = `
import random, sys
sys.path.insert(0, ${JSON.stringify(path.join(REPO, 'native/train'))})
import chain_probe as C
tok = C.T.Tokenizer(C.T.os.path.join(C.T.TOKENIZER_DIR, "tokenizer.json"))
rng, n = random.Random(3), 0
for d in range(1, 7):
    pairs = C.math_tasks.chain_training_text(d, rng, 4, "abcdefghijkl")
    ids, targets = C.encode(tok, pairs)
    assert tok.decode(ids) == "".join(q + a for q, a in pairs) + "<|end_text|>"
    want = "".join(a + "\\n" for _, a in pairs)[:-1] + "<|end_text|>"
    assert tok.decode([t for t in targets if t >= 0]) == want, (pairs, targets)
    assert all(t < 0 or ids[j + 1] == t for j, t in enumerate(targets))
    n += 1
print("checked", n)
`;
    assert.match(execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' }), /checked 6/);
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
