// The data pipeline's API: a git repo -> clean, deduplicated, secret-free
// training examples, split by file, optionally tokenized and packed.
// Steps: collect (git) -> filter -> redact -> fingerprint/extract (cached per blob)
// -> dedup -> examples (mix) -> split -> tokenize + pack. See docs/DATA.md.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Dataset, DatasetOptions, DatasetStats, Example, FileRecord, MixRatios } from './types';
import { DEFAULT_FILTERS, DEFAULT_MIX } from './types';
import { listRepo, readTracked, type TrackedFile } from './collect';
import { checkPath, compileGlobs } from './filters';
import { type FileJobResult, processJob, PROCESS_VERSION } from './process';
import { defaultWorkers, FilePool, inBatches, sizedBatches } from './pool';
import { fileExamples, recencyWeight, splitOf, type FimStrings } from './examples';
import { dedupKept, type ExamplesFor, fullTail, patchTail, type Slot, type Tail } from './tail';
import { DataCache, defaultCacheDir } from './cache';
import { pack, TokenCache, textsToEncode, type TokenizedExample, tokenizeExample, tokenizerFingerprint } from './pack';

export type { Dataset, DatasetOptions, DatasetStats, Example, PackedSequence, ProgressEvent, MixRatios, FilterOptions } from './types';
export { writeJsonl, writeStats, toJsonlLine } from './export';

/** The line the CLI and the training log print when the cache could not be saved (null: it was). */
export function cacheSaveWarning(e: DatasetStats['cache']['saveError']): string | null {
  return e ? `warning: the incremental cache was not saved (${e.code}: ${e.message}); the next run builds from scratch` : null;
}

/** Examples made from an (in-memory) record, with the settings they were made with. */
interface ExamplesMemo {
  key: string;
  path: string;
  blob: string;
  split: 'train' | 'val';
  weight: number;
  examples: Example[];
}
const EXAMPLES_MEMO = new WeakMap<FileRecord, ExamplesMemo>();

/** Below this many characters to tokenize, building the tokenizer in each worker costs more than it saves. */
const TOKENIZE_POOL_MIN_CHARS = 2_000_000;

/** Up to this many files to process, they are sent out largest first (see sizedBatches). */
const SIZED_MAX_FILES = 5000;

/** Below this many files to process, starting workers costs more than it saves. */
const POOL_MIN_FILES = 256;

interface LastRun {
  key: string;
  files: TrackedFile[];
  modified: Set<string>;
  entries: object;
  slots: Slot[];
  tail: Tail;
}

/** The last run of this process, for a rebuild of the same folder (see pass 1). */
const LAST: { run: LastRun | null } = { run: null };

export async function buildDataset(opts: DatasetOptions): Promise<Dataset> {
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const lap = (name: string, since: number): number => {
    const now = performance.now();
    timings[name] = Math.round(now - since);
    return now;
  };
  const seed = opts.seed ?? 0;
  const valFraction = opts.valFraction ?? 0.1;
  const mix: MixRatios = { ...DEFAULT_MIX, ...opts.mix };
  const filters = { ...DEFAULT_FILTERS, ...opts.filters };
  const seqLen = opts.seqLen ?? 1024;
  const chunkChars = opts.chunkChars ?? 4000;
  const tok = opts.tokenizer;
  const progress = opts.onProgress ?? (() => undefined);

  const cacheDirOf = (root: string): string | null => (opts.cacheDir === undefined ? defaultCacheDir(root) : opts.cacheDir);
  const repo = await listRepo(opts.repo, { cacheDirOf });
  progress({ phase: 'collect', done: repo.files.length, total: repo.files.length });
  let t = lap('collect', t0);

  const configKey = crypto.createHash('sha1').update(JSON.stringify([PROCESS_VERSION, filters])).digest('hex');
  const tokenKey = tok ? tokenizerFingerprint(tok) : null;
  const cache = await DataCache.load(cacheDirOf(repo.root), configKey, tokenKey);
  t = lap('cache_load', t);

  const fim: FimStrings | null = tok?.fim ? { prefix: tok.idToToken(tok.fim.prefix) ?? '', suffix: tok.idToToken(tok.fim.suffix) ?? '', middle: tok.idToToken(tok.fim.middle) ?? '' } : null;
  // A file's examples depend only on its record, its path and blob, and these settings;
  // they are made as each record arrives (while other files are still being processed)
  // and remembered with an in-memory record, so a rebuild reuses them.
  const exKey = JSON.stringify([seed, mix, chunkChars, fim, valFraction]);
  const examplesOf = (p: string, blob: string, rec: FileRecord): ExamplesMemo => {
    const memo = EXAMPLES_MEMO.get(rec);
    if (memo && memo.key === exKey && memo.path === p && memo.blob === blob) {
      return memo;
    }
    const split = splitOf(p, valFraction);
    const made: ExamplesMemo = { key: exKey, path: p, blob, split, weight: 1, examples: rec.skip ? [] : fileExamples(p, blob, rec, { seed, mix, chunkChars, fim, split, weight: 1 }) };
    EXAMPLES_MEMO.set(rec, made);
    return made;
  };

  const rules = compileGlobs(opts.include, opts.exclude);
  const total = repo.files.length;
  let done = 0;
  const tick = (): void => {
    done++;
    if (done % 200 === 0) {
      progress({ phase: 'process', done, total });
    }
  };
  // Pass 1 (this thread): path rules and cache lookups; files changed in the work tree
  // are read here (their blob id is hashed from the bytes). Pass 2: read and process
  // what the cache did not have, in worker threads when there are many. Pass 3: in order.
  // A rebuild in the same process over the same index listing and in-memory cache
  // (the language server's case) redoes pass 1 only for files changed in the work tree
  // since then; the other files' slots are the last run's.
  const runKey = JSON.stringify([repo.root, path.resolve(opts.repo), cache.dir, configKey, opts.include, opts.exclude]);
  const last = LAST.run;
  const reuse = last !== null && last.key === runKey && last.files === repo.files && cache.sameEntriesAs(last.entries);
  const changed = reuse ? new Set([...last.modified, ...repo.modified]) : null;
  const slots: Slot[] = new Array<Slot>(repo.files.length);
  // Slots all have every field, in one order (one object shape for the loops below).
  const slot = (p: string, blob: string, o: Partial<Slot>): Slot => ({ path: p, blob, skip: o.skip, key: o.key, rec: o.rec, job: o.job });
  const classify = (f: TrackedFile): Slot => {
    if (f.mode === '160000') {
      return slot(f.path, f.blob, { skip: 'submodule' });
    }
    if (f.mode === '120000') {
      return slot(f.path, f.blob, { skip: 'symlink' });
    }
    const pc = checkPath(f.path, rules);
    if ('skip' in pc) {
      return slot(f.path, f.blob, { skip: pc.skip });
    }
    if (!repo.modified.has(f.path)) {
      const key = DataCache.keyOf(f.blob, f.path);
      const hit = cache.get(f.blob, f.path);
      return slot(f.path, f.blob, hit ? { key, rec: hit } : { key, job: { path: f.path, blob: f.blob, info: pc.info } });
    }
    const read = readTracked(repo.root, f.path, filters.maxFileBytes);
    if (!read.ok) {
      return slot(f.path, f.blob, { skip: read.reason });
    }
    const key = DataCache.keyOf(read.blob, f.path);
    const rec = cache.get(read.blob, f.path);
    return slot(f.path, read.blob, rec ? { key, rec } : { key, job: { path: f.path, blob: read.blob, info: pc.info, bytes: read.bytes } });
  };
  let reused = 0;
  // On a rebuild, the slots made again (the others are the last run's objects).
  const redone: number[] = [];
  for (let i = 0; i < repo.files.length; i++) {
    const f = repo.files[i];
    const prev = reuse && !changed!.has(f.path) ? last.slots[i] : undefined;
    if (prev && (prev.rec || prev.skip)) {
      if (prev.key) {
        cache.reuse(prev.key);
      }
      slots[i] = prev;
      reused++;
    } else {
      slots[i] = classify(f);
      if (reuse) {
        redone.push(i);
      }
    }
    if (!slots[i].job) {
      tick();
    }
  }
  const jobs = (reuse ? redone.map((i) => slots[i]) : slots).filter((e) => e.job !== undefined);
  const nWorkers = opts.workers ?? defaultWorkers();
  const pool = nWorkers > 0 && jobs.length >= (opts.workers !== undefined ? 1 : POOL_MIN_FILES) ? FilePool.shared(nWorkers) : null;
  const settle = (e: Slot, r: FileJobResult): void => {
    if ('readSkip' in r) {
      e.skip = r.readSkip;
    } else {
      e.rec = r.rec;
      cache.set(e.blob, e.path, r.rec);
      examplesOf(e.path, e.blob, r.rec);
    }
    e.job = undefined;
    tick();
  };
  try {
    // Sizes cost an lstat each (the file itself is read in a worker): worth it where a
    // few big files can be most of a small run (lodash.js is 40% of lodash's bytes).
    const sized = pool !== null && nWorkers > 1 && jobs.length <= SIZED_MAX_FILES;
    const sizeOf = (e: Slot): number => e.job!.bytes?.byteLength ?? fs.lstatSync(path.join(repo.root, e.path), { throwIfNoEntry: false })?.size ?? 0;
    const batches: Slot[][] = sized ? sizedBatches(jobs.map(sizeOf), nWorkers).map((b) => b.map((i) => jobs[i])) : inBatches(jobs, pool ? nWorkers : 1);
    const inThread = async (batch: Slot[]): Promise<FileJobResult[]> => {
      const out: FileJobResult[] = [];
      for (const e of batch) {
        out.push(await processJob(repo.root, e.job!, filters));
      }
      return out;
    };
    await Promise.all(
      batches.map(async (batch) => {
        const results = pool ? await pool.run(repo.root, filters, batch.map((e) => e.job!)).catch(() => inThread(batch)) : await inThread(batch);
        batch.forEach((e, i) => settle(e, results[i]));
      }),
    );
  } finally {
    if (opts.keepWorkers === false) {
      await pool?.close();
    }
  }
  progress({ phase: 'process', done: total, total });
  t = lap('process', t);

  const examplesFor: ExamplesFor = (k, newest) => {
    const memo = examplesOf(k.path, k.blob, k.rec);
    // The remembered examples carry the weight of the build that made them; a new
    // weight (HEAD moved) makes new example objects, so no earlier result changes.
    const weight = recencyWeight(repo.times.get(k.path), newest);
    if (memo.weight !== weight) {
      memo.examples = memo.examples.map((ex) => ({ ...ex, weight }));
      memo.weight = weight;
    }
    return memo;
  };
  const patched = reuse ? patchTail(last.tail, last.slots, slots, redone, repo.times, examplesFor) : null;
  const tail = patched ?? fullTail(slots, repo.times, (kept, recs) => dedupKept(kept, recs, reuse ? last.tail : null), examplesFor);
  const { final, dup, examples } = tail;
  if (cache.dir !== null) {
    LAST.run = { key: runKey, files: repo.files, modified: repo.modified, entries: cache.entriesToken, slots, tail };
  }
  t = lap('examples', t);

  let train: Dataset['train'] = [];
  let val: Dataset['val'] = [];
  let tokens: DatasetStats['tokens'] = null;
  let tokenizedInWorkers = 0;
  const tc = tok ? new TokenCache(tok, cache.tokens) : null;
  if (tok && tc) {
    // Texts not in the token cache are encoded by the worker threads when there are
    // many (each worker builds its own copy of the tokenizer once); then every example
    // is put together here from the cache, in order.
    const todo = new Map<string, string>();
    let todoChars = 0;
    for (const ex of examples) {
      for (const text of textsToEncode(ex, tok)) {
        if (text.length === 0) {
          continue;
        }
        const key = tc.keyOf(text);
        if (!todo.has(key) && !tc.has(key)) {
          todo.set(key, text);
          todoChars += text.length;
        }
      }
    }
    const nTokWorkers = opts.workers ?? defaultWorkers();
    const tpool = tok.source && nTokWorkers > 0 && todoChars >= (opts.workers !== undefined ? 1 : TOKENIZE_POOL_MIN_CHARS) ? FilePool.shared(nTokWorkers) : null;
    if (tpool && tok.source) {
      const source = tok.source;
      const key = tokenKey ?? tokenizerFingerprint(tok);
      const entries = [...todo.entries()];
      let encoded = 0;
      await Promise.all(
        inBatches(entries, nTokWorkers).map(async (batch) => {
          // A failed batch is left to the loop below, which encodes in this thread.
          const ids = await tpool.tokenize(source, key, batch.map(([, text]) => text)).catch(() => null);
          if (ids) {
            batch.forEach(([k], i) => tc.put(k, ids[i]));
            tokenizedInWorkers += batch.length;
          }
          encoded += batch.length;
          progress({ phase: 'tokenize', done: Math.round((encoded / entries.length) * examples.length * 0.9), total: examples.length });
        }),
      );
    }
    const trainItems: TokenizedExample[] = [];
    const valItems: TokenizedExample[] = [];
    for (let i = 0; i < examples.length; i++) {
      const ex = examples[i];
      (ex.split === 'train' ? trainItems : valItems).push(tokenizeExample(ex, tok, tc));
      if (i % 200 === 0) {
        progress({ phase: 'tokenize', done: i, total: examples.length });
      }
    }
    progress({ phase: 'tokenize', done: examples.length, total: examples.length });
    const padId = tok.fim?.pad ?? tok.eosIds[0] ?? 0;
    const pt = pack(trainItems, seqLen, padId, seed);
    const pv = pack(valItems, seqLen, padId, seed + 1);
    train = pt.sequences;
    val = pv.sequences;
    tokens = { train: pt.tokens, val: pv.tokens, trainSequences: train.length, valSequences: val.length, seqLen, truncated: pt.truncated + pv.truncated };
    t = lap('tokenize', t);
  }

  const background = opts.cacheWrite === 'background';
  const saved = background ? cache.saveInBackground() : (cache.save(), Promise.resolve(cache.saveError));
  t = lap('cache_save', t);

  timings.total = Math.round(t - t0);
  const stats: DatasetStats = {
    repo: repo.root,
    commit: repo.commit,
    seed,
    files: { tracked: repo.files.length, seen: repo.files.length, kept: final.length, skipped: tail.skipped },
    bytes: { seen: tail.bytesSeen, kept: tail.bytesKept },
    submodules: tail.submodules,
    secrets: tail.secrets,
    duplicates: { exact: dup.exact.size, near: dup.near.size },
    examples: { total: examples.length, byType: tail.byType, byLanguage: tail.byLanguage, train: examples.length - tail.valCount, val: tail.valCount },
    split: { trainFiles: tail.trainFiles, valFiles: final.length - tail.trainFiles, valFraction },
    parsers: tail.parsers,
    fim: tok ? (tok.fim ? { enabled: mix.fim > 0, style: tok.fim.style } : { enabled: false, reason: 'the tokenizer has no fill-in-the-middle tokens' }) : { enabled: false, reason: 'no tokenizer given (pass a model)' },
    tokens,
    cache: { hits: cache.hits, misses: cache.misses, tokenHits: tc?.counts().hits ?? 0, tokenMisses: tc?.counts().misses ?? 0, tokenizedInWorkers, fromMemory: cache.fromMemory, reused, patched: patched !== null, saveError: background ? null : cache.saveError, background },
    timings,
    workers: pool ? nWorkers : 0,
  };
  const ds: Dataset = { examples, train, val, valPairs: tail.valPairs, stats };
  SAVED.set(ds, saved);
  return ds;
}

const SAVED = new WeakMap<Dataset, Promise<DatasetStats['cache']['saveError']>>();

/**
 * How the build's cache save ended: null when it was written (or there is no cache
 * folder), else why not. With `cacheWrite: 'background'` this waits for the writes.
 */
export async function cacheSaved(ds: Dataset): Promise<DatasetStats['cache']['saveError']> {
  return (await SAVED.get(ds)) ?? null;
}
