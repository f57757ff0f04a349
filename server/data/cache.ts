// Incremental cache: FileRecords keyed by (git blob id, path) and token ids keyed
// by content hash, kept in memory and persisted in binary shard files in `dir`. Only
// redacted text is ever stored. Entries not used by a run are dropped on save.
//
// A shard file holds a small JSON header (one short entry per record: its fields and
// where its strings and numbers are) and two blocks: every string of the shard (texts,
// prompts) as one latin-1 or UTF-16 block, decoded with one call and sliced, and every
// 32-bit array (MinHash signatures, shingles, token ids) as one block that typed
// arrays view. Reading a record then costs a few slices, not a JSON parse of its text.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic';
import { type FileRecord, makeRecord, packPairs, type RawPair } from './types';

const FORMAT = 6;
/** "CTC6" read as a little-endian u32: the first bytes of every shard file. */
const MAGIC = 0x36435443;
/** Magic, header bytes, string encoding (0 latin-1, 1 UTF-16LE), string bytes, 32-bit words. */
const PREAMBLE = 20;

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

/** Collects a shard's strings and 32-bit arrays; an entry refers to each by [offset, length]. */
class ShardWriter {
  private readonly strs: string[] = [];
  private chars = 0;
  private readonly arrays: Array<Uint32Array | Int32Array> = [];
  private words = 0;

  str(s: string): [number, number] {
    const at = this.chars;
    this.strs.push(s);
    this.chars += s.length;
    return [at, s.length];
  }

  u32(a: Uint32Array | Int32Array): [number, number] {
    const at = this.words;
    this.arrays.push(a);
    this.words += a.length;
    return [at, a.length];
  }

  /** The file: preamble, header JSON, padding to 4 bytes, the words, the strings. */
  finish(header: object): Buffer {
    const all = this.strs.join('');
    const wide = /[^\x00-\xff]/.test(all);
    const strings = Buffer.from(all, wide ? 'utf16le' : 'latin1');
    const head = Buffer.from(JSON.stringify(header), 'utf8');
    const pad = (4 - ((PREAMBLE + head.length) % 4)) % 4;
    const out = Buffer.alloc(PREAMBLE + head.length + pad + this.words * 4 + strings.length);
    out.writeUInt32LE(MAGIC, 0);
    out.writeUInt32LE(head.length, 4);
    out.writeUInt32LE(wide ? 1 : 0, 8);
    out.writeUInt32LE(strings.length, 12);
    out.writeUInt32LE(this.words, 16);
    head.copy(out, PREAMBLE);
    let at = PREAMBLE + head.length + pad;
    for (const a of this.arrays) {
      out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
      at += a.byteLength;
    }
    strings.copy(out, at);
    return out;
  }
}

/** A shard file, read: its header and bounds-checked access to its blocks (a bad reference throws). */
class ShardReader {
  readonly header: Record<string, unknown>;
  private readonly strings: string;
  private readonly words: ArrayBuffer;

  constructor(buf: Buffer) {
    if (buf.length < PREAMBLE || buf.readUInt32LE(0) !== MAGIC) {
      throw new Error('not a shard file');
    }
    const headBytes = buf.readUInt32LE(4);
    const wide = buf.readUInt32LE(8);
    const stringBytes = buf.readUInt32LE(12);
    const nWords = buf.readUInt32LE(16);
    const pad = (4 - ((PREAMBLE + headBytes) % 4)) % 4;
    const wordsAt = PREAMBLE + headBytes + pad;
    if (wide > 1 || wordsAt + nWords * 4 + stringBytes !== buf.length || (wide === 1 && stringBytes % 2 !== 0)) {
      throw new Error('truncated shard file');
    }
    this.header = JSON.parse(buf.toString('utf8', PREAMBLE, PREAMBLE + headBytes)) as Record<string, unknown>;
    // One copy of the words into an aligned buffer, which every array of the shard views.
    this.words = new ArrayBuffer(nWords * 4);
    new Uint8Array(this.words).set(buf.subarray(wordsAt, wordsAt + nWords * 4));
    const s0 = wordsAt + nWords * 4;
    this.strings = buf.toString(wide === 1 ? 'utf16le' : 'latin1', s0, s0 + stringBytes);
  }

  str(ref: unknown): string {
    const [at, n] = this.ref(ref, this.strings.length);
    return this.strings.slice(at, at + n);
  }

  u32(ref: unknown): Uint32Array {
    const [at, n] = this.ref(ref, this.words.byteLength / 4);
    return new Uint32Array(this.words, at * 4, n);
  }

  i32(ref: unknown): Int32Array {
    const [at, n] = this.ref(ref, this.words.byteLength / 4);
    return new Int32Array(this.words, at * 4, n);
  }

  private ref(ref: unknown, size: number): [number, number] {
    const r = ref as [number, number];
    if (!Array.isArray(r) || !Number.isInteger(r[0]) || !Number.isInteger(r[1]) || r[0] < 0 || r[1] < 0 || r[0] + r[1] > size) {
      throw new Error('bad reference in a shard file');
    }
    return r;
  }
}

/** How a kind of entry is written to and read from a shard. */
interface Codec<V> {
  write(v: V, w: ShardWriter): unknown;
  read(meta: unknown, r: ShardReader): V;
}

/**
 * Pairs, flat: per pair its name, its prompt's string, and its completion as either a
 * slice of the record's text (0, start, length) or a string of its own (1, ref).
 */
function writePairs(pairs: RawPair[] | undefined, text: string, w: ShardWriter): unknown[] | null {
  const packed = packPairs(pairs, text);
  if (!packed) {
    return null;
  }
  const out: unknown[] = [];
  for (const p of packed) {
    out.push(p.name, w.str(p.prompt), ...(p.c ? [0, p.c] : [1, w.str(p.completion ?? '')]));
  }
  return out;
}

function readPairs(flat: unknown, text: string, r: ShardReader): RawPair[] | undefined {
  if (flat === null || flat === undefined) {
    return undefined;
  }
  if (!Array.isArray(flat) || flat.length % 4 !== 0) {
    throw new Error('bad pairs in a shard file');
  }
  const out: RawPair[] = [];
  for (let i = 0; i < flat.length; i += 4) {
    const prompt = r.str(flat[i + 1]);
    const inText = flat[i + 2] === 0;
    let completion: string;
    let at: number | undefined;
    if (inText) {
      const [a, n] = flat[i + 3] as [number, number];
      if (!(a >= 0 && n >= 0 && a + n <= text.length)) {
        throw new Error('bad pair in a shard file');
      }
      completion = text.slice(a, a + n);
      at = a;
    } else {
      completion = r.str(flat[i + 3]);
    }
    out.push({ name: String(flat[i]), prompt, completion, at });
  }
  return out;
}

const RECORDS: Codec<FileRecord> = {
  write(v, w) {
    const text = v.text ?? '';
    return {
      s: v.skip,
      b: v.bytes,
      l: v.language,
      x: v.secrets,
      h: v.normHash,
      p: v.parser,
      t: v.text !== undefined ? w.str(v.text) : undefined,
      g: v.sig ? w.u32(v.sig) : undefined,
      k: v.shingles ? w.u32(v.shingles) : undefined,
      P: writePairs(v.pairs, text, w) ?? undefined,
      C: writePairs(v.comments, text, w) ?? undefined,
    };
  },
  read(meta, r) {
    const m = meta as Record<string, unknown>;
    const text = m.t !== undefined ? r.str(m.t) : undefined;
    return makeRecord({
      skip: m.s as FileRecord['skip'],
      bytes: m.b as number | undefined,
      language: m.l as string | undefined,
      secrets: m.x as Record<string, number> | undefined,
      text,
      normHash: m.h as string | undefined,
      sig: m.g !== undefined ? r.u32(m.g) : undefined,
      shingles: m.k !== undefined ? r.u32(m.k) : undefined,
      pairs: readPairs(m.P, text ?? '', r),
      comments: readPairs(m.C, text ?? '', r),
      parser: m.p as FileRecord['parser'],
    });
  },
};

const TOKENS: Codec<Int32Array> = {
  write: (v, w) => w.u32(v),
  read: (meta, r) => r.i32(meta),
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

  save(): void {
    for (const k of this.map.keys()) {
      if (!this.used.has(k)) {
        this.dirty.add(this.shardOf(k)); // dropped: its shard is rewritten without it
      }
    }
    if (this.dirty.size === 0) {
      return;
    }
    const byShard = new Map<number, Array<[string, V]>>([...this.dirty].map((sh) => [sh, []]));
    for (const k of this.used) {
      const v = this.map.get(k);
      const list = v !== undefined ? byShard.get(this.shardOf(k)) : undefined;
      list?.push([k, v!]);
    }
    for (const [sh, list] of byShard) {
      const w = new ShardWriter();
      const entries = list.map(([k, v]) => [k, this.codec.write(v, w)]);
      writeFileAtomic(this.file(sh), w.finish({ format: FORMAT, key: this.key, entries }));
    }
    this.dirty.clear();
  }
}

/** Shard files of the JSON format before this one (format 5 and older): removed when a cache folder is loaded. */
const STALE = /^(records-[0-9a-f]+|tokens-[0-9a-f]+-[0-9a-f]+)\.json$/;

function removeStale(dir: string): void {
  try {
    for (const f of fs.readdirSync(dir)) {
      if (STALE.test(f)) {
        fs.rmSync(path.join(dir, f), { force: true });
      }
    }
  } catch {
    // no folder yet, or not ours to clean: nothing to do
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
