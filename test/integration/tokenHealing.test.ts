// Token healing, the first-token constraints and the completion prompt on the shipped default
// model (its real tokenizer): the prompt gives back its trailing tokens, the first generated token
// must start with their text, and the result leaves that text out; FIM prompts only for a model
// whose config allows them.
import * as assert from 'assert';
import { Engine } from '../../server/engine/engine';
import { cursorPrompt } from '../../server/engine/prompt';
import { firstTokenMask, healPrompt } from '../../server/engine/tokenHealing';
import { defaultModelDir } from '../../server/engine/modelResolver';
import { BLANK_LINE_START } from '../../server/lsp/postprocess';
import { copyWithConfig } from '../helpers/reference';

describe('token healing and completion prompts (default model)', function () {
  let engine: Engine;
  const texts = () => engine.model.tokenizer.tokenTexts(engine.model.cfg.vocabSize);

  before(async function () {
    engine = await Engine.open(defaultModelDir(), { device: 'cpu', threads: 1 });
  });
  after(() => engine?.close());

  it('gives back the word fragment at the end of the prompt', function () {
    const ids = engine.encode('import os\n\ncla');
    const healed = healPrompt(engine.model, ids);
    // `c` + `la` back: `class` is one token.
    assert.strictEqual(healed.healedText, 'cla');
    // What was given back, put back, is the prompt again.
    assert.strictEqual(engine.model.tokenizer.decode(healed.ids) + healed.healedText, 'import os\n\ncla');
    assert.ok(texts().some((t) => t.startsWith(healed.healedText!)));
  });

  it('never gives back a line break or a special token', function () {
    assert.strictEqual(healPrompt(engine.model, engine.encode('x = 1\n')).healedText, undefined);
    const st = engine.model.manifest.specialTokens;
    assert.strictEqual(healPrompt(engine.model, [st.bos!]).healedText, undefined);
  });

  it('the first generated token starts with the healed text, which the result leaves out', async function () {
    for (const prompt of ['import os\n\ncla', 'def __init__(sel', 'for i in ran', 'x = foo(1, 2']) {
      const ids = engine.encode(prompt);
      const { healedText } = healPrompt(engine.model, ids);
      const r = await engine.generate({ prompt, heal: true, steps: 4, maxTokens: 6, seed: 0 });
      assert.ok(healedText !== undefined, prompt);
      const raw = engine.model.tokenizer.decode(r.ids);
      assert.ok(texts()[r.ids[0]].startsWith(healedText!), `${prompt}: first token ${JSON.stringify(texts()[r.ids[0]])}`);
      assert.strictEqual(r.text, raw.slice(healedText!.length));
    }
  });

  it('stop sequences apply to the text after the healed part', async function () {
    const prompt = 'x = foo(1, 2';
    const { healedText } = healPrompt(engine.model, engine.encode(prompt));
    assert.ok(healedText?.includes('2'), JSON.stringify(healedText));
    const r = await engine.generate({ prompt, heal: true, steps: 4, maxTokens: 12, stop: ['2'] });
    assert.ok(!r.text.includes('2'));
    // The healed `2` itself is not a stop: one came only from the generated text.
    if (r.finishReason === 'stop-sequence') assert.ok(engine.model.tokenizer.decode(r.ids).slice(healedText!.length).includes('2'));
  });

  it('a first-token pattern (the editor\'s blank-line rule): the first token holds text, the rest is free', async function () {
    // At the end of a file the model's own first choice is another line break.
    const prompt = 'export function area(r: number): number {\n  return Math.PI * r * r;\n}\n\n';
    const free = await engine.generate({ prompt, steps: 8, maxTokens: 8 });
    assert.ok(/^\s/.test(free.text), `the model starts with text anyway: ${JSON.stringify(free.text)}`);
    const r = await engine.generate({ prompt, steps: 8, maxTokens: 8, firstTokenPattern: BLANK_LINE_START });
    assert.ok(/\S/.test(texts()[r.ids[0]]), JSON.stringify(texts()[r.ids[0]]));
  });

  it('the blank-line rule: the first token does not open with a closing bracket (nothing is open on a blank line)', async function () {
    // The end-to-end test's file: at the blank line after its last statement the likeliest
    // blocks are lone closers, which post-processing would cut to no ghost text at all.
    const prompt = 'def add(a, b):\n    return a + b\n\n\ndef fib(n):\n    """Return the n-th Fibonacci number."""\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n\n\nresult = add(1, 2)\n';
    // (With a first token that only had to hold text, the beam search's answer here was `}`.)
    const r = await engine.generate({ prompt, steps: 8, maxTokens: 32, stop: ['\n\n'], beams: 4, firstTokenPattern: BLANK_LINE_START });
    assert.match(r.text, /^\s*[^\s)\]}]/, JSON.stringify(r.text));
    const mask = firstTokenMask(engine.model, { firstTokenPattern: BLANK_LINE_START })!;
    const closers = texts().filter((t) => /^\s*[)\]}]/.test(t)).length;
    assert.ok(closers > 10, `${closers} tokens start with a closer`);
    assert.ok(mask.length > 1000 && mask.every((id) => /^\s*[^\s)\]}]/.test(texts()[id])), `${mask.length} ids allowed`);
  });

  it('healed greedy output is the same under self-speculative decoding', async function () {
    const req = { prompt: 'def __init__(sel', heal: true, steps: 8, maxTokens: 8, stateInit: 'zero' as const };
    const plain = await engine.generate(req);
    const spec = await engine.generate({ ...req, speculative: { draftSteps: 2, lookahead: 3 } });
    assert.deepStrictEqual(spec.ids, plain.ids);
    assert.strictEqual(spec.text, plain.text);
  });

  it('a model whose config says fill_in_the_middle: false gets <|begin_text|> and the prefix alone', function () {
    assert.strictEqual(engine.model.cfg.fillInTheMiddle, false);
    const st = engine.model.manifest.specialTokens;
    const { ids } = cursorPrompt(engine.model, 'def f(x):\n    return x', '\n\nprint(f(2))\n', 16);
    assert.strictEqual(ids[0], st.bos);
    assert.deepStrictEqual(ids.slice(1), engine.model.tokenizer.encodeUntrusted('def f(x):\n    return x'));
  });

  it('the same weights with fill_in_the_middle allowed get the FIM layout', async function () {
    const dir = copyWithConfig(defaultModelDir(), (cfg) => delete cfg.fill_in_the_middle, 'fim-model');
    const fim = await Engine.open(dir, { device: 'cpu', threads: 1 });
    try {
      const st = fim.model.manifest.specialTokens;
      const tok = fim.model.tokenizer;
      const { ids, healedText } = cursorPrompt(fim.model, 'def f(x):\n    ret', '\n\nprint(f(2))\n', 16, true);
      const healed = healPrompt(fim.model, tok.encodeUntrusted('def f(x):\n    ret'));
      assert.ok(healed.healedText !== undefined && healedText === healed.healedText);
      assert.deepStrictEqual(ids, [st.fimPrefix, ...healed.ids, st.fimSuffix, ...tok.encodeUntrusted('\n\nprint(f(2))\n'), st.fimMiddle]);
    } finally {
      await fim.close();
    }
  });
});
