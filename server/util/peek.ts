// The first bytes of a file, to tell whether a file of a name we use is ours before
// deleting or overwriting it (a folder the user names may hold files of their own).
import * as fs from 'node:fs';

/** The first `n` bytes of `file` as latin-1; null when it does not exist; '' when it cannot be read. Symlinks are not followed. */
export function peekFile(file: string, n: number): string | null {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? null : '';
  }
  try {
    const head = Buffer.alloc(n);
    return head.toString('latin1', 0, fs.readSync(fd, head, 0, n, 0));
  } catch {
    return '';
  } finally {
    fs.closeSync(fd);
  }
}
