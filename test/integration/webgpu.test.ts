// The engine on onnxruntime's WebGPU provider, run here on Mesa's lavapipe (a software Vulkan
// adapter that Dawn accepts; scripts/setup.sh installs it): the explicit `webgpu` device may use
// it, `auto` must not. fp32 logits against the PyTorch reference at r = 1, 4, 32 (full forward and
// prefill + cached decode) on the exactness tests' checkpoints, fp16 and int4, greedy generations
// equal to the CPU's, the latent state kept on the GPU across iterations (the same logits as the
// host path, every GPU buffer disposed), every node of the three graphs on WebGPU (onnxruntime's
// verbose log, read in a child process), the language server and the CLI on webgpu, a forced
// failure that falls back to the CPU, and `auto` with only a software adapter. Skipped, saying
// why, only without lavapipe.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { WebGpuAdapter, probeWebGpu } from '../../server/engine/device';
import { Engine } from '../../server/engine/engine';
import { HuginnModel } from '../../server/engine/huginnModel';
import { FAIL_RUN_ENV, FAIL_SESSIONS_ENV } from '../../server/engine/sessions';
import { forwardChunk } from '../../server/engine/recurrence';
import { built, engineLogits, idsFor, SHAPES } from '../helpers/exactness';
import { LspSession } from '../helpers/lspClient';
import { REPO, referenceLogits, relativeError, sharedCheckpoint } from '../helpers/reference';
import { requireLavapipe, webgpuPlacement } from '../helpers/webgpu';

/**
 * fp16 on WebGPU computes the matmuls in half precision (lavapipe has shader-f16; on the CPU
 * onnxruntime widens fp16 weights to fp32, error 2.9e-4). Measured against the float64 reference
 * on lavapipe: huginnLike 1.5e-3 at r=1, 2.2e-3 at r=4 and r=32; wideHeads 1.7e-3, 2.4e-3,
 * 2.5e-3. That is about 4.5 units of half-precision rounding (2^-11 = 4.9e-4), and steady in r:
 * the recurrence contracts towards its fixed point rather than accumulating error. The bound
 * leaves 2x over the largest measured (a GPU that accumulates fp16 products in fp32 does better).
 */
export const FP16_WEBGPU_BOUND = 5e-3;

const BIN = path.join(REPO, 'bin', 'recurrent-copilot.js');

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 28 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('WebGPU provider (Mesa lavapipe)', function () {
  let adapter: WebGpuAdapter;

  before(async function () {
    requireLavapipe(this);
    const probe = await probeWebGpu();
    assert.ok(probe.ok, `the WebGPU probe failed: ${probe.ok ? '' : probe.reason}`);
    adapter = probe.adapter;
    console.log(`      adapter: ${adapter.name} (${adapter.driver ?? 'driver unknown'}, ${adapter.software ? 'software' : 'hardware'}), probe ${probe.ms} ms`);
  });

  for (const [name, shape] of Object.entries(SHAPES)) {
    describe(`fp32 against the PyTorch reference: ${name} (h=${shape.nEmbd}, ${shape.prelude}/${shape.core}/${shape.coda} layers)`, function () {
      let checkpoint: string;
      let model: HuginnModel;
      const ids = idsFor(shape);
      before(async function () {
        checkpoint = sharedCheckpoint(shape);
        model = await HuginnModel.load(await built(checkpoint, 'fp32'), { device: 'webgpu', threads: 1 });
        assert.strictEqual(model.provider, 'webgpu', model.sessions.fallbackReason);
      });
      after(() => model?.release());

      for (const steps of [1, 4, 32]) {
        for (const [mode, prefill] of [['full forward', ids.length], ['prefill + cached decode', 3]] as const) {
          it(`${mode} within 1e-4 at steps=${steps}`, async function () {
            const err = relativeError(await engineLogits(model, ids, steps, prefill), referenceLogits(checkpoint, ids, steps));
            assert.ok(err < 1e-4, `relative error ${err}`);
          });
        }
      }
    });
  }

  describe('reduced precision (huginnLike shape)', function () {
    let checkpoint: string;
    const ids = idsFor(SHAPES.huginnLike);
    before(() => {
      checkpoint = sharedCheckpoint(SHAPES.huginnLike);
    });

    it(`fp16 within ${FP16_WEBGPU_BOUND} of the reference at steps 4 and 32`, async function () {
      const model = await HuginnModel.load(await built(checkpoint, 'fp16'), { device: 'webgpu', threads: 1 });
      try {
        assert.strictEqual(model.provider, 'webgpu');
        for (const steps of [4, 32]) {
          const err = relativeError(await engineLogits(model, ids, steps, 4), referenceLogits(checkpoint, ids, steps));
          console.log(`      fp16 on WebGPU, steps=${steps}: relative error ${err.toExponential(2)}`);
          assert.ok(err < FP16_WEBGPU_BOUND, `relative error ${err}`);
        }
      } finally {
        await model.release();
      }
    });

    it("int4 (an odd number of 4-bit blocks per embedding row, padded) gives the CPU's int4 logits", async function () {
      const dir = await built(checkpoint, 'int4');
      const [gpu, cpu] = [await HuginnModel.load(dir, { device: 'webgpu', threads: 1 }), await HuginnModel.load(dir, { device: 'cpu', threads: 1 })];
      try {
        assert.strictEqual(gpu.provider, 'webgpu');
        const err = relativeError(await engineLogits(gpu, ids, 4, 4), await engineLogits(cpu, ids, 4, 4));
        console.log(`      int4 on WebGPU against int4 on the CPU: relative difference ${err.toExponential(2)}`);
        assert.ok(err < 1e-5, `relative difference ${err}`);
      } finally {
        await Promise.all([gpu.release(), cpu.release()]);
      }
    });
  });

  describe('greedy generation (fp32, huginnLike shape)', function () {
    let gpu: Engine;
    let cpu: Engine;
    before(async function () {
      const dir = await built(sharedCheckpoint(SHAPES.huginnLike), 'fp32');
      [gpu, cpu] = [await Engine.open(dir, { device: 'webgpu', threads: 1 }), await Engine.open(dir, { device: 'cpu', threads: 1 })];
      assert.strictEqual(gpu.info().provider, 'webgpu');
      assert.strictEqual(gpu.info().adapter, adapter.name);
    });
    after(() => Promise.all([gpu?.close(), cpu?.close()]));

    for (const steps of [4, 32]) {
      it(`the same tokens as the CPU at steps=${steps} (cached decoding)`, async function () {
        const req = { ids: [5, 17, 200, 3], steps, maxTokens: 16, stateInit: 'zero' as const, useCache: true };
        const [a, b] = [await gpu.generate(req), await cpu.generate(req)];
        assert.strictEqual(a.ids.length, 16);
        assert.deepStrictEqual(a.ids, b.ids);
      });
    }

    it('the same tokens as the CPU uncached, with the random state init, and by beam search', async function () {
      const requests = [
        { ids: [5, 17, 200, 3], steps: 4, maxTokens: 8, stateInit: 'zero' as const, useCache: false },
        { ids: [5, 17, 200, 3], steps: 8, maxTokens: 12, stateInit: 'random' as const, seed: 7 },
        { ids: [9, 8, 7], steps: 4, maxTokens: 6, stateInit: 'zero' as const, beams: 3 },
      ];
      for (const req of requests) assert.deepStrictEqual((await gpu.generate(req)).ids, (await cpu.generate(req)).ids, JSON.stringify(req));
    });
  });

  describe('the latent state on the GPU across iterations', function () {
    const ids = idsFor(SHAPES.huginnLike);
    let device: HuginnModel;
    let host: HuginnModel;
    let cpu: Engine;
    let gpu: Engine;
    const where: string[] = [];
    before(async function () {
      const dir = await built(sharedCheckpoint(SHAPES.huginnLike), 'fp32');
      device = await HuginnModel.load(dir, { device: 'webgpu', threads: 1 });
      host = await HuginnModel.load(dir, { device: 'webgpu', threads: 1, deviceState: false });
      [cpu, gpu] = [await Engine.open(dir, { device: 'cpu', threads: 1 }), await Engine.open(dir, { device: 'webgpu', threads: 1 })];
      assert.ok(device.sessions.deviceState && !host.sessions.deviceState);
      // Where each core iteration's state comes back: a GPU buffer, or JS memory.
      for (const m of [device, gpu.model]) {
        const core = m.core.bind(m);
        m.core = async (...args: Parameters<HuginnModel['core']>) => {
          const out = await core(...args);
          where.push(out instanceof Float32Array ? 'host' : out.location);
          return out;
        };
      }
    });
    after(() => Promise.all([device?.release(), host?.release(), cpu?.close(), gpu?.close()]));
    afterEach(function () {
      for (const m of [device, gpu.model]) assert.strictEqual(m.liveDeviceLatents, 0, 'GPU latents left undisposed');
    });

    it('stays in GPU buffers and gives the host path\'s logits exactly', async function () {
      where.length = 0;
      for (const steps of [2, 8]) {
        const [a, b] = [await engineLogits(device, ids, steps, 3), await engineLogits(host, ids, steps, 3)];
        assert.deepStrictEqual(a, b, `steps=${steps}`);
      }
      assert.ok(where.length > 0 && where.every((w) => w === 'gpu-buffer'), where.join(','));
    });

    it('latent and distribution exit rules, warm start and speculation give the CPU\'s tokens and iterations', async function () {
      const base = { ids: [5, 17, 200, 3], steps: 12, maxTokens: 6, stateInit: 'zero' as const };
      const requests = [
        { ...base, exit: { criterion: 'latent-diff' as const, threshold: 0.05, minSteps: 1 } },
        { ...base, exit: { criterion: 'cosine' as const, threshold: 1e-3, checkEvery: 2 } },
        { ...base, exit: { criterion: 'kl' as const, threshold: 1e-3 } },
        { ...base, warmStart: true },
        { ...base, speculative: { draftSteps: 2, lookahead: 3 } },
      ];
      for (const req of requests) {
        where.length = 0;
        const [a, b] = [await gpu.generate(req), await cpu.generate(req)];
        assert.deepStrictEqual([a.ids, a.iterations], [b.ids, b.iterations], JSON.stringify(req));
        assert.ok(where.every((w) => w === 'gpu-buffer'), where.join(','));
      }
    });

    it('disposes the GPU latents of a cancelled or failed forward too', async function () {
      let runs = 0;
      const cancel = { get cancelled() { return ++runs > 6; } };
      await assert.rejects(gpu.generate({ ids: [5, 17, 200, 3], steps: 32, maxTokens: 4, stateInit: 'zero' }, undefined, cancel), /cancelled/);
      // a core run that fails at the third iteration, with the state and the injection on the GPU
      const core = device.core;
      let calls = 0;
      device.core = async (...args: Parameters<HuginnModel['core']>) => {
        if (++calls === 3) throw new Error('core.onnx run failed: a lost device');
        return core(...args);
      };
      try {
        await assert.rejects(engineLogits(device, ids, 8, 3), /a lost device/);
      } finally {
        device.core = core;
      }
    });
  });

  describe('the KV cache on the GPU', function () {
    const ids = idsFor(SHAPES.huginnLike);
    let kv: HuginnModel;
    let hostKv: HuginnModel;
    let gpu: Engine;
    let cpu: Engine;
    before(async function () {
      const dir = await built(sharedCheckpoint(SHAPES.huginnLike), 'fp32');
      kv = await HuginnModel.load(dir, { device: 'webgpu', threads: 1 });
      hostKv = await HuginnModel.load(dir, { device: 'webgpu', threads: 1, deviceKv: false });
      [cpu, gpu] = [await Engine.open(dir, { device: 'cpu', threads: 1 }), await Engine.open(dir, { device: 'webgpu', threads: 1 })];
      assert.ok(kv.sessions.deviceKv && !hostKv.sessions.deviceKv && gpu.model.sessions.deviceKv);
    });
    after(() => Promise.all([kv?.release(), hostKv?.release(), cpu?.close(), gpu?.close()]));
    afterEach(function () {
      for (const m of [kv, gpu.model]) assert.strictEqual(m.liveDeviceKv, 0, 'device KV copies left unreleased');
    });

    it("gives the host cache's logits exactly (prefill, then cached decoding)", async function () {
      for (const steps of [1, 4]) assert.deepStrictEqual(await engineLogits(kv, ids, steps, 3), await engineLogits(hostKv, ids, steps, 3), `steps=${steps}`);
    });

    it('per decoded token, only the logits come back and what goes up does not grow with the context', async function () {
      const steps = 4;
      const perToken = async (m: HuginnModel) => {
        const cache = m.newCache();
        const t = m.sessions.transfers;
        const sizes: { up: number; down: number }[] = [];
        try {
          await forwardChunk(m, cache, [5, 17, 200], { steps, stateInit: 'zero', seed: 0, numLogits: 1 });
          for (let i = 0; i < 24; i++) {
            const [up, down] = [t.toDevice, t.toHost];
            await forwardChunk(m, cache, [(i * 37) % 250], { steps, stateInit: 'zero', seed: 0, numLogits: 1 });
            sizes.push({ up: t.toDevice - up, down: t.toHost - down });
          }
        } finally {
          cache.releaseDevice();
        }
        return sizes;
      };
      const [device, host] = [await perToken(kv), await perToken(hostKv)];
      const runs = steps + 2; // prelude, each iteration, coda
      for (let i = 1; i < device.length; i++) {
        assert.strictEqual(device[i].down, kv.cfg.vocabSize * 4, `token ${i}: the last position's logits only`);
        assert.strictEqual(device[i].up, device[0].up, `token ${i}: the token, its position and the mask's parts only`);
      }
      // Per run: the position and the mask's parts (causal_bias [1, 1], mask_pads, past_bias [1]); the prelude's token, the
      // first core run's initial state and where the coda's logits start.
      const { preludeLayers, coreLayers, codaLayers, rowSize } = kv.cacheShape;
      const pastGrowth = (preludeLayers + coreLayers * steps + codaLayers) * rowSize * 8; // one more past row per layer and run
      assert.strictEqual(host[5].up - host[4].up, pastGrowth);
      console.log(`      to the GPU per token: ${device.at(-1)!.up} B (host cache, after ${host.length} tokens: ${host.at(-1)!.up} B); back: ${device.at(-1)!.down} B`);
    });

    it("rows held only on the GPU read back into JS memory as the host cache's rows, exactly", async function () {
      const [onDevice, onHost] = [kv.newCache(), hostKv.newCache()];
      try {
        const opts = { steps: 3, stateInit: 'zero' as const, seed: 0, numLogits: 1 };
        for (const chunk of [[5, 17, 200], [9], [31]]) {
          await forwardChunk(kv, onDevice, chunk, opts);
          await forwardChunk(hostKv, onHost, chunk, opts);
        }
        const layersOf = (c: typeof onDevice) => [...c.prelude, ...c.coreLayers(2, c.length), ...c.coda];
        const [device, host] = [layersOf(onDevice), layersOf(onHost)];
        assert.ok(device.every((l) => l.rows === 5 && l.hostRows === 0), 'new rows stay on the GPU');
        const reads = kv.sessions.transfers.kvReads;
        for (const [i, layer] of device.entries()) {
          await kv.ensureHost(layer, layer.rows);
          assert.deepStrictEqual(layer.past(5), host[i].past(5), `layer ${i}`);
        }
        assert.strictEqual(kv.sessions.transfers.kvReads - reads, device.length);
      } finally {
        onDevice.releaseDevice();
      }
    });

    it("rows filled for early exits, beams, rollbacks and shared slots are fitted on the GPU: the CPU's tokens", async function () {
      const base = { ids: [5, 17, 200, 3], steps: 12, maxTokens: 6, stateInit: 'zero' as const };
      const requests = [
        { ...base, exit: { criterion: 'kl' as const, threshold: 1e-2 } },
        { ...base, exit: { criterion: 'kl' as const, threshold: 1e-2 }, kvStrategy: 'skip' as const },
        { ...base, kvStrategy: 'compress-s3' as const },
        { ...base, speculative: { draftSteps: 2, lookahead: 3 } },
        { ...base, steps: 4, beams: 3 },
      ];
      const t = gpu.model.sessions.transfers;
      for (const req of requests) {
        const [fits, reads] = [t.kvFits, t.kvReads];
        const [a, b] = [await gpu.generate(req), await cpu.generate(req)];
        assert.deepStrictEqual([a.ids, a.iterations], [b.ids, b.iterations], JSON.stringify(req));
        assert.ok(t.kvFits > fits, `no kvFit run for ${JSON.stringify(req)}`);
        assert.strictEqual(t.kvReads, reads, `rows read back for ${JSON.stringify(req)}: the fills and the beams' rows stay on the GPU`);
      }
    });

    it("a device lost mid-request: the engine moves to the CPU and the request answers with the CPU's tokens; streamed text is not taken back", async function () {
      const dir = await built(sharedCheckpoint(SHAPES.huginnLike), 'fp32');
      const req = { ids: [5, 17, 200, 3], steps: 4, maxTokens: 5, stateInit: 'zero' as const };
      const open = async (failAt: number) => {
        process.env[FAIL_RUN_ENV] = `webgpu:${failAt}`;
        const moves: string[] = [];
        const engine = await Engine.open(dir, { device: 'webgpu', threads: 1, onMoved: (info) => moves.push(`${info.provider}: ${info.fallbackReason}`) });
        return { engine, moves };
      };
      try {
        // The load's cost measurement takes 10 GPU runs: the 14th is in the prompt's forward.
        const { engine, moves } = await open(14);
        const answer = await engine.generate(req);
        assert.deepStrictEqual(answer.ids, (await cpu.generate(req)).ids);
        assert.deepStrictEqual(moves, [`cpu: WebGPU failed during a request: core.onnx run failed: Device lost (${FAIL_RUN_ENV}=webgpu:14); running on the CPU`]);
        assert.strictEqual(engine.info().provider, 'cpu');
        assert.deepStrictEqual((await engine.generate(req)).ids, answer.ids);
        await engine.close();
        // A failure after text has streamed: the request errors (its text cannot be taken back), the next one answers.
        const late = await open(30);
        await assert.rejects(late.engine.generate(req, () => undefined), /Device lost/);
        assert.strictEqual(late.moves.length, 1);
        assert.deepStrictEqual((await late.engine.generate(req)).ids, answer.ids);
        await late.engine.close();
      } finally {
        delete process.env[FAIL_RUN_ENV];
      }
    });

    it('releases every device copy: a cancelled request, the prompt cache on close', async function () {
      let runs = 0;
      const cancel = { get cancelled() { return ++runs > 9; } };
      await assert.rejects(gpu.generate({ ids: [5, 17, 200, 3], steps: 8, maxTokens: 4, stateInit: 'zero' }, undefined, cancel), /cancelled/);
      const dir = await built(sharedCheckpoint(SHAPES.huginnLike), 'fp32');
      const engine = await Engine.open(dir, { device: 'webgpu', threads: 1 });
      await engine.generate({ ids: [5, 17, 200, 3], steps: 4, maxTokens: 4, stateInit: 'zero', reusePrompt: true });
      const held = engine.model.liveDeviceKv;
      assert.ok(held > 0, 'the prompt cache keeps its rows on the GPU');
      const again = await engine.generate({ ids: [5, 17, 200, 3, 9], steps: 4, maxTokens: 4, stateInit: 'zero', reusePrompt: true });
      assert.ok(again.reusedTokens > 0);
      const model = engine.model;
      await engine.close();
      assert.strictEqual(model.liveDeviceKv, 0);
    });
  });

  describe("onnxruntime's verbose log: every node of the model's three graphs and the engine's helpers on WebGPU", function () {
    const cases: [string, 'fp32' | 'fp16' | 'int4'][] = [
      ['huginnLike', 'fp32'],
      ['huginnLike', 'fp16'],
      ['huginnLike', 'int4'],
      ['narrow', 'int4'], // untied head, embedding rows sliced (h=40)
    ];
    for (const [shapeName, dtype] of cases) {
      it(`${dtype} (${shapeName} shape)`, async function () {
        const placement = webgpuPlacement(await built(sharedCheckpoint(SHAPES[shapeName]), dtype));
        assert.deepStrictEqual(Object.keys(placement.graphs), ['prelude.onnx', 'core.onnx', 'coda.onnx', 'readback', 'kvFit', 'kvRead'], placement.log.slice(-3000));
        for (const [graph, p] of Object.entries(placement.graphs)) {
          assert.deepStrictEqual(p.cpuNodes, [], `${graph}: nodes on the CPU`);
          assert.deepStrictEqual(p.providers, ['WebGpuExecutionProvider'], `${graph}: placed on ${p.providers.join(', ')}`);
          assert.ok(p.nodes > (graph.endsWith('.onnx') ? 10 : 0), `${graph}: ${p.nodes} nodes`);
        }
      });
    }
  });

  describe('the CLI', function () {
    let model: string;
    before(async () => {
      model = await built(sharedCheckpoint(SHAPES.narrow), 'fp32');
    });
    const args = () => ['generate', '--model', model, '--ids', '1,2,3', '--steps', '2', '--max-tokens', '4', '--json', '--state-init', 'zero'];

    it('--device webgpu --json names the provider and the adapter', function () {
      const r = cli([...args(), '--device', 'webgpu']);
      assert.strictEqual(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.strictEqual(out.provider, 'webgpu');
      assert.strictEqual(out.adapter, adapter.name);
      assert.strictEqual(out.fallbackReason, undefined);
      assert.deepStrictEqual(out.ids, JSON.parse(cli([...args(), '--device', 'cpu']).stdout).ids);
    });

    it('auto with only a software adapter runs on the CPU and says why', function () {
      if (adapter.software !== true) this.skip(); // a machine with a GPU
      const r = cli([...args(), '--device', 'auto']);
      assert.strictEqual(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.strictEqual(out.provider, 'cpu');
      const reason = `no hardware WebGPU adapter (found ${adapter.name}, a software renderer)`;
      assert.ok(out.fallbackReason.startsWith(`${reason}; `), out.fallbackReason);
      assert.match(out.fallbackReason, /; running on the CPU$/);
      assert.ok(r.stderr.includes(out.fallbackReason), r.stderr);
    });

    it('an adapter that cannot be created: the CPU, with one line that says why', function () {
      const r = cli([...args(), '--device', 'webgpu'], { VK_ICD_FILENAMES: '/nonexistent/icd.json' });
      assert.strictEqual(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.strictEqual(out.provider, 'cpu');
      assert.strictEqual(out.fallbackReason, 'WebGPU unavailable: Failed to get a WebGPU adapter: No supported adapters; running on the CPU');
      assert.ok(out.ids.length > 0);
    });
  });

  describe('the language server', function () {
    const DOC = 'file:///project/gpu.py';
    const TEXT = 'def add(a, b):\n    return a + b\n\nx = add(1, ';
    const budget = { level: 1, steps: 2, exitThreshold: null, maxTokens: 6, timeCapMs: 60000, multiline: false };
    let model: string;
    let lsp: LspSession | undefined;
    before(async () => {
      model = await built(sharedCheckpoint(SHAPES.narrow), 'fp32');
    });
    afterEach(async () => {
      await lsp?.close();
      lsp = undefined;
    });

    async function start(device: string, env: Record<string, string> = {}) {
      lsp = new LspSession({ RECURRENT_COPILOT_DEFAULT_MODEL: model, ...env });
      await lsp.initialize({ device });
      const status = await lsp.waitForState(['ready', 'error'], 120_000);
      assert.strictEqual(status.state, 'ready', status.message);
      lsp.open(DOC, TEXT);
      return { lsp, status };
    }

    async function answers(session: LspSession) {
      const r = await session.complete(DOC, 3, 11, budget);
      assert.ok(Array.isArray(r.items), JSON.stringify(r));
      for (const item of r.items) assert.ok(item.recurrent.tokens.every((t) => t.iterations === 2));
    }

    it('on webgpu: answers an inline completion; the status says webgpu and the adapter', async function () {
      const { lsp, status } = await start('webgpu');
      assert.strictEqual(status.device, 'webgpu');
      assert.strictEqual(status.adapter, adapter.name);
      assert.strictEqual(status.message, undefined);
      assert.strictEqual(status.deviceReason, undefined);
      await answers(lsp);
    });

    it('a WebGPU session that cannot be created: the CPU, one clear message, and the requests are served', async function () {
      const { lsp, status } = await start('webgpu', { [FAIL_SESSIONS_ENV]: 'webgpu' });
      const line = `WebGPU unavailable: session creation refused (${FAIL_SESSIONS_ENV}=webgpu); running on the CPU`;
      assert.strictEqual(status.device, 'cpu');
      assert.strictEqual(status.adapter, undefined);
      assert.strictEqual(status.deviceReason, line);
      assert.strictEqual(status.message, line); // asked for webgpu: a warning
      assert.strictEqual(lsp.logs.join('').split(line).length - 1, 1, lsp.logs.join(''));
      await answers(lsp);
      await answers(lsp);
    });

    it('a device lost mid-request: the model moves to the CPU with one clear message, the request answers, so do the next', async function () {
      // The 14th GPU run falls in the first request (the load's cost measurement takes 10).
      const { lsp, status } = await start('webgpu', { [FAIL_RUN_ENV]: 'webgpu:14' });
      assert.strictEqual(status.device, 'webgpu');
      await answers(lsp);
      const moved = await lsp.waitForStatus('the move to the CPU', (s) => s.device === 'cpu');
      const line = /^WebGPU failed during a request: (prelude|core|coda)\.onnx run failed: Device lost \(RECURRENT_COPILOT_TEST_FAIL_RUN=webgpu:14\); running on the CPU$/;
      assert.match(moved.deviceReason ?? '', line);
      assert.strictEqual(moved.message, moved.deviceReason);
      assert.strictEqual(moved.severity, 'warning');
      assert.strictEqual(moved.state, 'ready');
      assert.strictEqual(lsp.logs.join('').split(moved.deviceReason!).length - 1, 1, lsp.logs.join(''));
      await answers(lsp);
      await answers(lsp);
    });

    it('auto with only a software adapter: the CPU, the reason in the status, no warning', async function () {
      if (adapter.software !== true) this.skip();
      const { lsp, status } = await start('auto');
      assert.strictEqual(status.device, 'cpu');
      assert.ok(status.deviceReason?.startsWith(`no hardware WebGPU adapter (found ${adapter.name}, a software renderer); `), status.deviceReason);
      assert.strictEqual(status.message, undefined);
      await answers(lsp);
    });
  });
});
