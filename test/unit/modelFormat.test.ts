import * as assert from 'assert';
import { WEIGHT_DTYPES } from '../../native/model/manifest';
import { decideDevice, WebGpuProbe } from '../../server/engine/device';
import { FP16_ON_CPU, formatNotice, MODEL_FORMATS, resolveBuildDtype } from '../../server/engine/modelFormat';

describe('model format', function () {
  it('the formats are the built dtypes and auto', function () {
    assert.deepStrictEqual(MODEL_FORMATS.filter((f) => f !== 'auto').sort(), [...WEIGHT_DTYPES].sort());
  });

  it('auto: int4 on the CPU, fp16 on a GPU provider (WebGPU or CUDA)', function () {
    assert.strictEqual(resolveBuildDtype('auto', 'cpu'), 'int4');
    assert.strictEqual(resolveBuildDtype('auto', 'webgpu'), 'fp16');
    assert.strictEqual(resolveBuildDtype('auto', 'cuda'), 'fp16');
  });

  it('auto follows the device decision: a software WebGPU adapter means the CPU, so int4', async function () {
    const software: WebGpuProbe = { ok: true, adapter: { name: 'llvmpipe (LLVM 15.0.6, 256 bits)', software: true }, ms: 1 };
    const hardware: WebGpuProbe = { ok: true, adapter: { name: 'NVIDIA GeForce RTX 4070', software: false }, ms: 1 };
    const dtype = async (probe: WebGpuProbe, cuda: boolean, device: 'auto' | 'webgpu' | 'cpu' = 'auto') =>
      resolveBuildDtype('auto', (await decideDevice(device, { probe: async () => probe, cudaInstalled: () => cuda })).provider);
    assert.strictEqual(await dtype(software, false), 'int4');
    assert.strictEqual(await dtype(software, true), 'fp16'); // CUDA
    assert.strictEqual(await dtype(hardware, false), 'fp16');
    assert.strictEqual(await dtype(software, false, 'webgpu'), 'fp16'); // asked for: the software adapter runs it
    assert.strictEqual(await dtype(hardware, true, 'cpu'), 'int4');
  });

  it('an explicit format is kept, fp16 on the CPU included', function () {
    for (const format of WEIGHT_DTYPES) assert.strictEqual(resolveBuildDtype(format, 'cpu'), format);
  });

  it('fp16 on the CPU comes with its one notice', function () {
    assert.strictEqual(formatNotice('fp16', 'cpu'), FP16_ON_CPU);
    assert.match(FP16_ON_CPU, /^fp16 on the CPU: onnxruntime converts fp16 weights to fp32 at load/);
    assert.strictEqual(formatNotice('fp16', 'cuda'), undefined);
    assert.strictEqual(formatNotice('fp16', 'webgpu'), undefined);
    assert.strictEqual(formatNotice('int4', 'cpu'), undefined);
  });
});
