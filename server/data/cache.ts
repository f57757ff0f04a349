// Incremental cache: FileRecords keyed by (git blob id, path) and token ids keyed
// by content hash, kept in memory and persisted in binary shard files in `dir`. Only
// redacted text is ever stored. Entries not used by a run are dropped on save.
// Shard files are in the binary format of shard.ts.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeError, isCodetuneError } from '../errors';
import { writeFileAtomic, writeFileAtomicAsync } from '../util/atomic';
import { peekFile } from '../util/peek';
import type { FileRecord } from './types';
import { type Codec, FORMAT, RECORDS, ShardReader, ShardWriter, TOKENS } from './shard';

/** Default cache folder: ~/.cache/codetune/data/<hash of the repo root>. */
export function defaultCacheDir(root: string): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'codetune', 'data', crypto.createHash('sha1').update(root).digest('hex').slice(0, 16));
}

/** Shard counts: a file's change touches a handful of token entries, spread over shards. */
const RECORD_SHARDS = 64;
const TOKEN_SHARDS = 256;

/** Shard of a key: a small hash of the whole key. */
const shardOf = (key: string, shards: number): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  }
  return (h >>> 0) % shards;
};

/**
 * Entries live in `shards` files per kind; a save rewrites only the shards whose
 * entries changed (new ones, or ones this run did not use), so a one-file change
 * writes a small part of the cache. A file that is missing, foreign (another format
 * or key) or damaged in any way is ignored and rewritten.
 */
class ShardedStore<V extends object> {
  readonly map = new Map<string, V>();
  readonly used = new Set<string>();
  private readonly dirty = new Set<number>();

  constructor(
    private readonly shards: number,
    private readonly file: (shard: number) => string,
    /** Written into each header and required of each file read. */
    private readonly key: string,
    private readonly codec: Codec<V>,
    /** The part of a key that picks its shard (records: the path, so a file's old and new entries share one). */
    private readonly shardKey: (k: string) => string = (k) => k,
  ) {}

  private shardOf(k: string): number {
    return shardOf(this.shardKey(k), this.shards);
  }

  load(): void {
    for (let i = 0; i < this.shards; i++) {
      let buf: Buffer;
      try {
        buf = fs.readFileSync(this.file(i));
      } catch {
        continue; // missing
      }
      const got: Array<[string, V]> = [];
      try {
        const r = new ShardReader(buf);
        const h = r.header;
        if (h.format !== FORMAT || h.key !== this.key || !Array.isArray(h.entries)) {
          throw new Error('foreign shard file');
        }
        for (const e of h.entries as unknown[]) {
          if (!Array.isArray(e) || typeof e[0] !== 'string') {
            throw new Error('bad entry in a shard file');
          }
          got.push([e[0], this.codec.read(e[1], r)]);
        }
      } catch {
        this.dirty.add(i); // damaged or foreign: rewritten at the next save
        continue;
      }
      for (const [k, v] of got) {
        this.map.set(k, v);
        const home = this.shardOf(k);
        if (home !== i) {
          // An entry in the wrong file (another layout): rewrite both files.
          this.dirty.add(i);
          this.dirty.add(home);
        }
      }
    }
  }

  /** Sizes and times of the shard files: tells whether the disk still holds what memory holds. */
  stamp(): string {
    const parts: string[] = [];
    for (let i = 0; i < this.shards; i++) {
      try {
        const st = fs.statSync(this.file(i));
        parts.push(`${st.size}:${st.mtimeMs}`);
      } catch {
        parts.push('-');
      }
    }
    return parts.join(',');
  }

  /** Start a new run on the same entries. */
  beginRun(): void {
    this.used.clear();
    this.dirty.clear();
  }

  get(k: string): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.used.add(k);
    }
    return v;
  }

  set(k: string, v: V): void {
    this.map.set(k, v);
    this.used.add(k);
    this.dirty.add(this.shardOf(k));
  }

  /**
   * The shard files this run changed (new entries, or entries it did not use, which
   * are dropped), encoded now: later changes to the store do not reach them.
   */
  changedFiles(): ShardFile[] {
    for (const k of this.map.keys()) {
      if (!this.used.has(k)) {
        // Dropped: its shard is rewritten without it, and memory lets it go too (kept,
        // an old version of an edited file would dirty its shard at every later save).
        this.dirty.add(this.shardOf(k));
        this.map.delete(k);
      }
    }
    if (this.dirty.size === 0) {
      return [];
    }
    const byShard = new Map<number, Array<[string, V]>>([...this.dirty].map((sh) => [sh, []]));
    for (const k of this.used) {
      const v = this.map.get(k);
      const list = v !== undefined ? byShard.get(this.shardOf(k)) : undefined;
      list?.push([k, v!]);
    }
    const out: ShardFile[] = [];
    for (const [sh, list] of byShard) {
      const w = new ShardWriter();
      const entries = list.map(([k, v]) => [k, this.codec.write(v, w)]);
      out.push({ file: this.file(sh), bytes: w.finish({ format: FORMAT, key: this.key, entries }) });
    }
    this.dirty.clear();
    return out;
  }
}

/** A shard file to write. */
interface ShardFile {
  file: string;
  bytes: Buffer;
}

/** Shard files of the JSON format before this one (format 5 and older): removed when a cache folder is loaded. */
const STALE = /^(records-[0-9a-f]+|tokens-[0-9a-f]+-[0-9a-f]+)\.json$/;

function removeStale(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((f) => STALE.test(f));
  } catch {
    return; // no folder yet
  }
  for (const f of names) {
    // Only files that begin as the old shards did ({"format":N,...): a folder given as
    // --cache-dir may hold someone's own records-1.json.
    const file = path.join(dir, f);
    const head = peekFile(file, 16);
    if (head !== null && /^\{"format":\d+,/.test(head)) {
      try {
        fs.rmSync(file, { force: true });
      } catch {
        // not ours to remove after all: left alone
      }
    }
  }
}

interface Remembered {
  configKey: string;
  tokenKey: string | null;
  records: ShardedStore<FileRecord>;
  recordsStamp: string;
  tokens: ShardedStore<Int32Array> | null;
  tokensStamp: string;
}

const MEMORY = new Map<string, Remembered>();

export class DataCache {
  private records: ShardedStore<FileRecord>;
  private tokenStore: ShardedStore<Int32Array> | null;
  hits = 0;
  misses = 0;
  /** Whether this run reused the entries a previous run of this process left in memory. */
  fromMemory = false;

  /** `configKey` covers everything records depend on (filter settings, pipeline version). */
  constructor(
    readonly dir: string | null,
    private readonly configKey: string,
    private readonly tokenKey: string | null,
  ) {
    const d = dir ?? '';
    this.records = new ShardedStore<FileRecord>(RECORD_SHARDS, (i) => path.join(d, `records-${i.toString(16)}.bin`), configKey, RECORDS, (k) => k.slice(k.indexOf(':') + 1));
    this.tokenStore = tokenKey ? new ShardedStore<Int32Array>(TOKEN_SHARDS, (i) => path.join(d, `tokens-${tokenKey}-${i.toString(16)}.bin`), tokenKey, TOKENS) : null;
  }

  /** The cache of `dir` (null: none), after any background save to it has ended. */
  static async load(dir: string | null, configKey: string, tokenKey: string | null): Promise<DataCache> {
    const c = new DataCache(dir, configKey, tokenKey);
    if (!dir) {
      return c;
    }
    await PENDING.get(dir);
    // A long-running process (the language server) keeps the last cache of a folder in
    // memory and reuses it while the files on disk are the ones it wrote or read.
    const memo = MEMORY.get(dir);
    if (memo && memo.configKey === configKey && memo.records.stamp() === memo.recordsStamp) {
      c.records = memo.records;
      c.records.beginRun();
      if (tokenKey && memo.tokenKey === tokenKey && memo.tokens && memo.tokens.stamp() === memo.tokensStamp) {
        c.tokenStore = memo.tokens;
        c.tokenStore.beginRun();
      } else {
        c.loadTokens();
      }
      c.fromMemory = true;
      return c;
    }
    removeStale(dir);
    c.records.load();
    c.loadTokens();
    c.remember();
    return c;
  }

  private loadTokens(): void {
    this.tokenStore?.load();
  }

  private remember(): void {
    if (this.dir) {
      MEMORY.set(this.dir, {
        configKey: this.configKey,
        tokenKey: this.tokenKey,
        records: this.records,
        recordsStamp: this.records.stamp(),
        tokens: this.tokenStore,
        tokensStamp: this.tokenStore?.stamp() ?? '',
      });
    }
  }

  /** Forget in-memory caches (the next load reads the disk). */
  static clearMemory(): void {
    MEMORY.clear();
  }

  /** Token ids by content key; shared with the TokenCache of a run. */
  get tokens(): TokenMap {
    const store = this.tokenStore;
    return {
      get: (k) => store?.get(k),
      set: (k, v) => store?.set(k, v),
    };
  }

  private static key(blob: string, p: string): string {
    return `${blob}:${p}`;
  }

  get(blob: string, p: string): FileRecord | undefined {
    const r = this.records.get(DataCache.key(blob, p));
    if (r) {
      this.hits++;
    }
    return r;
  }

  /**
   * Whether this run uses the same in-memory entries as the run that returned
   * `token` (the language server's rebuild): then a record that run used is still here.
   */
  sameEntriesAs(token: object | null): boolean {
    return this.fromMemory && token === this.records;
  }

  /** What `sameEntriesAs` compares against. */
  get entriesToken(): object {
    return this.records;
  }

  /** The key of a file's record (`reuse` takes it). */
  static keyOf(blob: string, p: string): string {
    return DataCache.key(blob, p);
  }

  /** Count a record a previous run of these entries used, by its key, as a hit of this run (kept at the next save). */
  reuse(key: string): void {
    if (this.records.get(key)) {
      this.hits++;
    }
  }

  set(blob: string, p: string, rec: FileRecord): void {
    this.misses++;
    if (this.dir !== null) {
      this.records.set(DataCache.key(blob, p), rec); // (no folder: nothing to keep)
    }
  }

  /**
   * Why the last save failed (a full disk, a folder that cannot be written), or null.
   * The build still succeeds: a cache that cannot be written only costs the next build.
   */
  saveError: { code: string; message: string } | null = null;

  /** Persist what this run used (entries it did not use are dropped). */
  save(): void {
    if (!this.dir) {
      return;
    }
    try {
      for (const f of this.changedFiles()) {
        writeFileAtomic(f.file, f.bytes);
      }
    } catch (e) {
      this.saveFailed(e);
      return;
    }
    this.remember();
  }

  /**
   * `save`, with the files written on the thread pool while the caller goes on (a
   * build's caller has training to do; the fsyncs need not hold it up). The shards are
   * encoded now. Until the writes end, `DataCache.load` of this folder waits for them,
   * so a later run reads what this one wrote. Resolves to the save's error, or null.
   */
  saveInBackground(): Promise<DataCache['saveError']> {
    const dir = this.dir;
    if (!dir) {
      return Promise.resolve(null);
    }
    let files: ShardFile[];
    try {
      files = this.changedFiles();
    } catch (e) {
      this.saveFailed(e);
      return Promise.resolve(this.saveError);
    }
    const done = Promise.all(files.map((f) => writeFileAtomicAsync(f.file, f.bytes))).then(
      () => {
        this.remember();
        return null;
      },
      (e: unknown) => {
        this.saveFailed(e);
        return this.saveError;
      },
    );
    const pending = done.finally(() => {
      if (PENDING.get(dir) === pending) {
        PENDING.delete(dir);
      }
    });
    PENDING.set(dir, pending);
    return pending;
  }

  /** Wait for every background save (before a thread ends). */
  static async settled(): Promise<void> {
    await Promise.all([...PENDING.values()]);
  }

  private changedFiles(): ShardFile[] {
    return [...this.records.changedFiles(), ...(this.tokenStore?.changedFiles() ?? [])];
  }

  private saveFailed(e: unknown): void {
    // Each shard file is replaced atomically, so the folder holds whole shards, old or new.
    this.saveError = isCodetuneError(e) ? { code: e.code, message: e.message } : { code: 'INTERNAL', message: describeError(e) };
    if (this.dir) {
      MEMORY.delete(this.dir);
    }
  }
}

/** Background saves under way, by folder. */
const PENDING = new Map<string, Promise<DataCache['saveError']>>();

export interface TokenMap {
  get(key: string): Int32Array | undefined;
  set(key: string, ids: Int32Array): void;
}
