import * as assert from 'assert';
import type { CompletionInfo, DepthBudget } from '../../server/protocol';
import {
  buildInlineCompletionRequest,
  parseCompletionInfo,
  parseInlineCompletionResult,
  toLspTriggerKind,
} from '../../src/completionItems';

const budget: DepthBudget = { level: 2, steps: 8, exitThreshold: 0.001, maxTokens: 64, timeCapMs: 2000, multiline: true, explicit: false };
const info: CompletionInfo = {
  requestId: 7,
  tokens: [{ text: 'return', iterations: 8 }, { text: ' x', iterations: 3 }],
  latencyMs: 41.5,
  cached: false,
  budget,
  confidence: 0.72,
  lowConfidence: false,
};

describe('inline completion request and result', function () {
  it('trigger kinds: VS Code Invoke 0 / Automatic 1 become LSP Invoked 1 / Automatic 2', function () {
    assert.strictEqual(toLspTriggerKind(0), 1);
    assert.strictEqual(toLspTriggerKind(1), 2);
  });

  it('builds LSP params with the budget and plain positions', function () {
    // Position-like objects with extra members (as vscode.Position has) are copied down to line/character.
    const position = { line: 3, character: 5, extra: () => 1 };
    const request = buildInlineCompletionRequest({ uri: 'file:///a.ts', position, vscodeTriggerKind: 1, budget });
    assert.deepStrictEqual(JSON.parse(JSON.stringify(request)), {
      textDocument: { uri: 'file:///a.ts' },
      position: { line: 3, character: 5 },
      context: { triggerKind: 2 },
      budget,
    });
    const withSelection = buildInlineCompletionRequest({
      uri: 'file:///a.ts',
      position,
      vscodeTriggerKind: 0,
      selectedCompletionInfo: { range: { start: { line: 3, character: 2 }, end: { line: 3, character: 5 } }, text: 'foo' },
      budget,
    });
    assert.deepStrictEqual(withSelection.context, {
      triggerKind: 1,
      selectedCompletionInfo: { range: { start: { line: 3, character: 2 }, end: { line: 3, character: 5 } }, text: 'foo' },
    });
  });

  it('accepts an InlineCompletionList, a bare item array, or null', function () {
    const item = { insertText: 'x + 1', recurrent: info };
    assert.strictEqual(parseInlineCompletionResult({ items: [item] }).length, 1);
    assert.strictEqual(parseInlineCompletionResult([item]).length, 1);
    assert.deepStrictEqual(parseInlineCompletionResult(null), []);
    assert.deepStrictEqual(parseInlineCompletionResult(undefined), []);
    assert.deepStrictEqual(parseInlineCompletionResult('nonsense'), []);
  });

  it('keeps range, filterText and the recurrent info; snippets are marked', function () {
    const range = { start: { line: 1, character: 0 }, end: { line: 1, character: 4 } };
    const [plain, snippet] = parseInlineCompletionResult({
      items: [
        { insertText: 'let x = 1', range, filterText: 'let', recurrent: info },
        { insertText: { kind: 'snippet', value: 'f(${1:a})' } },
      ],
    });
    assert.deepStrictEqual(plain, { insertText: 'let x = 1', snippet: false, filterText: 'let', range, info });
    assert.deepStrictEqual(snippet, { insertText: 'f(${1:a})', snippet: true });
  });

  it('drops malformed and empty items, and ignores a malformed range or recurrent field', function () {
    const items = parseInlineCompletionResult({
      items: [
        null,
        { insertText: 42 },
        { insertText: '' },
        { insertText: 'ok', range: { start: { line: -1, character: 0 }, end: { line: 0, character: 0 } }, recurrent: { requestId: 'x' } },
      ],
    });
    assert.deepStrictEqual(items, [{ insertText: 'ok', snippet: false }]);
  });

  it('parses CompletionInfo strictly (tokens with text and integer iterations, a full budget)', function () {
    assert.deepStrictEqual(parseCompletionInfo(info), info);
    assert.strictEqual(parseCompletionInfo({ ...info, tokens: [{ text: 'a', iterations: 1.5 }] }), undefined);
    assert.strictEqual(parseCompletionInfo({ ...info, budget: { ...budget, multiline: 'yes' } }), undefined);
    assert.deepStrictEqual(parseCompletionInfo({ ...info, budget: { ...budget, exitThreshold: null } })?.budget.exitThreshold, null);
  });

  it('parses the confidence (a number in [0, 1]) and the low-confidence mark; the budget may omit explicit', function () {
    assert.deepStrictEqual(parseCompletionInfo({ ...info, confidence: 0.2, lowConfidence: true }), { ...info, confidence: 0.2, lowConfidence: true });
    for (const confidence of [-0.1, 1.5, NaN, '0.5', undefined]) assert.strictEqual(parseCompletionInfo({ ...info, confidence }), undefined, String(confidence));
    assert.strictEqual(parseCompletionInfo({ ...info, lowConfidence: 'yes' }), undefined);
    const { explicit: _omitted, ...older } = budget;
    assert.deepStrictEqual(parseCompletionInfo({ ...info, budget: older })?.budget, older);
    assert.strictEqual(parseCompletionInfo({ ...info, budget: { ...budget, explicit: 1 } }), undefined);
  });
});
