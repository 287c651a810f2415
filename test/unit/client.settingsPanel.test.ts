import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { DEVICES, MODEL_FORMATS } from '../../server/protocol';
import { LIMITS } from '../../src/config';
import { contentSecurityPolicy, makeNonce, renderSettingsHtml } from '../../src/settingsHtml';
import { parseWebviewMessage } from '../../src/settingsMessages';

const media = path.resolve(__dirname, '../../../media');
const template = fs.readFileSync(path.join(media, 'settings.html'), 'utf8');
const script = fs.readFileSync(path.join(media, 'settings.js'), 'utf8');

describe('settings webview messages', function () {
  it('accepts the plain requests', function () {
    for (const type of ['ready', 'browseModel', 'showOutput']) {
      assert.deepStrictEqual(parseWebviewMessage({ type }), { ok: true, message: { type } });
    }
  });

  it('accepts a valid update and returns the checked value', function () {
    assert.deepStrictEqual(parseWebviewMessage({ type: 'update', key: 'baseLevel', value: 3 }), {
      ok: true,
      message: { type: 'update', key: 'baseLevel', value: 3 },
    });
    const languages = parseWebviewMessage({ type: 'update', key: 'languageLevels', value: { latex: 4 } });
    assert.ok(languages.ok);
    assert.ok(parseWebviewMessage({ type: 'update', key: 'modelFormat', value: 'int4' }).ok);
  });

  it('rejects anything else before it reaches the settings', function () {
    const bad: unknown[] = [
      null,
      'ready',
      { type: 'eval', code: '1' },
      { type: 'update' },
      { type: 'update', key: 'baseLevel', value: 9 },
      { type: 'update', key: 'baseLevel', value: '3' },
      { type: 'update', key: 'device', value: 'quantum' },
      { type: 'update', key: 'modelFormat', value: 'int8' },
      { type: 'update', key: 'stepsPerLevel', value: [1, 2, 3, 4, -5] },
      { type: 'update', key: 'languageLevels', value: { '<script>': 1 } },
      { type: 'update', key: 'files.autoSave', value: 'off' },
    ];
    for (const message of bad) assert.strictEqual(parseWebviewMessage(message).ok, false, JSON.stringify(message));
  });
});

describe('settings webview page', function () {
  const html = renderSettingsHtml(template, {
    cspSource: 'https://webview.example',
    nonce: 'abc123',
    styleUri: 'https://webview.example/settings.css',
    scriptUri: 'https://webview.example/settings.js',
  });

  it('has a strict CSP: nothing by default, scripts only by nonce, styles and images only from the webview', function () {
    const csp = contentSecurityPolicy('https://webview.example', 'abc123');
    assert.ok(csp.startsWith("default-src 'none'"));
    assert.ok(csp.includes("script-src 'nonce-abc123'"));
    assert.ok(csp.includes('style-src https://webview.example'));
    assert.ok(csp.includes('img-src https://webview.example data:'));
    assert.ok(!csp.includes('unsafe'));
    assert.ok(html.includes(`<meta http-equiv="Content-Security-Policy" content="${csp}">`));
  });

  it('fills every placeholder; the only script carries the nonce', function () {
    assert.ok(!html.includes('{{'));
    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    assert.deepStrictEqual(scripts, ['<script nonce="abc123" src="https://webview.example/settings.js">']);
    assert.throws(() => renderSettingsHtml('{{unknown}}', { cspSource: '', nonce: '', styleUri: '', scriptUri: '' }));
  });

  it('has no inline handlers, inline styles or remote resources', function () {
    assert.ok(!/\son[a-z]+\s*=/i.test(template), 'inline event handler');
    assert.ok(!/\sstyle\s*=/i.test(template), 'inline style');
    assert.ok(!/<style\b/i.test(template), 'style element');
    assert.ok(!/(https?:)?\/\/[a-z]/i.test(template.replace(/<!DOCTYPE[^>]*>/, '')), 'remote URL in the template');
    assert.ok(!/https?:\/\//.test(script), 'remote URL in the script');
    assert.ok(!/\binnerHTML\b|\beval\(|new Function\(/.test(script), 'innerHTML / eval in the script');
  });

  it('has the stable element ids the browser tests drive', function () {
    const ids = [
      'enabled', 'baseLevel', 'steps0', 'steps4', 'exitThreshold', 'maxTokens', 'timeCapMs', 'debounce',
      'languageRows', 'newLanguage', 'newLanguageLevel', 'addLanguage', 'modelPath', 'browseModel', 'defaultModel',
      'device', 'modelFormat', 'prefixChars', 'suffixChars', 'beamWidth', 'minConfidence', 'minConfidenceValue', 'computeMapEnabled', 'latencyChart', 'iterationsChart', 'serverState',
      'lastLatency', 'tokensPerSecond', 'lastDecision', 'message',
    ];
    for (const id of ids) assert.ok(template.includes(`id="${id}"`), id);
  });

  it('number inputs have the ranges config.ts checks', function () {
    const range = (id: string) => {
      const tag = new RegExp(`<input[^>]*id="${id}"[^>]*>`).exec(template)?.[0] ?? '';
      return [Number(/min="([^"]+)"/.exec(tag)?.[1]), Number(/max="([^"]+)"/.exec(tag)?.[1])];
    };
    assert.deepStrictEqual(range('baseLevel'), [LIMITS.baseLevel.min, LIMITS.baseLevel.max]);
    for (const level of [0, 1, 2, 3, 4]) assert.deepStrictEqual(range(`steps${level}`), [LIMITS.steps.min, LIMITS.steps.max]);
    assert.deepStrictEqual(range('exitThreshold'), [LIMITS.exitThreshold.min, LIMITS.exitThreshold.max]);
    assert.deepStrictEqual(range('maxTokens'), [LIMITS.maxTokens.min, LIMITS.maxTokens.max]);
    assert.deepStrictEqual(range('timeCapMs'), [LIMITS.timeCapMs.min, LIMITS.timeCapMs.max]);
    assert.deepStrictEqual(range('debounce'), [LIMITS.debounceMs.min, LIMITS.debounceMs.max]);
    assert.deepStrictEqual(range('prefixChars'), [LIMITS.prefixChars.min, LIMITS.prefixChars.max]);
    assert.deepStrictEqual(range('suffixChars'), [LIMITS.suffixChars.min, LIMITS.suffixChars.max]);
    assert.deepStrictEqual(range('beamWidth'), [LIMITS.beamWidth.min, LIMITS.beamWidth.max]);
    assert.deepStrictEqual(range('minConfidence'), [LIMITS.minConfidence.min, LIMITS.minConfidence.max]);
  });

  it('the minimum confidence is a slider that proposes the minConfidence setting', function () {
    assert.match(template, /<input type="range" id="minConfidence"[^>]*step="0\.05"/);
    assert.ok(script.includes("numberSetting('minConfidence', 'minConfidence', false)"));
  });

  it('the build format select offers exactly the formats config.ts accepts', function () {
    const select = /<select id="modelFormat">([\s\S]*?)<\/select>/.exec(template)?.[1] ?? '';
    assert.deepStrictEqual([...select.matchAll(/value="([^"]+)"/g)].map((m) => m[1]), [...MODEL_FORMATS]);
    assert.ok(script.includes("update('modelFormat'"));
  });

  it('the device select offers exactly the devices config.ts accepts', function () {
    const select = /<select id="device">([\s\S]*?)<\/select>/.exec(template)?.[1] ?? '';
    assert.deepStrictEqual([...select.matchAll(/value="([^"]+)"/g)].map((m) => m[1]), [...DEVICES]);
    assert.ok(script.includes("update('device'"));
  });

  it('nonces are fresh and attribute-safe', function () {
    const a = makeNonce(), b = makeNonce();
    assert.notStrictEqual(a, b);
    assert.match(a, /^[A-Za-z0-9]{16,}$/);
  });
});
