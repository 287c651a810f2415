// The confidence gate through the language server process, on the shipped default model: the
// minConfidence setting (initializationOptions and recurrent/configure) reaches the completion
// path, automatic requests show only what passes it, explicit ones pass half of it and are marked.
import * as assert from 'assert';
import { LspSession } from '../helpers/lspClient';

const DOC = 'file:///project/gate.py';
const TEXT = 'import os\nimport sys\n\n\ndef main(argv):\n    for name in os.listdir(argv[1]):\n        print(name)\n\n\nif __name__ == ';
const LINE = 9;
const CHAR = 'if __name__ == '.length;

interface Item {
  insertText: string;
  recurrent: { confidence: number; lowConfidence: boolean; cached: boolean; budget: { explicit: boolean } };
}

describe('confidence gate through the language server', function () {
  let lsp: LspSession;
  const budget = (explicit: boolean) => ({ level: 2, steps: 4, exitThreshold: null, maxTokens: 16, timeCapMs: 60000, multiline: false, explicit });
  const complete = async (explicit: boolean) => (await lsp.complete(DOC, LINE, CHAR, budget(explicit))).items as unknown as Item[];
  const configure = async (minConfidence: number) => {
    await lsp.conn.sendNotification('recurrent/configure', { device: 'cpu', minConfidence });
    await lsp.waitForState(['ready']);
  };

  before(async function () {
    lsp = new LspSession({});
    await lsp.initialize({ device: 'cpu', minConfidence: 0 });
    const status = await lsp.waitForState(['ready', 'error']);
    assert.strictEqual(status.state, 'ready', status.message);
    lsp.open(DOC, TEXT);
  });
  after(() => lsp?.close());

  it('minConfidence 0 shows the whole ghost text with its confidence; a bar between it and twice it holds it back from automatic requests only', async function () {
    const [whole] = await complete(false);
    assert.ok(whole, 'the default model completes `if __name__ == `');
    const c = whole.recurrent.confidence;
    assert.ok(c > 0 && c < 1 && !whole.recurrent.lowConfidence, JSON.stringify(whole.recurrent));
    assert.strictEqual(whole.recurrent.budget.explicit, false);

    // An explicit request decodes with its own budget (more tokens and time), so its whole text
    // and confidence are its own; the bar is set above them, within reach of its half of the bar.
    const [explicitWhole] = await complete(true);
    assert.ok(explicitWhole && !explicitWhole.recurrent.lowConfidence, JSON.stringify(explicitWhole?.recurrent));
    const ce = explicitWhole.recurrent.confidence;
    const bar = (ce + Math.min(1, 2 * ce)) / 2;
    await configure(bar);
    const automatic = await complete(false);
    for (const item of automatic) {
      assert.ok(item.recurrent.confidence >= bar && !item.recurrent.lowConfidence, JSON.stringify(item.recurrent));
      assert.ok(whole.insertText.startsWith(item.insertText) && (item.insertText.length < whole.insertText.length || c >= bar), item.insertText);
    }
    const [asked] = await complete(true);
    assert.ok(asked, 'the explicit request shows the text below the bar');
    assert.strictEqual(asked.insertText, explicitWhole.insertText);
    // Recomputed (the configuration cleared the cache) from a reused prompt: equal to rounding.
    assert.ok(Math.abs(asked.recurrent.confidence - ce) < 1e-3 * ce, `${asked.recurrent.confidence} vs ${ce}`);
    assert.strictEqual(asked.recurrent.lowConfidence, true);
    assert.strictEqual(asked.recurrent.budget.explicit, true);
  });

  it('a bar past every confidence shows nothing automatically; an explicit request shows only what passes half of it, marked', async function () {
    await configure(1);
    assert.deepStrictEqual(await complete(false), []);
    for (const item of await complete(true)) assert.ok(item.recurrent.confidence >= 0.5 && item.recurrent.lowConfidence, JSON.stringify(item.recurrent));
  });

  it('an invalid minConfidence is ignored (the last valid settings stay)', async function () {
    await configure(0);
    await lsp.conn.sendNotification('recurrent/configure', { device: 'cpu', minConfidence: 1.5 });
    await lsp.waitForState(['ready']);
    assert.ok((await complete(false)).length === 1);
    assert.ok(lsp.logs.some((l) => /minConfidence must be a number in \[0, 1\]/.test(l)), lsp.logs.join(''));
  });
});
