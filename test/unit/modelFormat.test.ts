import * as assert from 'assert';
import { WEIGHT_DTYPES } from '../../native/model/manifest';
import { FP16_ON_CPU, formatNotice, MODEL_FORMATS, resolveBuildDtype } from '../../server/engine/modelFormat';
import { DevicePreference, gpuProviderAvailable } from '../../server/engine/sessions';

describe('model format', function () {
  const gpu = (installed: boolean) => (device: DevicePreference) => installed && device !== 'cpu';

  it('the formats are the built dtypes and auto', function () {
    assert.deepStrictEqual(MODEL_FORMATS.filter((f) => f !== 'auto').sort(), [...WEIGHT_DTYPES].sort());
  });

  it('auto: int4 on the CPU, fp16 where a GPU provider is requested and installed', function () {
    assert.strictEqual(resolveBuildDtype('auto', 'cpu', gpu(true)), 'int4');
    assert.strictEqual(resolveBuildDtype('auto', 'auto', gpu(false)), 'int4');
    assert.strictEqual(resolveBuildDtype('auto', 'cuda', gpu(false)), 'int4');
    assert.strictEqual(resolveBuildDtype('auto', 'auto', gpu(true)), 'fp16');
    assert.strictEqual(resolveBuildDtype('auto', 'cuda', gpu(true)), 'fp16');
  });

  it('an explicit format is kept, fp16 on the CPU included', function () {
    for (const format of WEIGHT_DTYPES) assert.strictEqual(resolveBuildDtype(format, 'cpu', gpu(true)), format);
  });

  it('the CPU never counts as a GPU provider', function () {
    assert.strictEqual(gpuProviderAvailable('cpu'), false);
    assert.strictEqual(resolveBuildDtype('auto', 'cpu'), 'int4');
  });

  it('fp16 on the CPU comes with its one notice', function () {
    assert.strictEqual(formatNotice('fp16', 'cpu'), FP16_ON_CPU);
    assert.match(FP16_ON_CPU, /^fp16 on the CPU: onnxruntime converts fp16 weights to fp32 at load/);
    assert.strictEqual(formatNotice('fp16', 'cuda'), undefined);
    assert.strictEqual(formatNotice('int4', 'cpu'), undefined);
  });
});
