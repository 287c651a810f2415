// The document cache on the shipped default model: a name defined far above the cursor, or in another
// open document, is copied into the ghost text, by every decoder alike, and the token ids are checked.
import * as assert from 'assert';
import { Engine } from '../../server/engine/engine';
import { generate } from '../../server/engine/generate';
import { defaultModelDir } from '../../server/engine/modelResolver';

// A made-up name the model cannot know, defined earlier in the file, typed again at the cursor.
const DOC = 'import os\n\n\ndef frobnicate_widgets(path, depth=3):\n    """Walks path."""\n    return [os.path.join(path, n) for n in os.listdir(path)]\n\n\ndef main(argv):\n    found = frobnic';

describe('document cache (default model)', function () {
  let engine: Engine;
  const ghost = (extra: object) => engine.generate({ fim: { prefix: DOC, suffix: '' }, heal: true, steps: 8, maxTokens: 16, stop: ['\n'], ...extra });

  before(async function () {
    engine = await Engine.open(defaultModelDir(), { device: 'cpu', threads: 1 });
  });
  after(() => engine?.close());

  it('copies a name from the document, where the model alone guesses another', async function () {
    const alone = await ghost({ beams: 4 });
    assert.ok(!alone.text.startsWith('ate_widgets'), alone.text);
    const copied = await ghost({ beams: 4, document: { before: DOC } });
    assert.ok(copied.text.startsWith('ate_widgets'), copied.text);
    // the reported log-probabilities are those of the distribution it decoded from
    const sum = copied.tokenLogProbs!.reduce((a, b) => a + b, 0);
    assert.ok(copied.logProb! <= sum + 1e-6 && sum < 0, `${copied.logProb} vs ${sum}`);
  });

  it('greedy, speculative and beam decoding read the same mixed distribution', async function () {
    const greedy = await ghost({ document: { before: DOC } });
    const speculative = await ghost({ document: { before: DOC }, speculative: { draftSteps: 2, lookahead: 3 } });
    assert.ok(greedy.text.startsWith('ate_widgets'), greedy.text);
    assert.strictEqual(speculative.text, greedy.text);
    assert.deepStrictEqual(speculative.ids, greedy.ids);
  });

  it('copies a name defined in another open document', async function () {
    const lib = DOC.slice(0, DOC.indexOf('def main'));
    const use = 'from lib import *\n\n\ndef main(argv):\n    found = frobnic';
    const own = (extra: object) => engine.generate({ fim: { prefix: use, suffix: '' }, heal: true, steps: 8, maxTokens: 16, stop: ['\n'], beams: 4, ...extra });
    assert.ok(!(await own({ document: { before: use } })).text.startsWith('ate_widgets'));
    const copied = await own({ document: { before: use, others: ['import sys\n', lib] } });
    assert.ok(copied.text.startsWith('ate_widgets'), copied.text);
  });

  it('rejects document token ids outside the vocabulary', async function () {
    const vocab = engine.model.cfg.vocabSize;
    const ids = engine.encode('x = 1\n');
    await assert.rejects(generate(engine.model, { ids, steps: 2, maxTokens: 2, documentIds: { before: [1, vocab] } }), /token id \d+ is outside the vocabulary/);
    await assert.rejects(generate(engine.model, { ids, steps: 2, maxTokens: 2, documentIds: { before: [1], after: [-1] } }), /token id -1 is outside the vocabulary/);
    await assert.rejects(generate(engine.model, { ids, steps: 2, maxTokens: 2, documentIds: { before: [1], others: [[2], [0.5]] } }), /token id 0.5 is outside the vocabulary/);
  });
});
