import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { COMMANDS, COMPUTE_MAP_AVAILABLE } from '../../src/commandIds';
import {
  checkSetting,
  DEFAULTS,
  LIMITS,
  readConfig,
  sameServerSettings,
  SECTION,
  SETTING_KEYS,
  toPolicySettings,
  toServerSettings,
} from '../../src/config';
import { DEVICES, MODEL_FORMATS } from '../../server/protocol';

const root = path.resolve(__dirname, '../../..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const source = (values: Record<string, unknown>) => ({ get: (key: string) => values[key] });

describe('configuration', function () {
  it('reads the defaults when nothing is set', function () {
    const { config, problems } = readConfig(source({}));
    assert.deepStrictEqual(config, DEFAULTS);
    assert.deepStrictEqual(problems, []);
    // A copy: changing it does not change the defaults.
    config.stepsPerLevel[0] = 99;
    assert.strictEqual(DEFAULTS.stepsPerLevel[0], 2);
  });

  it('takes valid values and replaces invalid ones by the default, saying so', function () {
    const { config, problems } = readConfig(
      source({ baseLevel: 3, 'computeMap.enabled': false, maxTokens: 0, device: 'tpu', stepsPerLevel: [1, 2, 3], languageLevels: { python: 4 } }),
    );
    assert.strictEqual(config.baseLevel, 3);
    assert.strictEqual(config.computeMapEnabled, false);
    assert.strictEqual(config.maxTokens, DEFAULTS.maxTokens);
    assert.strictEqual(config.device, 'auto');
    assert.deepStrictEqual(config.stepsPerLevel, DEFAULTS.stepsPerLevel);
    assert.deepStrictEqual(config.languageLevels, { python: 4 });
    assert.deepStrictEqual(problems.map((p) => p.split(':')[0]), [
      'recurrentCopilot.stepsPerLevel', 'recurrentCopilot.maxTokens', 'recurrentCopilot.device',
    ]);
  });

  it('checks each setting by type and range', function () {
    assert.ok(checkSetting('baseLevel', 4).ok);
    assert.ok(!checkSetting('baseLevel', 5).ok);
    assert.ok(!checkSetting('baseLevel', 2.5).ok);
    assert.ok(!checkSetting('baseLevel', '2').ok);
    assert.ok(checkSetting('exitThreshold', 0.0005).ok);
    assert.ok(checkSetting('exitThreshold', 0).ok);
    assert.ok(!checkSetting('exitThreshold', -1).ok);
    assert.ok(!checkSetting('exitThreshold', Number.NaN).ok);
    assert.ok(checkSetting('stepsPerLevel', [1, 2, 4, 8, 256]).ok);
    assert.ok(!checkSetting('stepsPerLevel', [1, 2, 4, 8, 257]).ok);
    assert.ok(!checkSetting('stepsPerLevel', [1, 2, 4, 8]).ok);
    assert.ok(checkSetting('languageLevels', { 'objective-cpp': 2, 'c#': 1 }).ok);
    assert.ok(!checkSetting('languageLevels', { 'bad id': 2 }).ok);
    assert.ok(!checkSetting('languageLevels', { python: 7 }).ok);
    assert.ok(!checkSetting('languageLevels', [1]).ok);
    assert.ok(checkSetting('modelPath', '/models/huginn').ok);
    assert.ok(!checkSetting('modelPath', 'a\u0000b').ok);
    assert.ok(!checkSetting('modelPath', 3).ok);
    for (const device of ['auto', 'cpu', 'webgpu', 'cuda']) assert.ok(checkSetting('device', device).ok, device);
    assert.ok(!checkSetting('device', 'gpu').ok);
    assert.ok(!checkSetting('device', 'vulkan').ok);
    for (const format of ['auto', 'fp32', 'fp16', 'int4']) assert.ok(checkSetting('modelFormat', format).ok, format);
    assert.ok(!checkSetting('modelFormat', 'int8').ok);
    assert.ok(!checkSetting('modelFormat', 4).ok);
    assert.ok(checkSetting('minConfidence', 0).ok && checkSetting('minConfidence', 0.35).ok && checkSetting('minConfidence', 1).ok);
    assert.ok(!checkSetting('minConfidence', 1.2).ok);
    assert.ok(!checkSetting('minConfidence', -0.1).ok);
    assert.ok(!checkSetting('minConfidence', '0.5').ok);
    assert.ok(checkSetting('computeMap.enabled', true).ok);
    assert.ok(!checkSetting('computeMap.enabled', 'true').ok);
    assert.ok(!checkSetting('somethingElse', 1).ok);
  });

  it('a language called __proto__ stays an ordinary key', function () {
    const checked = checkSetting('languageLevels', JSON.parse('{"__proto__": 3}'));
    assert.ok(checked.ok);
    assert.strictEqual(Object.getPrototypeOf(checked.value), Object.prototype);
    assert.deepStrictEqual(Object.keys(checked.value as object), ['__proto__']);
  });

  it('server settings: empty model path means the shipped model (null)', function () {
    assert.deepStrictEqual(toServerSettings(DEFAULTS), { modelPath: null, device: 'auto', modelFormat: 'auto', prefixChars: 2000, suffixChars: 500, beamWidth: 4, minConfidence: 0.5 });
    assert.ok(!sameServerSettings(toServerSettings({ ...DEFAULTS, beamWidth: 1 }), toServerSettings(DEFAULTS)));
    assert.ok(!sameServerSettings(toServerSettings({ ...DEFAULTS, minConfidence: 0.2 }), toServerSettings(DEFAULTS)));
    assert.ok(!sameServerSettings(toServerSettings({ ...DEFAULTS, modelFormat: 'int4' }), toServerSettings(DEFAULTS)));
    const custom = toServerSettings({ ...DEFAULTS, modelPath: '  /m  ', device: 'cpu' });
    assert.strictEqual(custom.modelPath, '/m');
    assert.ok(!sameServerSettings(custom, toServerSettings(DEFAULTS)));
    assert.ok(sameServerSettings(toServerSettings(DEFAULTS), toServerSettings({ ...DEFAULTS, baseLevel: 4 })));
  });

  it('policy settings carry the think offset', function () {
    const policy = toPolicySettings(DEFAULTS, -1);
    assert.strictEqual(policy.thinkOffset, -1);
    assert.strictEqual(policy.baseLevel, 2);
  });
});

describe('package.json contributions', function () {
  const properties: Record<string, Record<string, unknown>> = pkg.contributes.configuration.properties;

  it('main and activation', function () {
    assert.strictEqual(pkg.main, './out/src/extension.js');
    assert.deepStrictEqual(pkg.activationEvents, ['onStartupFinished']);
  });

  it('contributes exactly the settings config.ts reads, with its defaults', function () {
    const expected = Object.values(SETTING_KEYS).map((k) => `${SECTION}.${k}`).sort();
    assert.deepStrictEqual(Object.keys(properties).sort(), expected);
    for (const [field, key] of Object.entries(SETTING_KEYS)) {
      assert.deepStrictEqual(properties[`${SECTION}.${key}`].default, (DEFAULTS as unknown as Record<string, unknown>)[field], key);
    }
  });

  it('ranges agree with config.ts', function () {
    const range = (key: string) => [properties[`${SECTION}.${key}`].minimum, properties[`${SECTION}.${key}`].maximum];
    assert.deepStrictEqual(range('baseLevel'), [LIMITS.baseLevel.min, LIMITS.baseLevel.max]);
    assert.deepStrictEqual(range('exitThreshold'), [LIMITS.exitThreshold.min, LIMITS.exitThreshold.max]);
    assert.deepStrictEqual(range('maxTokens'), [LIMITS.maxTokens.min, LIMITS.maxTokens.max]);
    assert.deepStrictEqual(range('timeCapMs'), [LIMITS.timeCapMs.min, LIMITS.timeCapMs.max]);
    assert.deepStrictEqual(range('debounceMs'), [LIMITS.debounceMs.min, LIMITS.debounceMs.max]);
    assert.deepStrictEqual(range('prefixChars'), [LIMITS.prefixChars.min, LIMITS.prefixChars.max]);
    assert.deepStrictEqual(range('suffixChars'), [LIMITS.suffixChars.min, LIMITS.suffixChars.max]);
    assert.deepStrictEqual(range('beamWidth'), [LIMITS.beamWidth.min, LIMITS.beamWidth.max]);
    assert.deepStrictEqual(range('minConfidence'), [LIMITS.minConfidence.min, LIMITS.minConfidence.max]);
    assert.strictEqual(properties[`${SECTION}.minConfidence`].type, 'number');
    const steps = properties[`${SECTION}.stepsPerLevel`] as { items: { minimum: number; maximum: number } };
    assert.deepStrictEqual([steps.items.minimum, steps.items.maximum], [LIMITS.steps.min, LIMITS.steps.max]);
    assert.deepStrictEqual(properties[`${SECTION}.device`].enum, [...DEVICES]);
    assert.deepStrictEqual([...DEVICES], ['auto', 'cpu', 'webgpu', 'cuda']);
    assert.deepStrictEqual(properties[`${SECTION}.modelFormat`].enum, [...MODEL_FORMATS]);
  });

  it('enum settings describe each value', function () {
    for (const key of ['device', 'modelFormat']) {
      const property = properties[`${SECTION}.${key}`] as { enum: string[]; enumDescriptions: string[] };
      assert.strictEqual(property.enumDescriptions.length, property.enum.length, key);
    }
  });

  it('the model, where it runs and its build format are machine-overridable (remote windows set them per machine)', function () {
    for (const key of [SETTING_KEYS.modelPath, SETTING_KEYS.device, SETTING_KEYS.modelFormat]) {
      assert.strictEqual(properties[`${SECTION}.${key}`].scope, 'machine-overridable', key);
    }
  });

  it('contributes the commands under the "Recurrent Copilot" category', function () {
    const commands: { command: string; category: string; title: string }[] = pkg.contributes.commands;
    assert.deepStrictEqual(commands.map((c) => c.command).sort(), Object.values(COMMANDS).sort());
    for (const c of commands) assert.strictEqual(c.category, 'Recurrent Copilot', c.command);
    const computeMap = commands.find((c) => c.command === COMMANDS.showComputeMap) as unknown as { enablement: string };
    assert.strictEqual(computeMap.enablement, COMPUTE_MAP_AVAILABLE);
  });

  it('keybindings: ctrl+alt chords for our commands, Alt+\\ for VS Code\'s inline-suggest trigger, scoped to the editor, none twice', function () {
    const bindings: { command: string; key: string; when: string }[] = pkg.contributes.keybindings;
    const byCommand = Object.fromEntries(bindings.map((b) => [b.command, b.key]));
    assert.strictEqual(byCommand[COMMANDS.thinkHarder], 'ctrl+alt+]');
    assert.strictEqual(byCommand[COMMANDS.thinkLess], 'ctrl+alt+[');
    assert.strictEqual(new Set(bindings.map((b) => b.key)).size, bindings.length);
    // VS Code 1.139 gives "Trigger Inline Suggestion" no default key; we bind the customary one.
    assert.strictEqual(byCommand['editor.action.inlineSuggest.trigger'], 'alt+\\');
    for (const b of bindings) {
      assert.ok(b.when.includes('editorTextFocus'), b.command);
      assert.ok(Object.values(COMMANDS).includes(b.command as never) || b.command === 'editor.action.inlineSuggest.trigger', b.command);
    }
  });

  it('the icon exists and is a PNG', function () {
    const icon = fs.readFileSync(path.join(root, pkg.icon));
    assert.strictEqual(icon.subarray(1, 4).toString(), 'PNG');
  });
});
