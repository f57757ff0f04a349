// Last-commit times: each file's time of its last commit at HEAD, for the examples'
// recency weights. `git log --name-only` over the whole history is slow on a long one,
// so the times are kept in memory (the last folder) and in the cache folder
// (`times.json`), and a HEAD that moved on walks only the new commits.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SimpleGit } from 'simple-git';
import { writeFileAtomic } from '../util/atomic';
import { peekFile } from '../util/peek';

/** Last-commit times of one folder at one HEAD commit (the last folder listed). */
interface Times {
  folder: string;
  commit: string;
  times: Map<string, number>;
}
let TIMES: Times | null = null;

/** The times of `folder` at `commit` when this process has them. */
export function timesInMemory(folder: string, commit: string): Map<string, number> | undefined {
  return TIMES && TIMES.folder === folder && TIMES.commit === commit ? TIMES.times : undefined;
}

/** Files of the `times.json` a cache folder keeps (see lastCommitTimes). */
const TIMES_FORMAT = 1;

function readTimes(file: string, folder: string): Times | null {
  try {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { format?: unknown; folder?: unknown; commit?: unknown; times?: unknown };
    if (doc.format !== TIMES_FORMAT || doc.folder !== folder || typeof doc.commit !== 'string' || typeof doc.times !== 'object' || doc.times === null) {
      return null;
    }
    return { folder, commit: doc.commit, times: new Map(Object.entries(doc.times as Record<string, number>)) };
  } catch {
    return null; // missing or damaged: walk the history again
  }
}

/**
 * Whether `file` may be (over)written: it is missing or begins as this module writes it
 * (a folder given as the cache folder may hold someone's own times.json).
 */
function mayWriteTimes(file: string): boolean {
  const head = peekFile(file, 32);
  return head === null || head.startsWith(`{"format":${TIMES_FORMAT},"folder":`);
}

/**
 * Each file's last-commit time at HEAD `commit`. Kept in memory for the last folder and,
 * with a cache folder, in its `times.json`, so a new process does not walk the history
 * again (on a long history `git log --name-only` takes seconds). When HEAD has moved on
 * from the kept commit (it is an ancestor), only the new commits are walked.
 */
export async function lastCommitTimes(git: SimpleGit, folder: string, commit: string, cacheDir: string | null): Promise<Map<string, number>> {
  const known = timesInMemory(folder, commit);
  if (known) {
    return known;
  }
  const file = cacheDir ? path.join(cacheDir, 'times.json') : null;
  const inMemory = TIMES && TIMES.folder === folder ? TIMES : null;
  const kept = inMemory ?? (file ? readTimes(file, folder) : null);
  const log = (range: string): Promise<Map<string, number>> => git.raw(['log', '-z', '--name-only', '--no-renames', '--pretty=format:%x01%ct', range, '--', '.']).then(parseLogTimes);
  let times: Map<string, number> | null = kept && kept.commit === commit ? kept.times : null;
  if (!times && kept) {
    const base = (await git.raw(['merge-base', kept.commit, commit]).catch(() => '')).trim();
    if (base === kept.commit) {
      times = new Map(kept.times);
      for (const [p, t] of await log(`${kept.commit}..${commit}`)) {
        times.set(p, t);
      }
    }
  }
  times ??= await log(commit);
  const onDisk = kept !== null && kept !== inMemory && kept.commit === commit;
  TIMES = { folder, commit, times };
  if (file && !onDisk && mayWriteTimes(file)) {
    try {
      writeFileAtomic(file, JSON.stringify({ format: TIMES_FORMAT, folder, commit, times: Object.fromEntries(times) }));
    } catch {
      // a cache folder that cannot be written only costs the walk next time
    }
  }
  return times;
}

/** `git log -z --name-only --pretty=format:%x01%ct`: newest first, so the first time seen wins. */
export function parseLogTimes(out: string): Map<string, number> {
  const times = new Map<string, number>();
  for (const rec of out.split('\x01')) {
    const nl = rec.indexOf('\n');
    if (nl < 0) {
      continue;
    }
    const t = Number(rec.slice(0, nl));
    for (const p of rec.slice(nl + 1).split('\0')) {
      if (p.length === 0) {
        continue;
      }
      if (!times.has(p)) {
        times.set(p, t);
      }
    }
  }
  return times;
}
