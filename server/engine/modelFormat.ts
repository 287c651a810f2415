// Which weight dtype a checkpoint is built as. The user picks a model format (setting
// recurrentCopilot.modelFormat, the CLI's --dtype); `auto` follows the device the sessions will
// use: fp16 where a GPU provider is requested and installed, int4 on the CPU, where onnxruntime
// runs fp16 weights as fp32 and 4-bit MatMulNBits is the smallest and fastest.
import { WeightDtype } from '../../native/model/manifest';
import type { ModelFormat } from '../protocol';
import { DevicePreference, gpuProviderAvailable } from './sessions';

export { MODEL_FORMATS, type ModelFormat } from '../protocol';

/** Logged, and shown in the editor's status, when an fp16 model runs on the CPU. */
export const FP16_ON_CPU =
  "fp16 on the CPU: onnxruntime converts fp16 weights to fp32 at load, so it uses fp32's memory and speed; use int4 for a smaller, faster CPU model";

export function resolveBuildDtype(format: ModelFormat, device: DevicePreference, gpuAvailable: (d: DevicePreference) => boolean = gpuProviderAvailable): WeightDtype {
  if (format !== 'auto') return format;
  return gpuAvailable(device) ? 'fp16' : 'int4';
}

/** What the engine says about running `dtype` on `provider`, if anything. */
export function formatNotice(dtype: string, provider: string): string | undefined {
  return dtype === 'fp16' && provider === 'cpu' ? FP16_ON_CPU : undefined;
}
