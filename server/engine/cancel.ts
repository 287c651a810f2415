// Cooperative cancellation, checked by the engine between model runs (one core iteration at most).

export class CancelledError extends Error {
  constructor() {
    super('request cancelled');
  }
}

export interface CancelSignal {
  readonly cancelled: boolean;
}

export const NEVER_CANCELLED: CancelSignal = { cancelled: false };

/** A flag in shared memory, so a worker busy in native code can be cancelled from another thread. */
export class SharedCancelFlag implements CancelSignal {
  private readonly flag: Int32Array;
  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(4)) {
    this.flag = new Int32Array(buffer);
  }
  get buffer(): SharedArrayBuffer {
    return this.flag.buffer as SharedArrayBuffer;
  }
  cancel(): void {
    Atomics.store(this.flag, 0, 1);
  }
  get cancelled(): boolean {
    return Atomics.load(this.flag, 0) !== 0;
  }
}

export function throwIfCancelled(signal: CancelSignal): void {
  if (signal.cancelled) throw new CancelledError();
}
