// The trainer's API for the language server and the CLI:
//   startTraining(opts, onMessage) runs a job in a worker thread (the caller's event loop
//   stays free) and returns {jobId, cancel(), done}; a TrainWorker runs jobs one after
//   another in one thread that it keeps (the language server's case);
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
function spawnWorker(): Worker {
  const bundled = path.join(__dirname, 'train-worker.js');
  if (fs.existsSync(bundled)) {
    return new Worker(bundled);
  }
  const boot = `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(path.join(__dirname, 'worker.ts'))});`;
  return new Worker(boot, { eval: true });
}

interface CurrentJob {
  thread: Worker;
  onMessage: (m: TrainWorkerMessage) => void;
  resolve: (d: TrainDone) => void;
  reject: (e: CodetuneError) => void;
}

/**
 * A training thread that runs jobs one at a time and stays between them, so a later job
 * on the same repo rebuilds its dataset from the data cache the last one left in memory
 * (a one-file change costs a few percent of a full build; see docs/DATA.md). Idle, it
 * never holds the process open, and it stops after `idleMs`; a crashed thread fails its
 * job and the next job starts a new one.
 */
export class TrainWorker {
  private worker: Worker | null = null;
  private current: CurrentJob | null = null;
  private idleTimer: NodeJS.Timeout | null = null;

  /** `idleMs` 0: stop the thread as soon as a job ends (a one-shot run). */
  constructor(private readonly idleMs = 15 * 60_000) {}

  get busy(): boolean {
    return this.current !== null;
  }

  /** Whether a thread is up (tests). */
  get alive(): boolean {
    return this.worker !== null;
  }

  private thread(): Worker {
    if (this.worker) {
      return this.worker;
    }
    const w = spawnWorker();
    w.on('message', (m: TrainWorkerMessage) => {
      const job = this.current;
      if (!job || job.thread !== w) {
        return; // a stopped thread's last words
      }
      job.onMessage(m);
      if (m.type === 'done') {
        this.finish();
        job.resolve(m.done);
      } else if (m.type === 'error') {
        this.finish();
        job.reject(new CodetuneError(m.error.code, m.error.message));
      }
    });
    const fail = (message: string): void => {
      if (this.worker === w) {
        this.worker = null;
      }
      const job = this.current;
      if (job && job.thread === w) {
        this.current = null;
        job.onMessage({ type: 'error', error: { code: 'INTERNAL', message } });
        job.reject(new CodetuneError('INTERNAL', message));
      }
    };
    w.on('error', (e) => fail(`training worker crashed: ${e.message}`));
    w.on('exit', (code) => fail(`training worker exited (code ${code}) before finishing`));
    this.worker = w;
    return w;
  }

  private finish(): void {
    this.current = null;
    if (this.idleMs === 0) {
      void this.close();
      return;
    }
    this.worker?.unref();
    this.idleTimer = setTimeout(() => void this.close(), this.idleMs);
    this.idleTimer.unref();
  }

  private stopIdleTimer(): void {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
  }

  run(opts: TrainOptions, onMessage: (m: TrainWorkerMessage) => void): TrainingJob {
    if (this.current) {
      throw new CodetuneError('TRAINING_BUSY', 'a training job is already running in this worker');
    }
    this.stopIdleTimer();
    const jobId = crypto.randomUUID();
    const w = this.thread();
    w.ref();
    const done = new Promise<TrainDone>((resolve, reject) => {
      this.current = { thread: w, onMessage, resolve, reject };
    });
    const job = this.current!;
    w.postMessage({ type: 'run', opts });
    return {
      jobId,
      cancel: () => {
        if (this.current === job) {
          w.postMessage({ type: 'cancel' });
        }
      },
      done,
    };
  }

  /** Stop the thread (a running job fails). */
  async close(): Promise<void> {
    this.stopIdleTimer();
    const w = this.worker;
    this.worker = null;
    if (w) {
      await w.terminate();
    }
  }
}

/** Run one job in a thread of its own, stopped when the job ends (the CLI's case). */
export function startTraining(opts: TrainOptions, onMessage: (m: TrainWorkerMessage) => void): TrainingJob {
  return new TrainWorker(0).run(opts, onMessage);
}
