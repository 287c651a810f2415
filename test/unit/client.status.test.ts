import * as assert from 'assert';
import type { ServerStatus } from '../../server/protocol';
import { DepthSession, MAX_OFFSET } from '../../src/depthSession';
import { errorToAnnounce, parseBuildProgress, parseProgress, parseServerStatus, ServerStatusStore } from '../../src/serverStatusStore';
import { buildMessage, buildTitle, escapeMarkdown, presentStatus, type StatusModel } from '../../src/statusView';

const ready: ServerStatus = {
  state: 'ready', device: 'cpu', model: 'huginn-tiny', dtype: 'int4', lastLatencyMs: 120.4, tokensPerSecond: 55.56,
  meanIterations: 6.25, recent: [],
};
const model = (over: Partial<StatusModel> = {}): StatusModel => ({
  enabled: true, clientState: 'running', server: ready, thinking: false, baseLevel: 2, offset: 0, ...over,
});

describe('status bar view', function () {
  it('ready: level and device', function () {
    const view = presentStatus(model());
    assert.strictEqual(view.text, '$(pulse) RC L2 · cpu');
    assert.strictEqual(view.severity, 'normal');
    assert.ok(view.tooltip.includes('last 120 ms'));
    assert.ok(view.tooltip.includes('55\\.6 tokens/s'));
  });

  it('names the WebGPU adapter, and says why the CPU when a GPU was allowed', function () {
    const gpu = presentStatus(model({ server: { ...ready, device: 'webgpu', adapter: 'NVIDIA GeForce RTX 4070' } }));
    assert.strictEqual(gpu.text, '$(pulse) RC L2 · webgpu');
    assert.ok(gpu.tooltip.includes('on webgpu: NVIDIA GeForce RTX 4070'), gpu.tooltip);
    assert.strictEqual(gpu.severity, 'normal');
    const reason = 'no hardware WebGPU adapter (found llvmpipe (LLVM 15.0.6, 256 bits), a software renderer); running on the CPU';
    // auto on a machine without a usable GPU: said in the tooltip, not a warning
    const auto = presentStatus(model({ server: { ...ready, deviceReason: reason } }));
    assert.strictEqual(auto.severity, 'normal');
    assert.ok(auto.tooltip.includes(`$(info) ${escapeMarkdown(reason)}`), auto.tooltip);
    // an explicit webgpu that fell back: the message (a warning), said once
    const explicit = presentStatus(model({ server: { ...ready, deviceReason: reason, message: reason } }));
    assert.strictEqual(explicit.severity, 'warning');
    assert.strictEqual(explicit.tooltip.split(escapeMarkdown('running on the CPU')).length, 2, explicit.tooltip);
  });

  it('shows the last decision level and the think offset', function () {
    const lastDecision = { level: 4, steps: 32, reasons: ["unfinished expression (line ends with '*'): +1"], languageId: 'python', at: 0 };
    const view = presentStatus(model({ offset: 1, lastDecision }));
    assert.strictEqual(view.text, '$(pulse) RC L4 (+1) · cpu');
    assert.ok(view.tooltip.includes("- unfinished expression \\(line ends with '\\*'\\): \\+1"));
    assert.ok(view.tooltip.includes('Think harder: \\+1'));
  });

  it('the last suggestion\'s confidence in the tooltip; a low-confidence one marked in the text too', function () {
    const sure = presentStatus(model({ lastShown: { confidence: 0.724, lowConfidence: false } }));
    assert.strictEqual(sure.text, '$(pulse) RC L2 · cpu');
    assert.ok(sure.tooltip.includes('Last suggestion: confidence 72%'), sure.tooltip);
    const low = presentStatus(model({ lastShown: { confidence: 0.31, lowConfidence: true } }));
    assert.strictEqual(low.text, '$(pulse) RC L2 · cpu · low confidence');
    assert.ok(low.tooltip.includes('Last suggestion: confidence 31%: low confidence, below recurrentCopilot\\.minConfidence, shown because you asked'), low.tooltip);
    assert.strictEqual(presentStatus(model()).tooltip.includes('Last suggestion'), false);
  });

  it('without a decision the level is base + offset, clamped', function () {
    assert.strictEqual(presentStatus(model({ offset: 5 })).text, '$(pulse) RC L4 (+5) · cpu');
  });

  it('thinking, with the progress so far: tokens and seconds', function () {
    const progress = { requestId: 1, uri: 'file:///a', tokens: 12, elapsedMs: 3150, meanIterations: 9 };
    assert.strictEqual(presentStatus(model({ thinking: true, progress })).text, '$(loading~spin) RC L2 · thinking… 12 tok, 3.1 s');
    assert.strictEqual(presentStatus(model({ thinking: true })).text, '$(loading~spin) RC L2 · thinking…');
  });

  it('building: the percent done', function () {
    const building: ServerStatus = { state: 'building', message: 'building ck (int4): 42% (core.0.attn)', model: '/m/ck', dtype: 'int4', build: { percent: 42, tensor: 'core.0.attn' }, recent: [] };
    const view = presentStatus(model({ server: building }));
    assert.strictEqual(view.text, '$(sync~spin) RC building 42%');
    assert.strictEqual(view.severity, 'normal');
    assert.ok(view.tooltip.includes('Server: building \\(model /m/ck, int4\\)'));
    assert.ok(view.tooltip.includes('$(info) building ck \\(int4\\): 42% \\(core\\.0\\.attn\\)'), view.tooltip);
    assert.strictEqual(presentStatus(model({ server: { ...building, build: undefined } })).text, '$(sync~spin) RC building');
  });

  it('the build notification: folder name and dtype in the title, percent and tensor in the message', function () {
    const p = { percent: 7, tensor: 'transformer.core_block.0.attn.Wqkv.weight', model: '/models/huginn-0125/', dtype: 'fp16' };
    assert.strictEqual(buildTitle(p), 'Recurrent Copilot: building huginn-0125 (fp16)');
    assert.strictEqual(buildTitle({ ...p, model: 'C:\\models\\ck' }), 'Recurrent Copilot: building ck (fp16)');
    assert.strictEqual(buildMessage(p), '7% · transformer.core_block.0.attn.Wqkv.weight');
    assert.strictEqual(buildMessage({ ...p, percent: 100, tensor: '' }), '100%');
  });

  it('a failed build serving the default model is an error, not a warning', function () {
    const failed = { ...ready, severity: 'error' as const, message: 'build of /m (int4) failed: not enough disk space; using the default model' };
    const view = presentStatus(model({ server: failed }));
    assert.strictEqual(view.text, '$(pulse) RC L2 · cpu');
    assert.strictEqual(view.severity, 'error');
    assert.ok(view.tooltip.includes('$(error) build of'));
  });

  it('off, loading, error, stopped', function () {
    assert.strictEqual(presentStatus(model({ enabled: false })).text, '$(circle-slash) RC off');
    assert.strictEqual(presentStatus(model({ clientState: 'starting', server: undefined })).text, '$(sync~spin) RC loading');
    assert.strictEqual(presentStatus(model({ server: { ...ready, state: 'loading' } })).text, '$(sync~spin) RC loading');
    const error = presentStatus(model({ server: { state: 'error', message: 'model X is invalid', recent: [] } }));
    assert.strictEqual(error.text, '$(error) RC error');
    assert.strictEqual(error.severity, 'error');
    assert.ok(error.tooltip.includes('model X is invalid'));
    assert.strictEqual(presentStatus(model({ clientState: 'stopped' })).severity, 'error');
  });

  it('a ready server with a message (a fallback) is a warning', function () {
    assert.strictEqual(presentStatus(model({ server: { ...ready, message: 'CUDA unavailable; using CPU' } })).severity, 'warning');
  });

  it('escapes Markdown so server text cannot inject links or icons', function () {
    assert.strictEqual(escapeMarkdown('[x](command:y) $(zap)'), '\\[x\\]\\(command:y\\) \\$\\(zap\\)');
  });
});

describe('server status store', function () {
  it('parses a status, dropping malformed recent entries and unknown fields', function () {
    const status = parseServerStatus({
      state: 'ready', device: 'webgpu', adapter: 'Radeon RX 7600', deviceReason: 7, extra: 1,
      recent: [{ at: 1, latencyMs: 10, tokens: 3, meanIterations: 4, level: 2 }, { at: 'x' }],
    });
    assert.deepStrictEqual(status, { state: 'ready', device: 'webgpu', adapter: 'Radeon RX 7600', recent: [{ at: 1, latencyMs: 10, tokens: 3, meanIterations: 4, level: 2 }] });
    assert.strictEqual(parseServerStatus({ state: 'ready', device: 'cpu', deviceReason: 'no GPU; running on the CPU' })?.deviceReason, 'no GPU; running on the CPU');
    assert.strictEqual(parseServerStatus({ state: 'exploded', recent: [] }), undefined);
    assert.strictEqual(parseServerStatus(null), undefined);
    assert.deepStrictEqual(parseServerStatus({ state: 'loading' }), { state: 'loading', recent: [] });
  });

  it('keeps the server counters when they are complete', function () {
    const counters = { requests: 5, cacheHits: 1, computed: 3, cancelled: 1, errors: 0 };
    assert.deepStrictEqual(parseServerStatus({ state: 'ready', recent: [], counters })?.counters, counters);
    assert.strictEqual(parseServerStatus({ state: 'ready', recent: [], counters: { requests: 5 } })?.counters, undefined);
    assert.ok(presentStatus(model({ server: { ...ready, counters } })).tooltip.includes('5 requests: 3 computed, 1 from cache'));
  });

  it('parses the build state, its progress and the message severity', function () {
    const raw = { state: 'building', build: { percent: 40, tensor: 't' }, severity: 'error', recent: [] };
    assert.deepStrictEqual(parseServerStatus(raw), { state: 'building', build: { percent: 40, tensor: 't' }, severity: 'error', recent: [] });
    assert.deepStrictEqual(parseServerStatus({ state: 'ready', build: { percent: 140, tensor: 't' }, severity: 'fatal' }), { state: 'ready', recent: [] });
    const p = { percent: 100, tensor: '', model: '/m', dtype: 'int4' };
    assert.deepStrictEqual(parseBuildProgress({ ...p, extra: 1 }), p);
    assert.strictEqual(parseBuildProgress({ ...p, percent: -1 }), undefined);
    assert.strictEqual(parseBuildProgress({ percent: 5, tensor: 't' }), undefined);
  });

  it('an error is announced once: a failed build or server, again only after a new load', function () {
    const failed: ServerStatus = { ...ready, severity: 'error', message: 'build of /m (int4) failed: disk full; using the default model' };
    assert.strictEqual(errorToAnnounce(undefined, failed), failed.message);
    assert.strictEqual(errorToAnnounce(failed, { ...failed, lastLatencyMs: 5 }), undefined);
    assert.strictEqual(errorToAnnounce({ state: 'loading', recent: [] }, failed), failed.message);
    assert.strictEqual(errorToAnnounce(undefined, { state: 'error', message: 'no model', recent: [] }), 'no model');
    assert.strictEqual(errorToAnnounce(undefined, { ...ready, message: 'build of /m cancelled; using the default model' }), undefined);
    assert.strictEqual(errorToAnnounce(undefined, ready), undefined);
  });

  it('parses progress', function () {
    assert.deepStrictEqual(parseProgress({ requestId: 1, uri: 'u', tokens: 2, elapsedMs: 3, meanIterations: 4 }),
      { requestId: 1, uri: 'u', tokens: 2, elapsedMs: 3, meanIterations: 4 });
    assert.strictEqual(parseProgress({ requestId: 1 }), undefined);
  });

  it('notifies listeners; progress is dropped when the client stops', function () {
    const store = new ServerStatusStore();
    let changes = 0;
    store.onDidChange(() => changes++);
    store.setStatus(ready);
    store.setProgress({ requestId: 1, uri: 'u', tokens: 2, elapsedMs: 3, meanIterations: 4 });
    store.setClientState('stopped');
    assert.strictEqual(changes, 3);
    assert.strictEqual(store.progress, undefined);
  });
});

describe('depth session', function () {
  it('think harder / less move the offset within ±MAX_OFFSET; reset clears it', function () {
    const session = new DepthSession();
    let changes = 0;
    const subscription = session.onDidChange(() => changes++);
    for (let i = 0; i < 10; i++) session.raise();
    assert.strictEqual(session.offset, MAX_OFFSET);
    assert.strictEqual(session.raise(), false);
    session.lower();
    assert.strictEqual(session.offset, MAX_OFFSET - 1);
    assert.strictEqual(session.reset(), true);
    assert.strictEqual(session.offset, 0);
    assert.strictEqual(session.reset(), false);
    for (let i = 0; i < 10; i++) session.lower();
    assert.strictEqual(session.offset, -MAX_OFFSET);
    subscription.dispose();
    const before = changes;
    session.raise();
    assert.strictEqual(changes, before);
  });

  it('keeps the confidence of what the last decision showed; a new decision clears it', function () {
    const session = new DepthSession();
    let changes = 0;
    session.onDidChange(() => changes++);
    session.recordShown({ confidence: 0.3, lowConfidence: true });
    assert.deepStrictEqual(session.lastShown, { confidence: 0.3, lowConfidence: true });
    session.recordDecision({ level: 2, steps: 8, reasons: [], languageId: 'python', at: 0 });
    assert.strictEqual(session.lastShown, undefined);
    assert.strictEqual(changes, 2);
  });
});
