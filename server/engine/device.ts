// Where the model runs: the device decision, shared by the sessions (sessions.ts), the format a
// checkpoint is built as (modelFormat.ts), the CLI and the language server.
//
//   auto:   a hardware WebGPU adapter, else CUDA where its provider library is installed, else
//           the CPU. Never a software adapter (lavapipe/llvmpipe, SwiftShader, WARP): it runs the
//           graphs far slower than onnxruntime's CPU provider.
//   webgpu: the WebGPU adapter Dawn picks, software ones included (the tests run on lavapipe).
//   cuda:   CUDA where its provider library is installed.
//   cpu:    the CPU.
//
// WebGPU is probed in a child process (webgpuProbe.js): it creates a session on a one-node graph
// and runs it. A child keeps a driver that aborts away from the server, and its stderr tells
// which adapter Dawn opened: on Linux Dawn runs on Vulkan, and the Vulkan loader, with
// VK_LOADER_DEBUG=driver, logs `Using "<device name>" with driver: "<ICD library>"` for the device
// it creates (onnxruntime itself names no adapter, in logs or in its API). On macOS Dawn runs on
// Metal, which has no software adapter. Elsewhere the adapter is unknown, and `auto` does not
// pick it. The probe runs once per process (about half a second) and only when WebGPU is allowed.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { DEVICES, type Device } from '../protocol';

export { DEVICES };
export type DevicePreference = Device;

/** The onnxruntime execution providers the engine uses. */
export type Provider = 'cpu' | 'webgpu' | 'cuda';

export interface WebGpuAdapter {
  /** The device's name as its driver gives it, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"; "unknown" when it could not be read. */
  name: string;
  /** The driver library (the Vulkan ICD), when known. */
  driver?: string;
  /** True for a software renderer, false for a GPU, undefined when it cannot be told. */
  software: boolean | undefined;
}

export type WebGpuProbe = { ok: true; adapter: WebGpuAdapter; ms: number } | { ok: false; reason: string; ms: number };

export interface DeviceDecision {
  /** The provider to create the sessions on (the CPU if that fails). */
  provider: Provider;
  /** The WebGPU adapter, when the provider is webgpu. */
  adapter?: WebGpuAdapter;
  /** When the provider is the CPU although a GPU was allowed: why, in one line ending "; running on the CPU". */
  fallbackReason?: string;
  /** GPUs that `auto` passed over before this provider, and why (for the message if this one fails too). */
  passedOver?: string[];
}

export const RUNNING_ON_CPU = 'running on the CPU';

/** The fallback line: the reasons, then where the model runs. */
export function fallbackLine(reasons: string[]): string {
  return [...reasons, RUNNING_ON_CPU].join('; ');
}

// --- CUDA ------------------------------------------------------------------------------------

/** Where onnxruntime-node keeps the CUDA provider library, if the package can be found. */
function cudaProviderPath(): { dir: string; lib: string } | undefined {
  let binding: string;
  try {
    binding = path.dirname(require.resolve('onnxruntime-node/package.json'));
  } catch {
    return undefined;
  }
  const dir = path.join(binding, 'bin', 'napi-v6', process.platform, process.arch);
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  return { dir, lib };
}

/** Whether the npm package has the CUDA provider library (its install script downloads it when allowed). */
export function cudaProviderInstalled(): boolean {
  const p = cudaProviderPath();
  return p !== undefined && fs.existsSync(path.join(p.dir, p.lib));
}

function cudaMissing(): string {
  return `no CUDA provider (${cudaProviderPath()?.lib ?? 'libonnxruntime_providers_cuda.so'} is not installed)`;
}

// --- WebGPU adapter --------------------------------------------------------------------------

/** Device names and driver libraries of software renderers: Mesa's lavapipe (llvmpipe) and
 *  softpipe, Google's SwiftShader, Microsoft's WARP ("Microsoft Basic Render Driver"). */
const SOFTWARE_NAME = /llvmpipe|lavapipe|softpipe|swiftshader|basic render driver|\bwarp\b/i;
const SOFTWARE_DRIVER = /(^|[^a-z])(lvp|swiftshader)([^a-z]|$)/i;

export function isSoftwareAdapter(name: string, driver = ''): boolean {
  return SOFTWARE_NAME.test(name) || SOFTWARE_DRIVER.test(path.basename(driver));
}

/** The adapter Dawn opened, from the probe's stderr (see the top of this file). */
export function identifyAdapter(stderr: string, platform: NodeJS.Platform = process.platform): WebGpuAdapter {
  const used = [...stderr.matchAll(/Using "([^"\n]+)" with driver: "([^"\n]+)"/g)].pop();
  if (used) return { name: used[1], driver: used[2], software: isSoftwareAdapter(used[1], used[2]) };
  if (platform === 'darwin') return { name: 'Metal GPU', software: false };
  return { name: 'unknown', software: undefined };
}

/** How an adapter is shown: its name, and "(software)" for a software renderer. */
export function adapterLabel(a: WebGpuAdapter): string {
  return a.software ? `${a.name} (software)` : a.name;
}

// --- the probe -------------------------------------------------------------------------------

export const WEBGPU_PROBE_TIMEOUT_MS = 30_000;

/** What the probe child prints on stdout, one JSON line. */
export type ProbeAnswer = { ok: true } | { ok: false; error: string };

function lastLine(s: string): string {
  const lines = s.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.pop() ?? '';
}

/**
 * One line of an onnxruntime error, without the source location and the failed check that an
 * ORT_ENFORCE puts first: "/onnxruntime_src/.../webgpu_context.cc:136 ... adapter_result.status ==
 * wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported
 * adapters" -> "Failed to get a WebGPU adapter: No supported adapters".
 */
export function ortMessage(message: string): string {
  const line = message.split('\n')[0].trim();
  const enforced = /\bwas false\.\s*(\S.*)$/.exec(line);
  return (enforced ? enforced[1] : line).slice(0, 300);
}

/** Runs the probe in a child process (no caching; see probeWebGpu). */
export function runWebGpuProbe(env: NodeJS.ProcessEnv = process.env, timeoutMs = WEBGPU_PROBE_TIMEOUT_MS): Promise<WebGpuProbe> {
  const started = Date.now();
  const script = path.join(__dirname, 'webgpuProbe.js');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script],
      { env: { ...env, VK_LOADER_DEBUG: 'driver' }, timeout: timeoutMs, maxBuffer: 16 << 20, encoding: 'utf8', windowsHide: true },
      (err, stdout, stderr) => {
        const ms = Date.now() - started;
        let answer: ProbeAnswer | undefined;
        try {
          answer = JSON.parse(lastLine(stdout)) as ProbeAnswer;
        } catch {
          answer = undefined;
        }
        if (answer?.ok) return resolve({ ok: true, adapter: identifyAdapter(stderr), ms });
        let reason: string;
        if (answer && !answer.ok) reason = answer.error;
        else if (err && (err as { killed?: boolean }).killed) reason = `the WebGPU probe did not answer within ${Math.round(timeoutMs / 1000)} s`;
        else {
          const how = err ? ((err as { signal?: string }).signal ?? `exit code ${(err as { code?: unknown }).code}`) : 'no answer';
          reason = `the WebGPU probe failed (${how})${stderr.trim() ? `: ${lastLine(stderr).slice(0, 300)}` : ''}`;
        }
        resolve({ ok: false, reason: reason.replace(/\s*\n\s*/g, ' '), ms });
      },
    );
  });
}

let probed: Promise<WebGpuProbe> | undefined;

/** The WebGPU probe's result, computed once per process. */
export function probeWebGpu(): Promise<WebGpuProbe> {
  probed ??= runWebGpuProbe();
  return probed;
}

// --- the decision ----------------------------------------------------------------------------

export interface DecideOptions {
  probe?: () => Promise<WebGpuProbe>;
  cudaInstalled?: () => boolean;
}

/** Why `auto` does not use WebGPU, given the probe's result (undefined: it does). */
export function webgpuPassedOver(p: WebGpuProbe): string | undefined {
  if (!p.ok) return `no WebGPU adapter (${p.reason})`;
  if (p.adapter.software === true) return `no hardware WebGPU adapter (found ${p.adapter.name}, a software renderer)`;
  if (p.adapter.software === undefined) return 'the WebGPU adapter could not be identified as a GPU (choose the webgpu device to use it anyway)';
  return undefined;
}

/** Which provider the model is to run on for `device` (the sessions fall back to the CPU if it fails). */
export async function decideDevice(device: DevicePreference, o: DecideOptions = {}): Promise<DeviceDecision> {
  const probe = o.probe ?? probeWebGpu;
  const cuda = o.cudaInstalled ?? cudaProviderInstalled;
  switch (device) {
    case 'cpu':
      return { provider: 'cpu' };
    case 'cuda':
      return cuda() ? { provider: 'cuda' } : { provider: 'cpu', fallbackReason: fallbackLine([cudaMissing()]) };
    case 'webgpu': {
      const p = await probe();
      return p.ok ? { provider: 'webgpu', adapter: p.adapter } : { provider: 'cpu', fallbackReason: fallbackLine([`WebGPU unavailable: ${p.reason}`]) };
    }
    case 'auto': {
      const p = await probe();
      const why = webgpuPassedOver(p);
      if (why === undefined && p.ok) return { provider: 'webgpu', adapter: p.adapter };
      if (cuda()) return { provider: 'cuda', passedOver: [why!] };
      return { provider: 'cpu', fallbackReason: fallbackLine([why!, cudaMissing()]) };
    }
    default:
      throw new RangeError(`device must be one of ${DEVICES.join(', ')}, got ${JSON.stringify(device)}`);
  }
}
