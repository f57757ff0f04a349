// Incremental cache: FileRecords keyed by (git blob id, path) and token ids keyed
// by content hash, kept in memory and persisted as JSON files in `dir`. Only
// redacted text is ever stored. Entries not used by a run are dropped on save.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic';
import type { FileRecord } from './types';

const FORMAT = 1;

type StoredRecord = Omit<FileRecord, 'sig'> & { sig?: string };

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

export class DataCache {
  private records = new Map<string, FileRecord>();
  private usedRecords = new Set<string>();
  tokens = new Map<string, Int32Array>();
  hits = 0;
  misses = 0;

  /** `configKey` covers everything records depend on (filter settings, pipeline version). */
  constructor(
    readonly dir: string | null,
    private readonly configKey: string,
    private readonly tokenKey: string | null,
  ) {}

  static load(dir: string | null, configKey: string, tokenKey: string | null): DataCache {
    const c = new DataCache(dir, configKey, tokenKey);
    if (!dir) {
      return c;
    }
    const rec = readJson(path.join(dir, 'records.json')) as { format?: number; key?: string; records?: Record<string, StoredRecord> } | null;
    if (rec && rec.format === FORMAT && rec.key === configKey && rec.records) {
      for (const [k, v] of Object.entries(rec.records)) {
        const { sig, ...rest } = v;
        c.records.set(k, sig ? { ...rest, sig: fromB64(sig, Uint32Array) } : rest);
      }
    }
    if (tokenKey) {
      const tok = readJson(path.join(dir, `tokens-${tokenKey}.json`)) as { format?: number; ids?: Record<string, string> } | null;
      if (tok && tok.format === FORMAT && tok.ids) {
        for (const [k, v] of Object.entries(tok.ids)) {
          c.tokens.set(k, fromB64(v, Int32Array));
        }
      }
    }
    return c;
  }

  private static key(blob: string, p: string): string {
    return `${blob}:${p}`;
  }

  get(blob: string, p: string): FileRecord | undefined {
    const k = DataCache.key(blob, p);
    const r = this.records.get(k);
    if (r) {
      this.hits++;
      this.usedRecords.add(k);
    }
    return r;
  }

  set(blob: string, p: string, rec: FileRecord): void {
    const k = DataCache.key(blob, p);
    this.misses++;
    this.records.set(k, rec);
    this.usedRecords.add(k);
  }

  /** Persist what this run used; `usedTokens` are the token-cache keys touched. */
  save(usedTokens: Set<string> | null): void {
    if (!this.dir) {
      return;
    }
    const parts: string[] = [`{"format":${FORMAT},"key":${JSON.stringify(this.configKey)},"records":{`];
    let first = true;
    for (const k of this.usedRecords) {
      const r = this.records.get(k);
      if (!r) {
        continue;
      }
      const stored: StoredRecord = r.sig ? { ...r, sig: toB64(r.sig) } : (r as StoredRecord);
      parts.push(`${first ? '' : ','}${JSON.stringify(k)}:${JSON.stringify(stored)}`);
      first = false;
    }
    parts.push('}}');
    writeFileAtomic(path.join(this.dir, 'records.json'), joinChunks(parts));
    if (this.tokenKey && usedTokens) {
      const tp: string[] = [`{"format":${FORMAT},"ids":{`];
      first = true;
      for (const k of usedTokens) {
        const ids = this.tokens.get(k);
        if (ids) {
          tp.push(`${first ? '' : ','}${JSON.stringify(k)}:"${toB64(ids)}"`);
          first = false;
        }
      }
      tp.push('}}');
      writeFileAtomic(path.join(this.dir, `tokens-${this.tokenKey}.json`), joinChunks(tp));
    }
  }
}

/** Join many small strings into one Buffer (without a huge spread call). */
export function joinChunks(parts: string[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p, 'utf8')));
}
