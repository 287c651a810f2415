// Which weight dtype a checkpoint is built as. The user picks a model format (setting
// recurrentCopilot.modelFormat, the CLI's --dtype); `auto` follows the device decision
// (device.ts), the same one the sessions are made on: fp16 on a GPU provider (WebGPU or CUDA),
// int4 on the CPU, where onnxruntime runs fp16 weights as fp32 and 4-bit MatMulNBits is the
// smallest and fastest.
import { WeightDtype } from '../../native/model/manifest';
import type { ModelFormat } from '../protocol';
import type { Provider } from './device';

export { MODEL_FORMATS, type ModelFormat } from '../protocol';

/** Logged, and shown in the editor's status, when an fp16 model runs on the CPU. */
export const FP16_ON_CPU =
  "fp16 on the CPU: onnxruntime converts fp16 weights to fp32 at load, so it uses fp32's memory and speed; use int4 for a smaller, faster CPU model";

/** The dtype `format` means on `provider` (the decided one: see decideDevice). */
export function resolveBuildDtype(format: ModelFormat, provider: Provider): WeightDtype {
  if (format !== 'auto') return format;
  return provider === 'cpu' ? 'int4' : 'fp16';
}

/** What the engine says about running `dtype` on `provider`, if anything. */
export function formatNotice(dtype: string, provider: string): string | undefined {
  return dtype === 'fp16' && provider === 'cpu' ? FP16_ON_CPU : undefined;
}
