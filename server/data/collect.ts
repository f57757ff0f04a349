// Collect: ask git (through simple-git) which files belong to the repo, at which
// blob ids, and when each last changed. Git decides: tracked files only, so
// .gitignore is respected; submodules and symlinks are never followed.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { CodetuneError } from '../errors';
import { lastCommitTimes, timesInMemory } from './times';

export interface TrackedFile {
  /** Path relative to the repo root, with forward slashes. */
  path: string;
  /** Git file mode: 100644/100755 file, 120000 symlink, 160000 submodule. */
  mode: string;
  /** The blob id in the index (the work tree may differ: see `modified`). */
  blob: string;
}

export interface RepoListing {
  root: string;
  commit: string;
  files: TrackedFile[];
  /**
   * Paths whose work-tree content may differ from the index (or is gone): what
   * `git diff-files` reported, plus, on a quick rebuild (see `listRepo`), every file
   * changed since then. Files outside it are as git last found them: clean.
   */
  modified: Set<string>;
  /** Unix seconds of each path's last commit (missing in a shallow clone's cut-off history is fine). */
  times: Map<string, number>;
  /** No git process ran: a rebuild with the index and HEAD unchanged (see quickListing). */
  quick: boolean;
}

function gitIn(dir: string): SimpleGit {
  return simpleGit({ baseDir: dir, maxConcurrentProcesses: 4, trimmed: false });
}

/** The last listing of a folder (one folder at a time), and what a quick rebuild needs. */
interface Listing {
  raw: string;
  files: TrackedFile[];
  gitDir: string;
  /** `indexStamp` before the listing was read. */
  stamp: string;
  root: string;
  commit: string;
  /** `headStamp` before HEAD was read (null: no quick rebuilds). */
  head: string | null;
  modified: Set<string>;
  /** How many of `modified` git reported (the rest were seen changing since). */
  gitModified: number;
  /**
   * Per file of `files`: size, mtime, ctime, inode, taken just before git last checked
   * the work tree (NaN: gone; size RACY: changed within RACY_MS of it, so its stat might
   * not show a change made right after). null: none, or too many racy files.
   */
  snap: Float64Array | null;
  /** When the snapshot's racy files have aged (0: it has none); from then on git is asked once more, for a clean one. */
  racyUntil: number;
}

/** Files seen changing since git last looked, beyond which git is asked again (and `modified` starts over). */
const MAX_SEEN_CHANGING = 32;

/**
 * Listings of more files than this always ask git: an lstat from JS costs about 2-3 us
 * of this thread (node makes a Stats object with four Dates), so past a few thousand
 * files `git diff-files` (in its own process, about 10 ms to start) is cheaper.
 */
const QUICK_MAX_FILES = 5000;
const LISTING = new Map<string, Listing>();

/**
 * A file changed this close (ms) before a stat snapshot could change again without its
 * stat changing (file times tick by the kernel's coarse clock; some file systems keep
 * whole seconds), as git's "racily clean" entries can: the snapshot does not vouch for
 * it, and every quick listing counts it as changed (so it is read and hashed).
 */
const RACY_MS = 2000;

/** A file's inode, size and change times ('-' when it is missing). */
function statSig(p: string): string {
  try {
    const st = fs.statSync(p, { bigint: true });
    return `${st.ino}:${st.size}:${st.ctimeNs}:${st.mtimeNs}`;
  } catch {
    return '-';
  }
}

/**
 * What HEAD points at, as file stamps: HEAD itself, the loose ref it names and
 * packed-refs (every commit, checkout or reset rewrites one of them). null where refs
 * live elsewhere (a linked worktree, the reftable backend) or cannot be read: then git
 * is asked every time.
 */
function headStamp(gitDir: string): string | null {
  try {
    if (fs.existsSync(path.join(gitDir, 'commondir')) || fs.existsSync(path.join(gitDir, 'reftable'))) {
      return null;
    }
    const head = fs.readFileSync(path.join(gitDir, 'HEAD'), 'utf8');
    const ref = /^ref: (refs\/[^\n]+)\n?$/.exec(head);
    return [head, ref ? statSig(path.join(gitDir, ref[1])) : '', statSig(path.join(gitDir, 'packed-refs'))].join('|');
  } catch {
    return null;
  }
}

/** lstat, undefined when the path is gone (the options form of lstatSync is a third slower). */
function lstatOrNone(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
}

/** Size in the snapshot of a file that changed within RACY_MS of it: no lstat matches it. */
const RACY = -1;

/**
 * lstat of every listed file (submodules aside), 4 numbers each; a file changed within
 * RACY_MS of now is RACY. null when more than MAX_SEEN_CHANGING files are racy (just
 * after a checkout, say): reading and hashing them all would cost more than git.
 */
function snapshot(root: string, files: TrackedFile[]): { snap: Float64Array; racyUntil: number } | null {
  const out = new Float64Array(4 * files.length);
  const now = Date.now();
  let racy = 0;
  for (let i = 0; i < files.length; i++) {
    const st = files[i].mode === '160000' ? undefined : lstatOrNone(root + path.sep + files[i].path);
    if (st && (st.mtimeMs >= now - RACY_MS || st.ctimeMs >= now - RACY_MS)) {
      if (++racy > MAX_SEEN_CHANGING) {
        return null;
      }
      out[4 * i] = RACY;
      continue;
    }
    out[4 * i] = st ? st.size : NaN;
    out[4 * i + 1] = st ? st.mtimeMs : NaN;
    out[4 * i + 2] = st ? st.ctimeMs : NaN;
    out[4 * i + 3] = st ? st.ino : NaN;
  }
  return { snap: out, racyUntil: racy > 0 ? now + RACY_MS : 0 };
}

/**
 * A rebuild in the same process with the index and HEAD as they were: no git process.
 * Every file is lstat-ed; one whose stat differs from the snapshot taken before git
 * last looked (or that was racy in it) joins `modified` (until git is asked again), so
 * the pipeline reads and hashes it. Files outside `modified` are unchanged since git
 * found them clean.
 */
function quickListing(known: Listing, times: Map<string, number>): RepoListing {
  const { files, snap } = known;
  for (let i = 0; i < files.length; i++) {
    if (files[i].mode === '160000' || known.modified.has(files[i].path)) {
      continue;
    }
    const st = lstatOrNone(known.root + path.sep + files[i].path);
    const k = 4 * i;
    const same = st ? st.size === snap![k] && st.mtimeMs === snap![k + 1] && st.ctimeMs === snap![k + 2] && st.ino === snap![k + 3] : Number.isNaN(snap![k]);
    if (!same) {
      known.modified.add(files[i].path);
    }
  }
  return { root: known.root, commit: known.commit, files, modified: new Set(known.modified), times, quick: true };
}

/** The index file's stamp ('' when it cannot be read). */
function indexStamp(gitDir: string): string {
  const sig = statSig(path.join(gitDir, 'index'));
  return sig === '-' ? '' : sig;
}

export interface ListOptions {
  /** The cache folder of a repo root, where last-commit times are kept between processes (null: none). */
  cacheDirOf?: (root: string) => string | null;
}

/** Find the repo that holds `dir` and list what it tracks under `dir`. */
export async function listRepo(dir: string, opts: ListOptions = {}): Promise<RepoListing> {
  const abs = path.resolve(dir);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    throw new CodetuneError('NOT_FOUND', `${abs}: no such folder`, { file: abs });
  }
  if (!st.isDirectory()) {
    throw new CodetuneError('NOT_A_REPO', `${abs} is not a folder; pass the folder of a git repository`, { file: abs });
  }
  const git = gitIn(abs);
  // One round of git calls for the common case (a work tree with commits); the
  // two-step path below only runs to tell "not a repo" from "no commits yet".
  // The index listing is asked for only when the index file changed since the last
  // listing of this folder (git replaces the file on every write).
  const known = LISTING.get(abs);
  const indexNow = known ? indexStamp(known.gitDir) : '';
  const listed = known && indexNow !== '' && indexNow === known.stamp ? known : null;
  // Stamped before git is asked, so a change while it answers is seen next time.
  const headNow = known ? headStamp(known.gitDir) : null;
  const knownTimes = listed ? timesInMemory(abs, listed.commit) : undefined;
  const snapValid = listed?.snap && (listed.racyUntil === 0 || Date.now() < listed.racyUntil);
  if (listed && headNow !== null && headNow === listed.head && snapValid && knownTimes && listed.modified.size <= listed.gitModified + MAX_SEEN_CHANGING) {
    return quickListing(listed, knownTimes);
  }
  // From the second listing on, a stat snapshot of the files last listed, taken before
  // `git diff-files` runs, lets the next rebuild skip git (see quickListing); it is kept
  // if git lists the same files again.
  const snap = known && known.files.length <= QUICK_MAX_FILES ? snapshot(known.root, known.files) : null;
  const [top, lsOut, diffOut] = await Promise.all([
    git.raw(['rev-parse', '--show-toplevel', '--absolute-git-dir', '--verify', '-q', 'HEAD^{commit}']).catch(() => ''),
    listed ? listed.raw : git.raw(['ls-files', '--stage', '-z', '--full-name', '--', '.']).catch(() => null),
    git.raw(['diff-files', '--name-only', '-z', '--no-renames', '--', '.']).catch(() => null),
  ]);
  let [root, gitDir, commit] = top.split('\n');
  let ls = lsOut;
  let diff = diffOut;
  if (!root || !commit || ls === null || diff === null) {
    try {
      root = (await git.raw(['rev-parse', '--show-toplevel'])).trim();
    } catch {
      throw new CodetuneError('NOT_A_REPO', `${abs} is not inside a git repository; run \`git init\` and commit your code first`, { file: abs });
    }
    if (!root) {
      throw new CodetuneError('NOT_A_REPO', `${abs} is inside a .git folder, not a work tree`, { file: abs });
    }
    commit = (await git.raw(['rev-parse', '--verify', '-q', 'HEAD^{commit}']).catch(() => '')).trim();
    if (!commit) {
      throw new CodetuneError('EMPTY_REPO', `${root} has no commits yet; commit your code first`, { file: root });
    }
    gitDir = (await git.raw(['rev-parse', '--absolute-git-dir']).catch(() => '')).trim();
    ls = await git.raw(['ls-files', '--stage', '-z', '--full-name', '--', '.']);
    diff = await git.raw(['diff-files', '--name-only', '-z', '--no-renames', '--', '.']);
  }
  const realRoot = fs.realpathSync(root);
  const times = await lastCommitTimes(git, abs, commit, opts.cacheDirOf ? opts.cacheDirOf(realRoot) : null);
  // The same index listing as last time gives the same (parsed, sorted) array back.
  const modified = new Set(splitZ(diff));
  let files = LISTING.get(abs);
  if (!files || files.raw !== ls || files.gitDir !== gitDir) {
    // Stamped before ls-files ran: an index write after the stamp is seen next time.
    files = { raw: ls, files: parseLsFiles(ls), gitDir, stamp: indexNow, root: realRoot, commit, head: null, modified, gitModified: modified.size, snap: null, racyUntil: 0 };
    LISTING.clear();
    LISTING.set(abs, files);
  } else {
    if (!listed) {
      files.stamp = indexNow; // listed again with the same answer: trust this stamp next time
    }
    const same = files === known && files.root === realRoot;
    files.root = realRoot;
    files.commit = commit;
    files.head = same ? headNow : null;
    files.modified = modified;
    files.gitModified = modified.size;
    files.snap = same && snap ? snap.snap : null;
    files.racyUntil = same && snap ? snap.racyUntil : 0;
  }
  return { root: realRoot, commit, files: files.files, modified: new Set(modified), times, quick: false };
}

function splitZ(out: string): string[] {
  return out.split('\0').filter((s) => s.length > 0);
}

/** `git ls-files --stage -z`: "MODE BLOB STAGE\tPATH\0"; conflicted paths appear once per stage. */
export function parseLsFiles(out: string): TrackedFile[] {
  const seen = new Map<string, TrackedFile>();
  for (const rec of splitZ(out)) {
    const tab = rec.indexOf('\t');
    const [mode, blob] = rec.slice(0, tab).split(' ');
    const p = rec.slice(tab + 1);
    if (!seen.has(p)) {
      seen.set(p, { path: p, mode, blob });
    }
  }
  return [...seen.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The id git gives a blob with this content. */
export function gitBlobId(bytes: Uint8Array): string {
  const h = crypto.createHash('sha1');
  h.update(`blob ${bytes.byteLength}\0`);
  h.update(bytes);
  return h.digest('hex');
}

export type ReadResult = { ok: true; bytes: Buffer; blob: string } | { ok: false; reason: 'deleted' | 'symlink' | 'outside_repo' | 'too_large' | 'unreadable' };

/**
 * Read a tracked file from the work tree, never through a symlink that leaves the repo.
 * Files over `maxBytes` are not read at all. `knownBlob` is the index blob id of a file
 * git reports unchanged: git has then already checked that it is a regular file and that
 * no symlink leads to it, so it is opened directly (refusing a symlink all the same) and
 * the lstat, the realpath check and the hashing are skipped.
 */
export function readTracked(root: string, rel: string, maxBytes: number, knownBlob?: string): ReadResult {
  const abs = root + path.sep + rel;
  if (knownBlob) {
    return readClean(abs, maxBytes, knownBlob);
  }
  let st: fs.Stats;
  try {
    st = fs.lstatSync(abs);
  } catch {
    return { ok: false, reason: 'deleted' };
  }
  if (st.isSymbolicLink()) {
    return { ok: false, reason: 'symlink' };
  }
  if (!st.isFile()) {
    return { ok: false, reason: 'deleted' };
  }
  if (!knownBlob) {
    let real: string;
    try {
      real = fs.realpathSync(abs);
    } catch {
      return { ok: false, reason: 'deleted' };
    }
    if (real !== root && !real.startsWith(root + path.sep)) {
      return { ok: false, reason: 'outside_repo' };
    }
  }
  if (st.size > maxBytes) {
    return { ok: false, reason: 'too_large' };
  }
  try {
    const bytes = fs.readFileSync(abs);
    return { ok: true, bytes, blob: knownBlob ?? gitBlobId(bytes) };
  } catch {
    return { ok: false, reason: 'unreadable' };
  }
}

function readClean(abs: string, maxBytes: number, blob: string): ReadResult {
  let fd: number;
  try {
    fd = fs.openSync(abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ELOOP' ? 'symlink' : code === 'ENOENT' || code === 'ENOTDIR' ? 'deleted' : 'unreadable' };
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      return { ok: false, reason: 'deleted' };
    }
    if (st.size > maxBytes) {
      return { ok: false, reason: 'too_large' };
    }
    const bytes = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < st.size) {
      const n = fs.readSync(fd, bytes, got, st.size - got, got);
      if (n === 0) {
        break;
      }
      got += n;
    }
    return { ok: true, bytes: got === st.size ? bytes : bytes.subarray(0, got), blob };
  } catch {
    return { ok: false, reason: 'unreadable' };
  } finally {
    fs.closeSync(fd);
  }
}
