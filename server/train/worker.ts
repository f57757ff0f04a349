// The training worker (worker_threads). Receives TrainOptions as workerData, posts
// TrainWorkerMessage events (progress, log, done, error) and stops at the next step
// boundary when it gets {type: 'cancel'}. Bundled as dist/train-worker.js.
import { parentPort, workerData } from 'node:worker_threads';
import { describeError, isCodetuneError } from '../errors';
import type { TrainWorkerMessage } from '../protocol';
import type { TrainOptions } from './options';
import { runTraining } from './trainer';

if (!parentPort) {
  throw new Error('server/train/worker.ts must run in a worker thread');
}
const port = parentPort;
let cancelled = false;
port.on('message', (m: unknown) => {
  if (m && typeof m === 'object' && (m as { type?: unknown }).type === 'cancel') {
    cancelled = true;
  }
});
const post = (m: TrainWorkerMessage): void => port.postMessage(m);

runTraining(workerData as TrainOptions, { emit: post, shouldStop: () => cancelled }).then(
  (done) => {
    post({ type: 'done', done });
    port.close();
  },
  (e: unknown) => {
    const code = isCodetuneError(e) ? e.code : 'INTERNAL';
    const message = isCodetuneError(e) ? describeError(e) : `internal error: ${describeError(e)}${process.env.CODETUNE_DEBUG ? `\n${(e as Error)?.stack ?? ''}` : ''}`;
    post({ type: 'error', error: { code, message } });
    port.close();
  },
);
