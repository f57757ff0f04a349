// The trainer's API for the language server and the CLI:
//   startTraining(opts, onMessage) runs a job in a worker thread (the caller's event loop
//   stays free) and returns {jobId, cancel(), done};
//   evaluate(opts) scores the base and base + adapter on the held-out split.
// See docs/TRAINING.md.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { CodetuneError } from '../errors';
import type { TrainDone, TrainWorkerMessage } from '../protocol';
import type { TrainOptions } from './options';

export type { TrainOptions } from './options';
export { TRAIN_DEFAULTS, parseTargets } from './options';
export { evaluate, type EvaluateOptions, type EvaluateResult } from './evalrun';
export { checkpointDir } from './state';

export interface TrainingJob {
  jobId: string;
  /** Stop at the next step boundary; the checkpoint is kept and `done` rejects with CANCELLED. */
  cancel(): void;
  /** Resolves with the adapter folder and metrics; rejects with a CodetuneError. */
  done: Promise<TrainDone>;
}

/**
 * The worker: the bundle's dist/train-worker.js, or from sources worker.ts loaded through
 * tsx's CommonJS hook (a Worker's execArgv cannot carry `--import tsx` on Node 20).
 */
function spawnWorker(opts: TrainOptions): Worker {
  const bundled = path.join(__dirname, 'train-worker.js');
  if (fs.existsSync(bundled)) {
    return new Worker(bundled, { workerData: opts });
  }
  const boot = `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(path.join(__dirname, 'worker.ts'))});`;
  return new Worker(boot, { eval: true, workerData: opts });
}

export function startTraining(opts: TrainOptions, onMessage: (m: TrainWorkerMessage) => void): TrainingJob {
  const jobId = crypto.randomUUID();
  const worker = spawnWorker(opts);
  let settled = false;
  const done = new Promise<TrainDone>((resolve, reject) => {
    worker.on('message', (m: TrainWorkerMessage) => {
      onMessage(m);
      if (m.type === 'done') {
        settled = true;
        resolve(m.done);
      } else if (m.type === 'error') {
        settled = true;
        reject(new CodetuneError(m.error.code, m.error.message));
      }
    });
    worker.on('error', (e) => {
      if (!settled) {
        settled = true;
        const message = `training worker crashed: ${e.message}`;
        onMessage({ type: 'error', error: { code: 'INTERNAL', message } });
        reject(new CodetuneError('INTERNAL', message));
      }
    });
    worker.on('exit', (code) => {
      if (!settled) {
        settled = true;
        const message = `training worker exited (code ${code}) before finishing`;
        onMessage({ type: 'error', error: { code: 'INTERNAL', message } });
        reject(new CodetuneError('INTERNAL', message));
      }
    });
  });
  return { jobId, cancel: () => worker.postMessage({ type: 'cancel' }), done };
}
