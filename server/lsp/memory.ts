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
