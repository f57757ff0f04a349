// The training worker (worker_threads). It runs jobs one at a time, each sent as
// {type: 'run', opts}, and posts TrainWorkerMessage events (progress, log, done, error)
// for the job; {type: 'cancel'} stops the running job at the next step boundary. The
// thread outlives its jobs: a later job on the same repo rebuilds its dataset from the
// in-memory data cache of the one before (server/data), changing only what changed.
// Bundled as dist/train-worker.js.
import { parentPort } from 'node:worker_threads';
import { describeError, isCodetuneError } from '../errors';
import type { TrainWorkerMessage } from '../protocol';
import type { TrainOptions } from './options';
import { runTraining } from './trainer';
import { DataCache } from '../data/cache';

if (!parentPort) {
  throw new Error('server/train/worker.ts must run in a worker thread');
}
const port = parentPort;
let cancelled = false;
let running = false;
const post = (m: TrainWorkerMessage): void => port.postMessage(m);

function run(opts: TrainOptions): void {
  if (running) {
    post({ type: 'error', error: { code: 'TRAINING_BUSY', message: 'the training worker is already running a job' } });
    return;
  }
  running = true;
  cancelled = false;
  // A job ends once the data cache it saves in the background is on disk, so a thread
  // stopped after its job never cuts those writes short.
  const job = runTraining(opts, { emit: post, shouldStop: () => cancelled });
  job.finally(() => DataCache.settled()).then(
    (done) => {
      running = false;
      post({ type: 'done', done });
    },
    (e: unknown) => {
      running = false;
      const code = isCodetuneError(e) ? e.code : 'INTERNAL';
      const message = isCodetuneError(e) ? describeError(e) : `internal error: ${describeError(e)}${process.env.CODETUNE_DEBUG ? `\n${(e as Error)?.stack ?? ''}` : ''}`;
      post({ type: 'error', error: { code, message } });
    },
  );
}

port.on('message', (m: unknown) => {
  const type = m && typeof m === 'object' ? (m as { type?: unknown }).type : undefined;
  if (type === 'cancel') {
    cancelled = true;
  } else if (type === 'run') {
    run((m as { opts: TrainOptions }).opts);
  }
});
