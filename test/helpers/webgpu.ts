// WebGPU in the tests: the adapter is Mesa's lavapipe (Vulkan on the CPU; scripts/setup.sh installs
// Mesa from bookworm-backports, since Dawn refuses bookworm's Mesa 22.3). The WebGPU tests skip,
// saying why, only when lavapipe is not installed.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO } from './reference';

/**
 * Mesa prints errors without XDG_RUNTIME_DIR; a private one is made for this test process (and so
 * for the servers, CLIs and probes it starts) when none is set.
 */
export function ensureXdgRuntimeDir(): void {
  if (process.env.XDG_RUNTIME_DIR) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-xdg-'));
  fs.chmodSync(dir, 0o700);
  process.env.XDG_RUNTIME_DIR = dir;
}
ensureXdgRuntimeDir();

const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/etc/vulkan/icd.d'];

/** Why the WebGPU tests cannot run here, or undefined when lavapipe is installed. */
export function lavapipeMissing(): string | undefined {
  if (process.platform !== 'linux') return 'the WebGPU tests use Mesa lavapipe, on Linux only';
  const icd = ICD_DIRS.some((d) => fs.existsSync(d) && fs.readdirSync(d).some((f) => /^lvp_icd.*\.json$/.test(f)));
  if (!icd) return `Mesa's lavapipe is not installed (no lvp_icd*.json in ${ICD_DIRS.join(', ')}); bash scripts/setup.sh installs it`;
  return undefined;
}

/** In a `before`: skips the suite, printing why, when lavapipe is not installed. */
export function requireLavapipe(ctx: Mocha.Context): void {
  const why = lavapipeMissing();
  if (why) {
    console.log(`      skipped: ${why}`);
    ctx.skip();
  }
}

export interface Placement {
  /** Per graph file: the execution providers its nodes were placed on, and the CPU-placed nodes. */
  graphs: Record<string, { providers: string[]; cpuNodes: string[]; nodes: number }>;
  log: string;
}

/**
 * Creates the engine's sessions for each graph of `modelDir` on WebGPU in a child process with
 * onnxruntime's verbose log on (it goes to that process's stderr), and reads where each node went.
 */
export function webgpuPlacement(modelDir: string): Placement {
  const child = path.join(REPO, 'out', 'test', 'helpers', 'placementChild.js');
  const r = spawnSync(process.execPath, [child, modelDir], { encoding: 'utf8', maxBuffer: 256 << 20, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`placement child failed (${r.status ?? r.signal}): ${r.stderr.slice(-2000)}`);
  return { graphs: parsePlacement(r.stderr), log: r.stderr };
}

/** Node placements per graph from onnxruntime's verbose log (split by `== graph <file>` lines). */
export function parsePlacement(log: string): Placement['graphs'] {
  const graphs: Placement['graphs'] = {};
  let current: string | undefined;
  let inCpuList = false;
  for (const line of log.split('\n')) {
    const marker = /^== graph (\S+)$/.exec(line);
    if (marker) {
      current = marker[1];
      graphs[current] = { providers: [], cpuNodes: [], nodes: 0 };
      continue;
    }
    if (!current || !line.includes('VerifyEachNodeIsAssignedToAnEp')) continue;
    const placed = /(?:All nodes|Node\(s\)) placed on \[(\w+)\]\. Number of nodes: (\d+)/.exec(line);
    if (placed) {
      graphs[current].providers.push(placed[1]);
      graphs[current].nodes += Number(placed[2]);
      inCpuList = placed[1] === 'CPUExecutionProvider';
      continue;
    }
    const node = /\]\s{3}(\S+ \(.*\))\s*$/.exec(line);
    if (node && inCpuList) graphs[current].cpuNodes.push(node[1]);
  }
  return graphs;
}
