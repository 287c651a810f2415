import * as assert from 'assert';
import { parsePlacement } from '../helpers/webgpu';

// onnxruntime 1.30's verbose log of the coda of builder version 2 on WebGPU (abridged), whose
// int64 Neg had no WebGPU kernel, and of a graph placed entirely on WebGPU.
const LOG = `== graph core.onnx
2026-12-05 21:28:42.255548021 [V:onnxruntime:, session_state.cc:1377 VerifyEachNodeIsAssignedToAnEp] Node placements
2026-12-05 21:28:42.255559051 [V:onnxruntime:, session_state.cc:1380 VerifyEachNodeIsAssignedToAnEp]  All nodes placed on [WebGpuExecutionProvider]. Number of nodes: 141
== graph coda.onnx
2026-12-05 21:29:45.686769115 [V:onnxruntime:, webgpu_execution_provider.cc:665 GetCapability] webgpu kernel not found in registries for Op type: Neg node name: /coda/Neg#94
2026-12-05 21:29:45.686769115 [V:onnxruntime:, session_state.cc:1377 VerifyEachNodeIsAssignedToAnEp] Node placements
2026-12-05 21:29:45.686769115 [V:onnxruntime:, session_state.cc:1383 VerifyEachNodeIsAssignedToAnEp]  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 1
2026-12-05 21:29:45.686769115 [V:onnxruntime:, session_state.cc:1385 VerifyEachNodeIsAssignedToAnEp]   Neg (/coda/Neg#94)
2026-12-05 21:29:45.686769115 [V:onnxruntime:, session_state.cc:1383 VerifyEachNodeIsAssignedToAnEp]  Node(s) placed on [WebGpuExecutionProvider]. Number of nodes: 76
2026-12-05 21:29:45.686769115 [V:onnxruntime:, session_state.cc:1385 VerifyEachNodeIsAssignedToAnEp]   Gather (/coda/Gather#1)
`;

describe('WebGPU placement log', function () {
  it('finds the nodes onnxruntime placed on the CPU, per graph', function () {
    assert.deepStrictEqual(parsePlacement(LOG), {
      'core.onnx': { providers: ['WebGpuExecutionProvider'], cpuNodes: [], nodes: 141 },
      'coda.onnx': { providers: ['CPUExecutionProvider', 'WebGpuExecutionProvider'], cpuNodes: ['Neg (/coda/Neg#94)'], nodes: 77 },
    });
  });
});
