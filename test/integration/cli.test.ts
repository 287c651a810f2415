// The recurrent-copilot CLI as a user runs it: a real process, real files, real model.
import * as assert from 'assert';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { makeCheckpoint, referenceLogits, relativeError, REPO, tmpDir } from '../helpers/reference';

const BIN = path.join(REPO, 'bin', 'recurrent-copilot.js');
const SHAPE = { nEmbd: 64, nHeads: 4, prelude: 1, core: 2, coda: 1, intermediate: 128, vocab: 512, seed: 11 };

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 28 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('recurrent-copilot CLI', function () {
  let checkpoint: string;
  let built: string;
  let cache: string;
  before(function () {
    checkpoint = makeCheckpoint(SHAPE);
    built = path.join(tmpDir('cli'), 'model');
    cache = tmpDir('cache');
    const r = cli(['build', '--checkpoint', checkpoint, '--out', built]);
    assert.strictEqual(r.code, 0, r.stderr);
  });

  it('build writes three graphs, the weights, the tokenizer and a manifest', function () {
    for (const f of ['prelude.onnx', 'core.onnx', 'coda.onnx', 'weights.bin', 'tokenizer.json', 'manifest.json']) {
      assert.ok(fs.existsSync(path.join(built, f)), f);
    }
    const m = JSON.parse(fs.readFileSync(path.join(built, 'manifest.json'), 'utf8'));
    assert.strictEqual(m.dtype, 'fp32');
    assert.match(m.source.sha256, /^[0-9a-f]{64}$/);
    assert.strictEqual(m.config.n_embd, 64);
  });

  it('score prints the raw logits of every position, equal to the reference', function () {
    const ids = [3, 1, 4, 1, 5, 9, 2, 6];
    const r = cli(['score', '--model', built, '--ids', ids.join(','), '--steps', '4', '--state-init', 'zero']);
    assert.strictEqual(r.code, 0, r.stderr);
    const logits = (JSON.parse(r.stdout).logits as number[][]).map((row) => Float32Array.from(row));
    assert.strictEqual(logits.length, ids.length);
    assert.strictEqual(logits[0].length, 512);
    assert.ok(relativeError(logits, referenceLogits(checkpoint, ids, 4)) < 1e-4);
  });

  it('generate streams text, and --json reports ids, iterations and the provider', function () {
    const text = cli(['generate', '--model', built, '--prompt', 'def f(x):', '--steps', '3', '--max-tokens', '8', '--seed', '1', '--temperature', '0.8']);
    assert.strictEqual(text.code, 0, text.stderr);
    assert.match(text.stderr, /tokens, (length|eos|stop-sequence), cpu/);
    const json = cli(['generate', '--model', built, '--ids', '1,2,3', '--steps', '3', '--max-tokens', '8', '--json']);
    assert.strictEqual(json.code, 0, json.stderr);
    const out = JSON.parse(json.stdout);
    assert.ok(out.ids.length > 0 && out.ids.length <= 8);
    assert.deepStrictEqual(out.iterations, out.ids.map(() => 3));
    assert.strictEqual(out.provider, 'cpu');
    // Same seed, same output.
    const again = JSON.parse(cli(['generate', '--model', built, '--ids', '1,2,3', '--steps', '3', '--max-tokens', '8', '--json']).stdout);
    assert.deepStrictEqual(again.ids, out.ids);
  });

  it('exposes adaptive exit, KV sharing, warm start, speculative decoding and beam search', function () {
    const run = (...extra: string[]) => {
      const r = cli(['generate', '--model', built, '--ids', '1,2,3', '--steps', '12', '--max-tokens', '8', '--state-init', 'zero', '--json', ...extra]);
      assert.strictEqual(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    const fixed = run();
    const exit = run('--exit', 'latent-diff', '--exit-threshold', '0.05', '--min-steps', '2', '--kv-strategy', 'compress-s8');
    assert.ok(exit.iterations.every((n: number) => n >= 3 && n <= 12));
    assert.ok(exit.kvBytesPerToken < fixed.kvBytesPerToken);
    const spec = run('--draft-steps', '2', '--lookahead', '4');
    assert.deepStrictEqual(spec.ids, fixed.ids);
    assert.ok(spec.speculative.drafted >= spec.speculative.accepted);
    assert.ok(run('--warm-start').ids.length > 0);
    const beams = run('--beams', '3');
    assert.ok(beams.ids.length >= 1 && beams.ids.length <= 8 && ['length', 'eos'].includes(beams.finishReason), JSON.stringify(beams));
    assert.ok(beams.logProb < 0);
    // The document cache over the prompt's own text: a phrase seen before is continued as it was
    // there (this random model alone writes something else, ` 60`).
    const r = cli(['generate', '--model', built, '--prompt', 'a b c d a b c', '--steps', '2', '--max-tokens', '1', '--json', '--document-cache']);
    assert.strictEqual(r.code, 0, r.stderr);
    const cached = JSON.parse(r.stdout);
    assert.ok(cached.text.length > 0 && ' d'.startsWith(cached.text), JSON.stringify(cached));
    // ... and in another file given as open beside it
    const open = path.join(tmpDir('cli-open'), 'other.txt');
    fs.writeFileSync(open, 'a b c d\n');
    const other = cli(['generate', '--model', built, '--prompt', 'a b c', '--steps', '2', '--max-tokens', '1', '--json', '--open-file', open]);
    assert.strictEqual(other.code, 0, other.stderr);
    assert.deepStrictEqual(JSON.parse(other.stdout).ids, cached.ids);
  });

  it('--model accepts a checkpoint folder: built once into the cache, reused while unchanged', function () {
    const env = { RECURRENT_COPILOT_CACHE: cache };
    const args = ['generate', '--model', checkpoint, '--ids', '1,2', '--steps', '2', '--max-tokens', '3', '--json'];
    const first = cli(args, env);
    assert.strictEqual(first.code, 0, first.stderr);
    assert.match(first.stderr, /building/);
    const second = cli(args, env);
    assert.doesNotMatch(second.stderr, /building/);
    assert.deepStrictEqual(JSON.parse(second.stdout).ids, JSON.parse(first.stdout).ids);
    const cfg = path.join(checkpoint, 'config.json');
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(cfg, later, later);
    assert.match(cli(args, env).stderr, /building/);
    assert.strictEqual(fs.readdirSync(cache).length, 1, 'the stale build is removed');
  });

  it('--dtype auto, the default for a checkpoint --model, builds int4 on the CPU; build takes auto too', function () {
    const env = { RECURRENT_COPILOT_CACHE: tmpDir('auto') };
    const args = ['generate', '--model', checkpoint, '--device', 'cpu', '--ids', '1,2', '--steps', '2', '--max-tokens', '3', '--json'];
    const first = cli(args, env);
    assert.strictEqual(first.code, 0, first.stderr);
    assert.match(first.stderr, /building .* \(int4\)/);
    const [folder] = fs.readdirSync(env.RECURRENT_COPILOT_CACHE);
    assert.strictEqual(JSON.parse(fs.readFileSync(path.join(env.RECURRENT_COPILOT_CACHE, folder, 'manifest.json'), 'utf8')).dtype, 'int4');
    // Named explicitly, the same build.
    const again = cli([...args, '--dtype', 'auto'], env);
    assert.strictEqual(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /building/);
    const out = path.join(tmpDir('cli-auto'), 'model');
    const b = cli(['build', '--checkpoint', checkpoint, '--out', out, '--dtype', 'auto', '--device', 'cpu']);
    assert.strictEqual(b.code, 0, b.stderr);
    assert.match(b.stdout, /^built .* \(int4, /);
    assert.strictEqual(JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')).dtype, 'int4');
  });

  it('two processes building the same checkpoint at once both succeed and share one build', async function () {
    const env = { ...process.env, RECURRENT_COPILOT_CACHE: tmpDir('race') };
    const args = [BIN, 'generate', '--model', checkpoint, '--ids', '1,2', '--steps', '2', '--max-tokens', '3', '--json'];
    const run = () =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const p = spawn(process.execPath, args, { env });
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (d) => (stdout += d));
        p.stderr.on('data', (d) => (stderr += d));
        p.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    const [a, b] = await Promise.all([run(), run()]);
    assert.strictEqual(a.code, 0, a.stderr);
    assert.strictEqual(b.code, 0, b.stderr);
    assert.deepStrictEqual(JSON.parse(a.stdout).ids, JSON.parse(b.stdout).ids);
    assert.strictEqual(fs.readdirSync(env.RECURRENT_COPILOT_CACHE).length, 1);
  });

  const bad: [string, string[], number, RegExp][] = [
    ['an unknown command', ['frobnicate'], 2, /unknown command "frobnicate"/],
    ['bad ids', ['score', '--model', '.', '--ids', '1,,2', '--steps', '1'], 2, /--ids must be/],
    ['zero steps', ['score', '--model', '.', '--ids', '1', '--steps', '0'], 2, /--steps must be an integer >= 1/],
    ['both prompt and ids', ['generate', '--model', '.', '--ids', '1', '--prompt', 'x'], 2, /exactly one of/],
    ['an unknown option', ['generate', '--modle', 'x'], 2, /Unknown option/],
    ['a bad dtype', ['build', '--checkpoint', '.', '--out', '/tmp/x', '--dtype', 'int3'], 2, /--dtype must be one of/],
    ['a bad model format', ['generate', '--model', '.', '--ids', '1', '--dtype', 'int8'], 2, /--dtype must be one of auto\|fp32\|fp16\|int4/],
    ['an unknown exit criterion', ['generate', '--model', '.', '--ids', '1', '--exit', 'vibes'], 2, /--exit must be one of/],
    ['a bad KV strategy', ['generate', '--model', '.', '--ids', '1', '--kv-strategy', 'compress-q2'], 2, /unknown KV cache strategy/],
    ['zero beams', ['generate', '--model', '.', '--ids', '1', '--beams', '0'], 2, /--beams must be an integer >= 1/],
    ['a document cache without a prompt', ['generate', '--model', '.', '--ids', '1', '--document-cache'], 2, /--document-cache and --open-file work on a --prompt/],
    ['a missing --open-file', ['generate', '--model', '.', '--prompt', 'x', '--open-file', '/nonexistent/file.py'], 1, /--open-file \/nonexistent\/file.py: no such file/],
    ['a lookahead without draft steps', ['generate', '--model', '.', '--ids', '1', '--lookahead', '2'], 2, /go together/],
    ['a missing model folder', ['generate', '--model', '/nonexistent/model', '--ids', '1'], 1, /model folder not found/],
    ['a folder that is not a model', ['generate', '--model', '/tmp', '--ids', '1'], 1, /neither a built model/],
  ];
  for (const [what, args, code, message] of bad) {
    it(`exits ${code} with one clear line for ${what}`, function () {
      const r = cli(args);
      assert.strictEqual(r.code, code, r.stderr);
      assert.match(r.stderr, message);
      assert.strictEqual(r.stderr.trim().split('\n').length, 1, r.stderr);
    });
  }

  it('without --model, generate uses the shipped default model (as the editor does)', function () {
    const args = ['--prompt', '12 + 7 = ', '--steps', '8', '--max-tokens', '4', '--stop', '\n', '--json'];
    const r = cli(['generate', ...args]);
    assert.strictEqual(r.code, 0, r.stderr);
    const explicit = cli(['generate', '--model', path.join(REPO, 'native', 'models', 'default'), ...args]);
    assert.strictEqual(explicit.code, 0, explicit.stderr);
    assert.deepStrictEqual(JSON.parse(r.stdout).ids, JSON.parse(explicit.stdout).ids);
    assert.ok(JSON.parse(r.stdout).ids.length > 0);
  });

  it('rejects token ids outside the vocabulary', function () {
    const r = cli(['score', '--model', built, '--ids', '1,99999', '--steps', '1']);
    assert.strictEqual(r.code, 1);
    assert.match(r.stderr, /token id 99999 is outside the vocabulary/);
  });
});
