// A pool of worker threads that read and process files in parallel (tree-sitter
// parsing is the costly step of a full build). Files go out in batches that shrink
// towards the end, so one message carries many small files and a big file late in
// the run does not leave the other threads idle. Records are pure functions of their input, so results do not
// depend on scheduling. Without a worker script (a bundle built without the
// `data-worker` entry) the caller processes files in its own thread.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { TokenizerSource } from '../model/tokenizer';
import type { FileJob, FileJobResult } from './process';
import { decodeResults } from './shard';
import type { FilterOptions } from './types';

/** One message to a worker: a batch of files of one repo, or texts to tokenize. */
export type BatchRequest =
  | { id: number; kind: 'files'; root: string; filters: FilterOptions; jobs: FileJob[] }
  | { id: number; kind: 'tokenize'; tokenizer: TokenizerSource; key: string; texts: string[] };

/** Results of a files batch come as one buffer in the format of shard.ts. */
export type BatchReply = { id: number; buf: Uint8Array } | { id: number; ids: Int32Array[] } | { id: number; error: string };

/**
 * How to start a worker: `$CODETUNE_DATA_WORKER` (a built `data-worker.js`; the bench
 * sets it so that it measures the bundle the product runs), the bundled
 * `data-worker.js` next to this file, or worker.ts through tsx.
 */
function workerSource(): { file: string; eval: boolean } | null {
  const fromEnv = process.env.CODETUNE_DATA_WORKER;
  if (fromEnv && fs.existsSync(fromEnv)) {
    return { file: path.resolve(fromEnv), eval: false };
  }
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

/** Batches a worker holds at once (one running, one waiting). */
const IN_FLIGHT = 2;

/** The most files in one batch. */
const BATCH_MAX = 64;

/**
 * Consecutive batches for `n` jobs over `workers` threads: each a quarter of an even
 * share of what is left (at most BATCH_MAX), so early batches are large and the last
 * ones small, and a slow file near the end does not leave the other threads idle.
 */
export function batchSizes(n: number, workers: number): number[] {
  const sizes: number[] = [];
  for (let left = n; left > 0; ) {
    const k = batchCap(left, workers);
    sizes.push(k);
    left -= k;
  }
  return sizes;
}

/** The next batch's size with `left` jobs to go: a quarter of an even share, 1 to BATCH_MAX. */
const batchCap = (left: number, workers: number): number => Math.max(1, Math.min(BATCH_MAX, Math.ceil(left / (4 * Math.max(1, workers)))));

/** `items` cut into consecutive batches of the batchSizes sizes. */
export function inBatches<T>(items: T[], workers: number): T[][] {
  const out: T[][] = [];
  let at = 0;
  for (const k of batchSizes(items.length, workers)) {
    out.push(items.slice(at, at + k));
    at += k;
  }
  return out;
}

/**
 * Batches of job indexes for jobs of known sizes, largest first (longest processing
 * time first): a file that costs as much as hundreds of others starts at once, instead
 * of late in the run on one thread while the others run out of work. A batch closes at
 * the batchSizes count, or at a quarter of an even share of the bytes left, so a big
 * file is a batch of its own and the last batches are small.
 */
export function sizedBatches(sizes: number[], workers: number): number[][] {
  const w = 4 * Math.max(1, workers);
  const order = sizes.map((_, i) => i).sort((a, b) => sizes[b] - sizes[a] || a - b);
  let leftBytes = sizes.reduce((a, b) => a + b, 0);
  let leftN = sizes.length;
  const out: number[][] = [];
  let cur: number[] = [];
  let bytes = 0;
  for (const i of order) {
    cur.push(i);
    bytes += sizes[i];
    if (cur.length >= batchCap(leftN, workers) || bytes >= leftBytes / w) {
      out.push(cur);
      leftBytes -= bytes;
      leftN -= cur.length;
      cur = [];
      bytes = 0;
    }
  }
  if (cur.length > 0) {
    out.push(cur);
  }
  return out;
}

interface Pending {
  req: BatchRequest;
  resolve: (r: FileJobResult[] | Int32Array[]) => void;
  reject: (e: Error) => void;
}

export class FilePool {
  private readonly idle: Worker[] = [];
  private readonly queue: Pending[] = [];
  private queueHead = 0;
  private readonly running = new Map<number, Pending & { worker: Worker }>();
  private nextId = 0;

  private idleTimer: NodeJS.Timeout | null = null;

  private constructor(private readonly workers: Worker[]) {
    for (const w of workers) {
      w.on('message', (m: BatchReply) => this.onReply(w, m));
      w.on('error', (e: Error) => this.onFailure(w, e));
      // A worker that stops without an error (terminated) fails what it held, too.
      w.on('exit', (code) => this.onFailure(w, new Error(`data worker stopped (exit code ${code})`)));
    }
    // `idle` holds one entry per free batch slot: IN_FLIGHT per worker, interleaved.
    for (let k = 0; k < IN_FLIGHT; k++) {
      this.idle.push(...workers);
    }
  }

  private static sharedPool: FilePool | null = null;

  /**
   * The process's pool of `n` workers, kept between builds (a long-lived process
   * rebuilds often, and warm workers have their parsers loaded and their code
   * compiled). Idle workers do not keep the process alive, and the pool closes after a
   * minute unused. A busy pool is shared as it is, whatever its size.
   */
  static shared(n: number): FilePool | null {
    const cur = FilePool.sharedPool;
    if (cur && cur.workers.length > 0 && (cur.workers.length === n || cur.busy())) {
      return cur;
    }
    void cur?.close();
    FilePool.sharedPool = FilePool.create(n);
    return FilePool.sharedPool;
  }

  /** Close the shared pool now (tests, or a server shutting down). */
  static async closeShared(): Promise<void> {
    const cur = FilePool.sharedPool;
    FilePool.sharedPool = null;
    await cur?.close();
  }

  private busy(): boolean {
    return this.running.size > 0 || this.queueHead < this.queue.length;
  }

  /** Busy workers hold the process open; idle ones do not, and a pool idle for a minute closes. */
  private holdOpen(): void {
    const busy = this.busy();
    for (const w of this.workers) {
      if (busy) {
        w.ref();
      } else {
        w.unref();
      }
    }
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    if (!busy && FilePool.sharedPool === this) {
      this.idleTimer = setTimeout(() => {
        if (FilePool.sharedPool === this) {
          void FilePool.closeShared();
        }
      }, 60_000);
      this.idleTimer.unref();
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

  run(root: string, filters: FilterOptions, jobs: FileJob[]): Promise<FileJobResult[]> {
    return this.send({ id: this.nextId++, kind: 'files', root, filters, jobs }) as Promise<FileJobResult[]>;
  }

  /**
   * Token ids of `texts` (each encoded without BOS), by a copy of the tokenizer in the
   * worker (built once per worker from `tokenizer`, keyed by `key`).
   */
  tokenize(tokenizer: TokenizerSource, key: string, texts: string[]): Promise<Int32Array[]> {
    return this.send({ id: this.nextId++, kind: 'tokenize', tokenizer, key, texts }) as Promise<Int32Array[]>;
  }

  private send(req: BatchRequest): Promise<FileJobResult[] | Int32Array[]> {
    return new Promise((resolve, reject) => {
      if (this.workers.length === 0) {
        reject(new Error('no worker left'));
        return;
      }
      this.queue.push({ req, resolve, reject });
      this.dispatch();
      this.holdOpen();
    });
  }

  /**
   * Hand out batches: each worker holds up to IN_FLIGHT of them, so it starts its next
   * batch without waiting for this thread to read its last reply.
   */
  private dispatch(): void {
    while (this.idle.length > 0 && this.queueHead < this.queue.length) {
      const w = this.idle.shift()!;
      const p = this.queue[this.queueHead];
      this.queue[this.queueHead++] = undefined as unknown as Pending;
      this.running.set(p.req.id, { ...p, worker: w });
      w.postMessage(p.req);
    }
  }

  private onReply(w: Worker, m: BatchReply): void {
    const p = this.running.get(m.id);
    this.running.delete(m.id);
    if (this.workers.includes(w)) {
      this.idle.push(w);
    }
    if (p) {
      try {
        // A reply that does not decode fails its batch (the caller redoes it in its own thread).
        if ('error' in m) {
          throw new Error(m.error);
        }
        p.resolve('ids' in m ? m.ids : decodeResults(m.buf));
      } catch (e) {
        p.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
    this.dispatch();
    if (this.running.size === 0) {
      this.queue.length = 0;
      this.queueHead = 0;
      this.holdOpen();
    }
  }

  /** A worker died: fail its batch; when none is left, fail the queue (callers fall back to their own thread). */
  private onFailure(w: Worker, e: Error): void {
    const i = this.workers.indexOf(w);
    if (i >= 0) {
      this.workers.splice(i, 1);
    }
    for (let k = this.idle.indexOf(w); k >= 0; k = this.idle.indexOf(w)) {
      this.idle.splice(k, 1);
    }
    for (const [id, p] of this.running) {
      if (p.worker === w) {
        this.running.delete(id);
        p.reject(e);
      }
    }
    if (this.workers.length === 0) {
      while (this.queueHead < this.queue.length) {
        this.queue[this.queueHead++].reject(e);
      }
    }
  }

  async close(): Promise<void> {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
    }
    if (FilePool.sharedPool === this) {
      FilePool.sharedPool = null;
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
