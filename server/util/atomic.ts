// Atomic writes: write a temp file in the same folder, fsync it, rename it over the
// target, then fsync the folder. A crash leaves either the old file or the new one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromFsError } from '../errors';

let counter = 0;

function tempName(target: string): string {
  counter += 1;
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${counter}.tmp`);
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some file systems cannot fsync a folder; the rename is still atomic.
  }
}

/** Write `chunks` (in order) to `target` atomically. */
export function writeFileAtomic(target: string, ...chunks: Array<Uint8Array | string>): void {
  const tmp = tempName(target);
  try {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const fd = fs.openSync(tmp, 'w');
    try {
      for (const c of chunks) {
        const buf = typeof c === 'string' ? Buffer.from(c, 'utf8') : c;
        let off = 0;
        while (off < buf.byteLength) {
          off += fs.writeSync(fd, buf, off, buf.byteLength - off);
        }
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
    fsyncDir(path.dirname(target));
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw fromFsError(e, target);
  }
}

/**
 * writeFileAtomic's steps on the libuv thread pool: the caller's thread does not wait
 * for the disk (the data cache writes its shards this way behind a build).
 */
export async function writeFileAtomicAsync(target: string, data: Uint8Array): Promise<void> {
  const tmp = tempName(target);
  try {
    await fs.promises.mkdir(path.dirname(target), { recursive: true });
    const fh = await fs.promises.open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, target);
    const dir = await fs.promises.open(path.dirname(target), 'r').catch(() => null);
    // Some file systems cannot fsync a folder; the rename is still atomic.
    await dir?.sync().catch(() => undefined);
    await dir?.close();
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw fromFsError(e, target);
  }
}

/** Replace folder `target` with the fully written folder `staged` (same parent). */
export function replaceDirAtomic(staged: string, target: string): void {
  const old = `${target}.old-${process.pid}-${++counter}`;
  try {
    if (fs.existsSync(target)) {
      fs.renameSync(target, old);
    }
    fs.renameSync(staged, target);
    fsyncDir(path.dirname(target));
    fs.rmSync(old, { recursive: true, force: true });
  } catch (e) {
    if (!fs.existsSync(target) && fs.existsSync(old)) {
      fs.renameSync(old, target);
    }
    throw fromFsError(e, target);
  }
}

/**
 * Build folder `target` atomically: `fill` writes into a fresh staged sibling folder, which
 * then replaces `target`. On any failure the staged folder is removed and `target` is left
 * as it was, so a crash never leaves a partial folder where a complete one is expected.
 */
export function writeDirAtomic(target: string, fill: (staged: string) => void): void {
  const staged = `${target}.partial-${process.pid}`;
  try {
    fs.rmSync(staged, { recursive: true, force: true });
    fs.mkdirSync(staged, { recursive: true });
  } catch (e) {
    throw fromFsError(e, staged);
  }
  try {
    fill(staged);
    replaceDirAtomic(staged, target);
  } catch (e) {
    fs.rmSync(staged, { recursive: true, force: true });
    throw e;
  }
}
