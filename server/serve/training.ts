// Training over LSP: one job at a time, in the trainer's worker thread (server/train),
// so completions keep being served. Progress is forwarded as it comes; when the job
// ends, the adapter is copied into the store under a new id and reported.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CodetuneError, describeError, isCodetuneError } from '../errors';
import type { ProgressParams, StatusResult, TrainingDoneParams, TrainProgress } from '../protocol';
import type { ResolvedSettings } from './config';
import type { AdapterStore } from './store';

export interface TrainingHost {
  log(message: string): void;
  progress(p: ProgressParams): void;
  trainingDone(p: TrainingDoneParams): void;
}

/** A file path for a `file:` URI (or the text itself when it is a plain path). */
export function uriToPath(uri: string): string {
  return uri.startsWith('file:') ? fileURLToPath(uri) : uri;
}

interface RunningJob {
  jobId: string;
  folder: string;
  cancel(): void;
  progress: TrainProgress | null;
}

export class TrainingManager {
  private job: RunningJob | null = null;
  /**
   * The training thread, kept between jobs: training the same folder again rebuilds its
   * dataset from the data cache the last job left in memory (only changed files are read).
   */
  private worker: import('../train').TrainWorker | null = null;
  /** Resolves when the current job has been reported (tests and shutdown wait on it). */
  finished: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: TrainingHost,
    private readonly store: AdapterStore,
    private readonly settings: ResolvedSettings,
    private readonly modelDir: () => string | null,
    /** Throws when the adapter does not fit the serving base. */
    private readonly validate: (dir: string) => Promise<void>,
  ) {}

  state(): StatusResult['training'] {
    const j = this.job;
    return j ? { state: 'running', jobId: j.jobId, workspaceFolder: j.folder, progress: j.progress } : { state: 'idle', jobId: null, workspaceFolder: null, progress: null };
  }

  async start(folder: string, options: Record<string, unknown> = {}): Promise<string> {
    if (this.job) {
      throw new CodetuneError('TRAINING_BUSY', `a training job (${this.job.jobId}) is already running on ${this.job.folder}; cancel it or wait for it to finish`);
    }
    if (typeof folder !== 'string' || folder === '') {
      throw new CodetuneError('USAGE', 'train needs "workspaceFolder": the folder (URI or path) to train on');
    }
    if (options !== null && typeof options !== 'object') {
      throw new CodetuneError('USAGE', '"options" must be an object of trainer options');
    }
    const model = typeof options.model === 'string' ? options.model : this.modelDir();
    if (!model) {
      throw new CodetuneError('CHECKPOINT_MISSING', 'no base model is configured to train on; set `baseModel` and try again');
    }
    const repo = uriToPath(folder);
    if (!fs.existsSync(repo)) {
      throw new CodetuneError('NOT_FOUND', `${repo}: no such folder`);
    }
    const work = path.join(this.settings.storagePath, 'training', crypto.randomBytes(6).toString('hex'));
    const { TrainWorker } = await import('../train');
    this.worker ??= new TrainWorker();
    let reportedId = '';
    const job = this.worker.run({ backend: this.settings.backend, ...this.settings.training, ...options, repo, model, out: path.join(work, 'adapter') }, (m) => {
      if (m.type === 'progress') {
        if (this.job) {
          this.job.progress = m.progress;
        }
        this.host.progress({ jobId: reportedId, ...m.progress });
      } else if (m.type === 'log') {
        this.host.log(`training: ${m.message}`);
      }
    });
    reportedId = job.jobId;
    const running: RunningJob = { jobId: job.jobId, folder, cancel: () => job.cancel(), progress: null };
    this.job = running;
    this.host.log(`training ${job.jobId} started on ${repo}`);
    this.finished = job.done.then(
      async (done) => {
        let adapter = null;
        let error = null;
        try {
          await this.validate(done.adapterDir);
          adapter = this.store.import(done.adapterDir, { name: path.basename(repo), validate: () => undefined });
          fs.rmSync(work, { recursive: true, force: true });
        } catch (e) {
          error = { code: isCodetuneError(e) ? e.code : 'INTERNAL', message: `training finished but the adapter could not be stored: ${describeError(e)}` };
        }
        this.report({ jobId: job.jobId, adapter, metrics: done.metrics, error });
      },
      (e: unknown) => this.report({ jobId: job.jobId, adapter: null, metrics: null, error: { code: isCodetuneError(e) ? e.code : 'INTERNAL', message: describeError(e) } }),
    );
    return job.jobId;
  }

  private report(p: TrainingDoneParams): void {
    this.job = null;
    this.host.log(p.error ? `training ${p.jobId} ended: ${p.error.code}: ${p.error.message}` : `training ${p.jobId} done: adapter ${p.adapter?.id}`);
    this.host.trainingDone(p);
  }

  /** Cancel the running job (or the one with `jobId`); false when there is none. */
  cancel(jobId?: string): boolean {
    const j = this.job;
    if (!j || (jobId !== undefined && jobId !== j.jobId)) {
      return false;
    }
    j.cancel();
    return true;
  }

  /** Stop the training thread (a running job ends with an error). */
  async close(): Promise<void> {
    await this.worker?.close();
    this.worker = null;
  }
}
