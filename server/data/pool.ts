// A pool of worker threads that process files in parallel (tree-sitter parsing is
// the costly step of a full build). Records are pure functions of their input, so
// results do not depend on scheduling. Without a worker script (a bundle built
// without the `data-worker` entry) the caller processes files in its own thread.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FileRecord, FilterOptions } from './types';
import type { LanguageInfo } from './languages';

export interface FileJob {
  id: number;
  path: string;
  bytes: Uint8Array;
  info: LanguageInfo | null;
  filters: FilterOptions;
}

export type FileJobResult = { id: number; rec: FileRecord } | { id: number; error: string };

/** How to start a worker: the bundled `data-worker.js` next to this file, or worker.ts through tsx. */
function workerSource(): { file: string; eval: boolean } | null {
  const bundled = path.join(__dirname, 'data-worker.js');
  if (fs.existsSync(bundled)) {
    return { file: bundled, eval: false };
  }
  const ts = path.join(__dirname, 'worker.ts');
  if (__filename.endsWith('.ts') && fs.existsSync(ts)) {
    try {
      const tsx = require.resolve('tsx/cjs/api');
      return { file: `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(ts)});`, eval: true };
    } catch {
      return null;
    }
  }
  return null;
}

export function defaultWorkers(): number {
  return Math.max(1, Math.min(8, os.availableParallelism()));
}

export class FilePool {
  private readonly idle: Worker[] = [];
  private readonly queue: Array<{ job: FileJob; resolve: (r: FileRecord) => void; reject: (e: Error) => void }> = [];
  private readonly pending = new Map<number, { resolve: (r: FileRecord) => void; reject: (e: Error) => void; worker: Worker }>();
  private nextId = 0;

  private constructor(private readonly workers: Worker[]) {
    for (const w of workers) {
      w.on('message', (m: FileJobResult) => this.onResult(w, m));
      w.on('error', (e: Error) => this.onFailure(w, e));
      this.idle.push(w);
    }
  }

  /** A pool of `n` workers, or null when no worker can be started here. */
  static create(n: number): FilePool | null {
    const src = workerSource();
    if (!src || n < 1) {
      return null;
    }
    try {
      return new FilePool(Array.from({ length: n }, () => new Worker(src.file, { eval: src.eval })));
    } catch {
      return null;
    }
  }

  run(job: Omit<FileJob, 'id'>): Promise<FileRecord> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { ...job, id: this.nextId++ }, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.pop()!;
      const { job, resolve, reject } = this.queue.shift()!;
      this.pending.set(job.id, { resolve, reject, worker: w });
      w.postMessage(job);
    }
  }

  private onResult(w: Worker, m: FileJobResult): void {
    const p = this.pending.get(m.id);
    this.pending.delete(m.id);
    this.idle.push(w);
    if (p) {
      if ('rec' in m) {
        p.resolve(m.rec);
      } else {
        p.reject(new Error(m.error));
      }
    }
    this.dispatch();
  }

  /** A worker died: fail its job; when none is left, fail the queue (callers fall back to their own thread). */
  private onFailure(w: Worker, e: Error): void {
    const i = this.workers.indexOf(w);
    if (i >= 0) {
      this.workers.splice(i, 1);
    }
    for (const [id, p] of this.pending) {
      if (p.worker === w) {
        this.pending.delete(id);
        p.reject(e);
      }
    }
    if (this.workers.length === 0) {
      for (const q of this.queue.splice(0)) {
        q.reject(e);
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
