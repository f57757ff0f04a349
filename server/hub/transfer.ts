// One file from the hub into the cache's blobs/ folder: resumes a partial
// `<blob>.incomplete` with a Range request, hashes while writing, and only renames
// the file into place when its size and hash match what the hub listed.
import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CodetuneError, fromFsError } from '../errors';
import type { RepoFile } from './api';

export interface TransferOptions {
  url: string;
  file: RepoFile;
  /** Final blob path; the partial file is `${blob}.incomplete`. */
  blob: string;
  /** A fetch that throws typed errors on failure (see hubFetch). */
  fetch: typeof fetch;
  signal?: AbortSignal;
  /** Bytes already on disk from an earlier, interrupted run (reported once, before any network bytes). */
  onResume?: (bytes: number) => void;
  /** Called with each chunk's size as it is written. */
  onBytes?: (bytes: number) => void;
}

export interface TransferResult {
  /** Bytes fetched over the network in this call. */
  fetched: number;
  /** Bytes that were already on disk and reused. */
  resumed: number;
}

function newHash(file: RepoFile): Hash {
  if (file.sha256) {
    return createHash('sha256');
  }
  // A git blob id: sha1 over "blob <size>\0" then the contents.
  return createHash('sha1').update(`blob ${file.size}\0`);
}

function expectedDigest(file: RepoFile): string | undefined {
  return file.sha256 ?? file.gitOid;
}

async function hashExisting(partial: string, hash: Hash): Promise<void> {
  for await (const chunk of fs.createReadStream(partial, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
  }
}

function sizeOf(p: string): number {
  try {
    return fs.statSync(p).size;
  } catch {
    return 0;
  }
}

/** Parse `bytes START-END/TOTAL`; undefined when absent or malformed. */
export function parseContentRange(header: string | null): { start: number; total: number } | undefined {
  const m = header ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim()) : null;
  return m ? { start: Number(m[1]), total: m[3] === '*' ? NaN : Number(m[3]) } : undefined;
}

/** Download (or finish downloading) one blob. Throws HUB_HASH_MISMATCH and removes the bad bytes on a mismatch. */
export async function transferFile(opts: TransferOptions): Promise<TransferResult> {
  const { file, blob } = opts;
  const partial = `${blob}.incomplete`;
  fs.mkdirSync(path.dirname(blob), { recursive: true });
  let have = sizeOf(partial);
  if (have > file.size) {
    fs.rmSync(partial, { force: true });
    have = 0;
  }
  let hash = newHash(file);
  if (have > 0) {
    await hashExisting(partial, hash);
  }
  let fetched = 0;
  let resumed = have;
  if (have < file.size || file.size === 0) {
    const headers: Record<string, string> = have > 0 ? { range: `bytes=${have}-` } : {};
    const res = await opts.fetch(opts.url, { headers, signal: opts.signal });
    if (have > 0) {
      const range = parseContentRange(res.headers.get('content-range'));
      if (res.status !== 206 || !range || range.start !== have) {
        // The server ignored the range: start over.
        have = 0;
        resumed = 0;
        hash = newHash(file);
      }
    }
    if (resumed > 0) {
      opts.onResume?.(resumed);
    }
    fetched = await writeBody(res, partial, have > 0, hash, opts);
  } else {
    opts.onResume?.(resumed);
  }
  const size = sizeOf(partial);
  const want = expectedDigest(file);
  const got = hash.digest('hex');
  if (size !== file.size || (want !== undefined && got !== want)) {
    fs.rmSync(partial, { force: true });
    const what = size !== file.size ? `size ${size} bytes, expected ${file.size}` : `${file.sha256 ? 'sha256' : 'git hash'} ${got}, expected ${want}`;
    throw new CodetuneError('HUB_HASH_MISMATCH', `${file.path}: the downloaded file is corrupt (${what}); it was removed, run the download again`, { file: file.path });
  }
  try {
    fs.renameSync(partial, blob);
  } catch (e) {
    throw fromFsError(e, blob);
  }
  return { fetched, resumed };
}

async function writeBody(res: Response, partial: string, append: boolean, hash: Hash, opts: TransferOptions): Promise<number> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(partial, append ? 'a' : 'w');
  } catch (e) {
    throw fromFsError(e, partial);
  }
  let written = 0;
  try {
    if (!res.body) {
      return 0;
    }
    const reader = res.body.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      const buf = r.value;
      await fh.write(buf);
      hash.update(buf);
      written += buf.byteLength;
      opts.onBytes?.(buf.byteLength);
    }
    await fh.sync();
  } catch (e) {
    if (opts.signal?.aborted) {
      throw new CodetuneError('CANCELLED', 'download cancelled; run it again to resume');
    }
    if (e instanceof CodetuneError) {
      throw e;
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EACCES' || code === 'EPERM') {
      throw fromFsError(e, partial);
    }
    // A dropped connection: the partial file stays, and the next run resumes it.
    throw new CodetuneError('HUB_HTTP', `${opts.file.path}: the connection dropped after ${written} bytes (${(e as Error).message}); run the download again to resume`, { file: opts.file.path });
  } finally {
    await fh.close();
  }
  return written;
}
