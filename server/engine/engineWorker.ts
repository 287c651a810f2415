// Worker-thread body: owns the Engine. onnxruntime's run() is a synchronous native call, so the
// engine must not share a thread with anything that has to answer while it computes (the
// language server's JSON-RPC loop, a CLI's signal handling). Requests run one at a time, in order.
import { parentPort } from 'worker_threads';
import { CancelledError, SharedCancelFlag } from './cancel';
import { Engine } from './engine';
import { ModelBuildError } from './modelResolver';
import { ErrorKind, FromWorker, ToWorker } from './workerProtocol';

const port = parentPort;
if (!port) throw new Error('engineWorker must run in a worker thread');
const post = (m: FromWorker) => port.postMessage(m);

let engine: Engine | undefined;
let queue: Promise<void> = Promise.resolve();

function classify(e: unknown): ErrorKind {
  if (e instanceof CancelledError) return 'cancelled';
  if (e instanceof RangeError) return 'invalid-request';
  return 'internal';
}

/** How often an open polls its cancel flag while the worker is free (a build waiting on I/O). */
const CANCEL_POLL_MS = 50;

async function open(msg: Extract<ToWorker, { type: 'open' }>): Promise<void> {
  // The build stops on an AbortSignal; the client sets a shared flag, seen between two tensors
  // (the progress callback runs synchronously in the builder) and whenever this thread is free.
  const cancel = new SharedCancelFlag(msg.cancel);
  const controller = new AbortController();
  const check = () => {
    if (cancel.cancelled && !controller.signal.aborted) controller.abort();
  };
  const poll = setInterval(check, CANCEL_POLL_MS);
  try {
    engine = await Engine.open(msg.modelDir, {
      ...msg.options,
      log: (line) => post({ type: 'log', line }),
      onBuildProgress: (progress) => {
        post({ type: 'build-progress', progress });
        check();
      },
      signal: controller.signal,
      onMoved: (info) => post({ type: 'moved', info }),
    });
    post({ type: 'opened', info: engine.info() });
  } catch (e) {
    const kind = controller.signal.aborted ? 'cancelled' : e instanceof ModelBuildError ? 'build' : 'model';
    post({ type: 'open-failed', kind, message: (e as Error).message });
  } finally {
    clearInterval(poll);
  }
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'open':
      return open(msg);
    case 'generate':
    case 'score': {
      const cancel = new SharedCancelFlag(msg.cancel);
      try {
        if (!engine) throw new Error('no model is loaded');
        if (msg.type === 'generate') {
          const result = await engine.generate(msg.request, (event) => post({ type: 'token', id: msg.id, event }), cancel);
          post({ type: 'generated', id: msg.id, result });
        } else {
          post({ type: 'scored', id: msg.id, logits: await engine.score(msg.request, cancel) });
        }
      } catch (e) {
        post({ type: 'failed', id: msg.id, kind: classify(e), message: (e as Error).message });
      }
      return;
    }
    case 'close':
      await engine?.close();
      engine = undefined;
      post({ type: 'closed' });
      return;
  }
}

port.on('message', (msg: ToWorker) => {
  queue = queue.then(() => handle(msg));
});
