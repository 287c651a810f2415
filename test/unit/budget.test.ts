import * as assert from 'assert';
import { parseBudget } from '../../server/lsp/budget';
import { DEFAULT_BUDGET, DEFAULT_MIN_CONFIDENCE } from '../../server/protocol';
import { parseSettings } from '../../server/lsp/settings';

describe('request budget and server settings', function () {
  it('defaults a missing budget and fills missing fields', function () {
    assert.deepStrictEqual(parseBudget(undefined), DEFAULT_BUDGET);
    assert.deepStrictEqual(parseBudget({ steps: 16 }), { ...DEFAULT_BUDGET, steps: 16 });
    assert.strictEqual(parseBudget({ exitThreshold: null }).exitThreshold, null);
  });

  it('rejects wrong types and out-of-range values, naming the field', function () {
    assert.throws(() => parseBudget('deep'), /budget must be an object/);
    assert.throws(() => parseBudget({ steps: 0 }), /budget\.steps/);
    assert.throws(() => parseBudget({ steps: 1.5 }), /budget\.steps/);
    assert.throws(() => parseBudget({ maxTokens: 1e9 }), /budget\.maxTokens/);
    assert.throws(() => parseBudget({ timeCapMs: -1 }), /budget\.timeCapMs/);
    assert.throws(() => parseBudget({ exitThreshold: 'auto' }), /budget\.exitThreshold/);
    assert.throws(() => parseBudget({ multiline: 'yes' }), /budget\.multiline/);
    assert.throws(() => parseBudget({ explicit: 1 }), /budget\.explicit must be a boolean/);
  });

  it('explicit defaults to false and is kept when given', function () {
    assert.strictEqual(parseBudget(undefined).explicit, false);
    assert.strictEqual(parseBudget({ steps: 4 }).explicit, false);
    assert.strictEqual(parseBudget({ explicit: true }).explicit, true);
  });

  it('validates minConfidence: a number in [0, 1], the protocol default when absent', function () {
    assert.strictEqual(parseSettings({}).minConfidence, DEFAULT_MIN_CONFIDENCE);
    assert.strictEqual(parseSettings({ minConfidence: 0 }).minConfidence, 0);
    assert.strictEqual(parseSettings({ minConfidence: 0.35 }).minConfidence, 0.35);
    for (const bad of [-0.1, 1.01, NaN, '0.5', null]) assert.throws(() => parseSettings({ minConfidence: bad }), /minConfidence must be a number in \[0, 1\]/, String(bad));
  });

  it('validates settings that take paths', function () {
    assert.strictEqual(parseSettings({ modelPath: '' }).modelPath, null);
    assert.strictEqual(parseSettings({ modelPath: '/models/a/../b' }).modelPath, '/models/b');
    assert.throws(() => parseSettings({ modelPath: 'relative/dir' }), /absolute folder path/);
    assert.throws(() => parseSettings({ modelPath: '/a\0b' }), /absolute folder path/);
    assert.throws(() => parseSettings({ device: 'tpu' }), /device/);
    assert.throws(() => parseSettings({ prefixChars: -5 }), /prefixChars/);
    assert.throws(() => parseSettings({ beamWidth: 0 }), /beamWidth/);
    assert.strictEqual(parseSettings({ beamWidth: 1 }).beamWidth, 1);
  });

  it('validates the device', function () {
    assert.strictEqual(parseSettings({}).device, 'auto');
    for (const device of ['auto', 'cpu', 'webgpu', 'cuda'] as const) assert.strictEqual(parseSettings({ device }).device, device);
    assert.throws(() => parseSettings({ device: 'vulkan' }), /device must be one of auto, cpu, webgpu, cuda/);
  });

  it('validates the model format', function () {
    assert.strictEqual(parseSettings({}).modelFormat, 'auto');
    assert.strictEqual(parseSettings({ modelFormat: 'int4' }).modelFormat, 'int4');
    assert.throws(() => parseSettings({ modelFormat: 'int8' }), /modelFormat must be one of auto, fp32, fp16, int4/);
  });
});
