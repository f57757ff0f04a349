// Incremental cache: FileRecords keyed by (git blob id, path) and token ids keyed
// by content hash, kept in memory and persisted as JSON files in `dir`. Only
// redacted text is ever stored. Entries not used by a run are dropped on save.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic';
import { type FileRecord, makeRecord, type PackedPair, packPairs, unpackPairs } from './types';

const FORMAT = 5;

type StoredRecord = Omit<FileRecord, 'sig' | 'shingles' | 'pairs' | 'comments'> & { sig?: string; shingles?: string };

function toB64(a: Uint32Array | Int32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

function fromB64<T extends Uint32Array | Int32Array>(s: string, ctor: new (b: ArrayBuffer) => T): T {
  const buf = Buffer.from(s, 'base64');
  const copy = new ArrayBuffer(buf.byteLength);
  new Uint8Array(copy).set(buf);
  return new ctor(copy);
}

/** Default cache folder: ~/.cache/codetune/data/<hash of the repo root>. */
export function defaultCacheDir(root: string): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'codetune', 'data', crypto.createHash('sha1').update(root).digest('hex').slice(0, 16));
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  } catch {
    return null; // missing or corrupt: start empty
  }
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

function encodeRecord(r: FileRecord): string {
  const text = r.text ?? '';
  return JSON.stringify({ ...r, sig: r.sig ? toB64(r.sig) : undefined, shingles: r.shingles ? toB64(r.shingles) : undefined, pairs: packPairs(r.pairs, text), comments: packPairs(r.comments, text) });
}

function decodeRecord(v: StoredRecord): FileRecord {
  const { sig, shingles, pairs, comments, ...rest } = v as StoredRecord & { pairs?: PackedPair[]; comments?: PackedPair[] };
  const text = rest.text ?? '';
  return makeRecord({
    ...rest,
    sig: sig ? fromB64(sig, Uint32Array) : undefined,
    shingles: shingles ? fromB64(shingles, Uint32Array) : undefined,
    pairs: pairs ? unpackPairs(pairs, text) : undefined,
    comments: comments ? unpackPairs(comments, text) : undefined,
  });
}

/**
 * Entries live in `shards` files per kind; a save rewrites only the shards whose
 * entries changed (new ones, or ones this run did not use), so a one-file change
 * writes a small part of the cache.
 */
class ShardedStore<V extends object> {
  readonly map = new Map<string, V>();
  readonly used = new Set<string>();
  private readonly dirty = new Set<number>();
  /** Encoded entries, so a rewritten shard re-encodes only its new entries. */
  private readonly encoded = new WeakMap<V, string>();

  constructor(
    private readonly shards: number,
    private readonly file: (shard: number) => string,
    private readonly header: string,
    private readonly encode: (v: V) => string,
    /** The part of a key that picks its shard (records: the path, so a file's old and new entries share one). */
    private readonly shardKey: (k: string) => string = (k) => k,
  ) {}

  private shardOf(k: string): number {
    return shardOf(this.shardKey(k), this.shards);
  }

  load(decode: (raw: unknown) => V, check: (doc: Record<string, unknown>) => boolean): void {
    for (let i = 0; i < this.shards; i++) {
      const doc = readJson(this.file(i)) as Record<string, unknown> | null;
      if (!doc || !check(doc) || typeof doc.entries !== 'object' || doc.entries === null) {
        continue;
      }
      for (const [k, v] of Object.entries(doc.entries as Record<string, unknown>)) {
        this.map.set(k, decode(v));
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

  save(): void {
    const byShard: string[][] = Array.from({ length: this.shards }, () => []);
    for (const k of this.map.keys()) {
      if (!this.used.has(k)) {
        this.dirty.add(this.shardOf(k)); // dropped: its shard is rewritten without it
      }
    }
    for (const k of this.used) {
      const v = this.map.get(k);
      const sh = this.shardOf(k);
      if (v !== undefined && this.dirty.has(sh)) {
        let enc = this.encoded.get(v);
        if (enc === undefined) {
          enc = this.encode(v);
          this.encoded.set(v, enc);
        }
        byShard[sh].push(`${byShard[sh].length === 0 ? '' : ','}${JSON.stringify(k)}:${enc}`);
      }
    }
    for (const sh of this.dirty) {
      writeFileAtomic(this.file(sh), joinChunks([`{${this.header},"entries":{`, ...byShard[sh], '}}']));
    }
    this.dirty.clear();
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
    this.records = new ShardedStore<FileRecord>(RECORD_SHARDS, (i) => path.join(d, `records-${i.toString(16)}.json`), `"format":${FORMAT},"key":${JSON.stringify(configKey)}`, encodeRecord, (k) => k.slice(k.indexOf(':') + 1));
    this.tokenStore = tokenKey ? new ShardedStore<Int32Array>(TOKEN_SHARDS, (i) => path.join(d, `tokens-${tokenKey}-${i.toString(16)}.json`), `"format":${FORMAT}`, (v) => `"${toB64(v)}"`) : null;
  }

  static load(dir: string | null, configKey: string, tokenKey: string | null): DataCache {
    const c = new DataCache(dir, configKey, tokenKey);
    if (!dir) {
      return c;
    }
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
    c.records.load(
      (raw) => decodeRecord(raw as StoredRecord),
      (doc) => doc.format === FORMAT && doc.key === configKey,
    );
    c.loadTokens();
    c.remember();
    return c;
  }

  private loadTokens(): void {
    this.tokenStore?.load(
      (raw) => fromB64(String(raw), Int32Array),
      (doc) => doc.format === FORMAT,
    );
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

  /** Persist what this run used (entries it did not use are dropped). */
  save(): void {
    if (!this.dir) {
      return;
    }
    this.records.save();
    this.tokenStore?.save();
    this.remember();
  }
}

export interface TokenMap {
  get(key: string): Int32Array | undefined;
  set(key: string, ids: Int32Array): void;
}

/** Join many small strings into one Buffer (without a huge spread call). */
export function joinChunks(parts: string[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p, 'utf8')));
}
