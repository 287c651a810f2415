// The WebGPU probe, run as a child process by device.ts: creates an onnxruntime session on the
// WebGPU execution provider for a one-node graph (y = x + x), runs it and checks the answer.
// Prints one JSON line on stdout ({"ok":true} or {"ok":false,"error":"..."}); the parent reads
// the adapter's name from what the Vulkan loader logs on stderr (VK_LOADER_DEBUG=driver).
import * as ort from 'onnxruntime-node';
import { DataType, Graph, WeightsFile } from '../../native/builder/onnxGraph';
import { ortMessage, type ProbeAnswer } from './device';

function answer(a: ProbeAnswer): void {
  process.stdout.write(`${JSON.stringify(a)}\n`);
}

async function main(): Promise<void> {
  const g = new Graph('probe', new WeightsFile('unused.bin'));
  const x = g.input('x', DataType.FLOAT, [4]);
  g.output('y', DataType.FLOAT, [4], g.op('Add', [x, x]));
  const session = await ort.InferenceSession.create(g.encode(), { executionProviders: ['webgpu'], logSeverityLevel: 3 });
  try {
    const input = Float32Array.from([1, 2, 3, 4]);
    const out = await session.run({ x: new ort.Tensor('float32', input, [4]) });
    const y = Array.from(out.y.data as Float32Array);
    if (y.join(',') !== '2,4,6,8') throw new Error(`the WebGPU probe computed ${y.join(',')} for 2,4,6,8`);
  } finally {
    await session.release();
  }
  answer({ ok: true });
}

main().then(
  () => process.exit(0),
  (e) => {
    answer({ ok: false, error: ortMessage(String((e as Error)?.message ?? e)) });
    process.exit(0);
  },
);
