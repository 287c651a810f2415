// What this machine's memory allows: the memory available now, and the KV-cache ceiling that a
// completion may grow to, scaled with it (a 16 GB laptop and a 128 GB workstation differ).
import * as fs from 'fs';
import * as os from 'os';

/** Bytes the kernel says can be allocated without swapping (MemAvailable), or free memory where
 *  /proc/meminfo is missing. */
export function availableMemoryBytes(): number {
  try {
    const m = /^MemAvailable:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return os.freemem();
}

const MIB = 2 ** 20;

/** The KV ceiling of one completion: a quarter of the memory available once the model is loaded,
 *  at least 256 MiB and at most 16 GiB. */
export function kvCeilingBytes(available = availableMemoryBytes()): number {
  return Math.min(16 * 1024 * MIB, Math.max(256 * MIB, Math.floor(available / 4)));
}

/** Resident bytes a built model's weights take once loaded on the CPU: onnxruntime's CPU provider
 *  turns fp16 weights into fp32 at load (twice the file), and every build carries about a fifth
 *  more in graph buffers and arenas (measured at huginn-0125's size: 3.45 GB of int4 weights, 4.2
 *  GiB at the peak of loading). */
export function residentWeightBytes(weightsFileBytes: number, dtype: string): number {
  return Math.round(weightsFileBytes * (dtype === 'fp16' ? 2 : 1) * 1.2);
}

export class NotEnoughMemory extends Error {}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

/**
 * Refuses, before loading, a model whose weights and KV cache would not fit in the memory
 * available, with one message naming both numbers and what to do, instead of being killed by the
 * kernel halfway through loading.
 */
export function checkMemory(what: string, weightsFileBytes: number, dtype: string, available = availableMemoryBytes()): void {
  const weights = residentWeightBytes(weightsFileBytes, dtype);
  const kv = kvCeilingBytes(Math.max(0, available - weights));
  if (weights + kv <= available) return;
  const advice = dtype === 'int4' ? 'close other programs or use a smaller context (recurrentCopilot.prefixChars)' : 'build it as int4 (recurrentCopilot.modelFormat), close other programs, or use a smaller context (recurrentCopilot.prefixChars)';
  throw new NotEnoughMemory(
    `${what} needs about ${gib(weights + kv)} of memory (weights ${gib(weights)} as ${dtype}, KV cache ${gib(kv)}), but ${gib(available)} is available: ${advice}`,
  );
}
