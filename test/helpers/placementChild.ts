// Child process of webgpuPlacement (webgpu.ts): creates each graph's session on WebGPU (the
// model's three and the engine's helper graphs) with the engine's session options and
// onnxruntime's verbose log, which lists where every node went.
// Writes `== graph <file>` on stderr before each session, so the log can be split per graph.
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { readManifest } from '../../native/model/manifest';
import { HELPER_GRAPHS, sessionOptions } from '../../server/engine/sessions';

async function main(): Promise<void> {
  const manifest = readManifest(process.argv[2]);
  for (const file of [manifest.paths.prelude, manifest.paths.core, manifest.paths.coda]) {
    process.stderr.write(`== graph ${path.basename(file)}\n`);
    const session = await ort.InferenceSession.create(file, { ...sessionOptions('webgpu', 1), logSeverityLevel: 0, logVerbosityLevel: 0 });
    await session.release();
  }
  // the engine's own small graphs on the GPU: the state's read-back and the KV cache's fit
  for (const [name, graph] of Object.entries(HELPER_GRAPHS)) {
    process.stderr.write(`== graph ${name}\n`);
    const session = await ort.InferenceSession.create(graph(), { ...sessionOptions('webgpu', 1), logSeverityLevel: 0, logVerbosityLevel: 0 });
    await session.release();
  }
}

main().catch((e) => {
  process.stderr.write(`placement failed: ${(e as Error).message}\n`);
  process.exit(1);
});
