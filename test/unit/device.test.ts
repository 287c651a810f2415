import * as assert from 'assert';
import { decideDevice, identifyAdapter, isSoftwareAdapter, ortMessage, webgpuPassedOver, WebGpuProbe } from '../../server/engine/device';

// What the Vulkan loader 1.3.239 writes with VK_LOADER_DEBUG=driver when Dawn creates its device
// (abridged), on lavapipe and on a machine with an NVIDIA GPU.
const LAVAPIPE_LOG = `DRIVER:           Found ICD manifest file /usr/share/vulkan/icd.d/lvp_icd.json, version "1.0.0"
INFO | DRIVER:    linux_read_sorted_physical_devices:
INFO | DRIVER:               [0] llvmpipe (LLVM 15.0.6, 256 bits)
Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.
DRIVER:           vkCreateDevice layer callstack setup to:
DRIVER:              <Application>
DRIVER:                ||
DRIVER:              <Device>
DRIVER:                  Using "llvmpipe (LLVM 15.0.6, 256 bits)" with driver: "libvulkan_lvp.so"
`;
const NVIDIA_LOG = `DRIVER:              <Device>
DRIVER:                  Using "NVIDIA GeForce RTX 4070" with driver: "libGLX_nvidia.so.0"
`;

const probe = (p: WebGpuProbe) => async () => p;
const software: WebGpuProbe = { ok: true, adapter: identifyAdapter(LAVAPIPE_LOG, 'linux'), ms: 1 };
const hardware: WebGpuProbe = { ok: true, adapter: identifyAdapter(NVIDIA_LOG, 'linux'), ms: 1 };
const unknown: WebGpuProbe = { ok: true, adapter: identifyAdapter('', 'win32'), ms: 1 };
const none: WebGpuProbe = { ok: false, reason: 'Failed to get a WebGPU adapter: No supported adapters', ms: 1 };

describe('device decision', function () {
  it('reads the adapter Dawn opened from the Vulkan loader log', function () {
    assert.deepStrictEqual(software, { ok: true, adapter: { name: 'llvmpipe (LLVM 15.0.6, 256 bits)', driver: 'libvulkan_lvp.so', software: true }, ms: 1 });
    assert.deepStrictEqual(hardware.ok && hardware.adapter, { name: 'NVIDIA GeForce RTX 4070', driver: 'libGLX_nvidia.so.0', software: false });
    // no loader log: Metal (macOS) has no software adapter; elsewhere it is not known
    assert.deepStrictEqual(identifyAdapter('', 'darwin'), { name: 'Metal GPU', software: false });
    assert.deepStrictEqual(unknown.ok && unknown.adapter, { name: 'unknown', software: undefined });
  });

  it('knows the software renderers by name or driver', function () {
    for (const [name, driver] of [
      ['llvmpipe (LLVM 15.0.6, 256 bits)', ''],
      ['SwiftShader Device (Subzero)', 'libvk_swiftshader.so'],
      ['Microsoft Basic Render Driver', ''],
      ['some device', '/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so'],
    ]) {
      assert.ok(isSoftwareAdapter(name, driver), name);
    }
    for (const [name, driver] of [
      ['AMD Radeon RX 7600 (RADV NAVI33)', 'libvulkan_radeon.so'],
      ['Intel(R) Arc(tm) A770 Graphics (DG2)', 'libvulkan_intel.so'],
      ['NVIDIA GeForce RTX 4070', 'libGLX_nvidia.so.0'],
    ]) {
      assert.ok(!isSoftwareAdapter(name, driver), name);
    }
  });

  it('auto: a hardware adapter is WebGPU', async function () {
    assert.deepStrictEqual(await decideDevice('auto', { probe: probe(hardware), cudaInstalled: () => true }), { provider: 'webgpu', adapter: hardware.ok && hardware.adapter });
  });

  it('auto: never a software adapter; CUDA where installed, else the CPU, with the reason in one line', async function () {
    assert.deepStrictEqual(await decideDevice('auto', { probe: probe(software), cudaInstalled: () => false }), {
      provider: 'cpu',
      fallbackReason:
        'no hardware WebGPU adapter (found llvmpipe (LLVM 15.0.6, 256 bits), a software renderer); no CUDA provider (libonnxruntime_providers_cuda.so is not installed); running on the CPU',
    });
    assert.deepStrictEqual(await decideDevice('auto', { probe: probe(software), cudaInstalled: () => true }), {
      provider: 'cuda',
      passedOver: ['no hardware WebGPU adapter (found llvmpipe (LLVM 15.0.6, 256 bits), a software renderer)'],
    });
    const noAdapter = await decideDevice('auto', { probe: probe(none), cudaInstalled: () => false });
    assert.strictEqual(noAdapter.provider, 'cpu');
    assert.match(noAdapter.fallbackReason!, /^no WebGPU adapter \(Failed to get a WebGPU adapter: No supported adapters\); .*; running on the CPU$/);
    const unidentified = await decideDevice('auto', { probe: probe(unknown), cudaInstalled: () => false });
    assert.strictEqual(unidentified.provider, 'cpu');
    assert.match(unidentified.fallbackReason!, /could not be identified as a GPU/);
    for (const d of [noAdapter, unidentified]) assert.ok(!d.fallbackReason!.includes('\n'));
  });

  it('webgpu: whatever adapter there is, software included; none means the CPU, saying why', async function () {
    assert.deepStrictEqual(await decideDevice('webgpu', { probe: probe(software) }), { provider: 'webgpu', adapter: software.ok && software.adapter });
    assert.deepStrictEqual(await decideDevice('webgpu', { probe: probe(none) }), {
      provider: 'cpu',
      fallbackReason: 'WebGPU unavailable: Failed to get a WebGPU adapter: No supported adapters; running on the CPU',
    });
  });

  it('cpu never probes; cuda needs its provider library', async function () {
    const never = () => Promise.reject(new Error('probed'));
    assert.deepStrictEqual(await decideDevice('cpu', { probe: never }), { provider: 'cpu' });
    assert.deepStrictEqual(await decideDevice('cuda', { probe: never, cudaInstalled: () => true }), { provider: 'cuda' });
    const missing = await decideDevice('cuda', { probe: never, cudaInstalled: () => false });
    assert.strictEqual(missing.provider, 'cpu');
    assert.match(missing.fallbackReason!, /^no CUDA provider \(.*\); running on the CPU$/);
    await assert.rejects(decideDevice('tpu' as 'cpu'), /device must be one of auto, cpu, webgpu, cuda/);
  });

  it('says why auto passes WebGPU over', function () {
    assert.strictEqual(webgpuPassedOver(hardware), undefined);
    assert.match(webgpuPassedOver(software)!, /software renderer/);
  });
});

describe("onnxruntime's error messages", function () {
  it('keep the message of a failed check, without its source location', function () {
    const enforced =
      '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(const onnxruntime::webgpu::WebGpuContextConfig&)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters';
    assert.strictEqual(ortMessage(enforced), 'Failed to get a WebGPU adapter: No supported adapters');
    assert.strictEqual(ortMessage('Load model failed\nsecond line'), 'Load model failed');
  });
});
