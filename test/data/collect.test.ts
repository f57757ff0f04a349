// Rebuilds in one process skip git while the index and HEAD are unchanged: every file
// is lstat-ed against a snapshot taken before git last looked. The promise that makes
// it safe: a file left out of `modified` has the content of its index blob. Checked
// here after each kind of change, against a fresh read of every file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gitBlobId, listRepo, type RepoListing } from '../../server/data/collect';
import { buildDataset, toJsonlLine } from '../../server/data/index';
import { DataCache } from '../../server/data/cache';
import { git, makeRepo, rm, tmpDir, writeFiles } from './helpers';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Files outside `modified` read back as their index blob; git's own answer is inside `modified`. */
function holds(repo: string, l: RepoListing, what: string): void {
  for (const f of l.files) {
    if (!l.modified.has(f.path)) {
      const bytes = fs.readFileSync(path.join(repo, f.path));
      assert.equal(gitBlobId(bytes), f.blob, `${what}: ${f.path} is left out of modified but differs from the index`);
    }
  }
  for (const p of git(repo, 'diff-files', '--name-only', '-z').split('\0').filter(Boolean)) {
    assert.ok(l.modified.has(p), `${what}: git reports ${p} modified`);
  }
  assert.equal(l.commit, git(repo, 'rev-parse', 'HEAD').trim(), `${what}: HEAD`);
}

/** `n` small files `src/f0.ts`... */
function smallFiles(n: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`src/f${i}.ts`, `export const v${i} = ${i};\n`]));
}

test('quick listings (no git process) keep every file outside `modified` clean', async () => {
  const files = smallFiles(12);
  const repo = makeRepo(files);
  try {
    assert.equal((await listRepo(repo)).quick, false);
    assert.equal((await listRepo(repo)).quick, false, 'this listing takes the snapshot');
    // Files written in the last 2 s are racy in it: quick listings count them as changed.
    let l = await listRepo(repo);
    assert.equal(l.quick, true);
    assert.equal(l.modified.size, 12, 'every fresh file is read and hashed');
    holds(repo, l, 'fresh files');
    // Once they have aged, git is asked once more, for a snapshot without racy files.
    await sleep(2100);
    assert.equal((await listRepo(repo)).quick, false, 'racy files aged: git again');
    l = await listRepo(repo);
    assert.equal(l.quick, true);
    assert.equal(l.modified.size, 0);
    holds(repo, l, 'nothing changed');

    fs.appendFileSync(path.join(repo, 'src/f1.ts'), '// edited\n');
    l = await listRepo(repo);
    assert.equal(l.quick, true);
    holds(repo, l, 'an append');
    // Same size, same second, right after: f1 stays in `modified`, so it is read again.
    fs.writeFileSync(path.join(repo, 'src/f1.ts'), fs.readFileSync(path.join(repo, 'src/f1.ts'), 'utf8').replace('edited', 'EDITED'));
    l = await listRepo(repo);
    assert.ok(l.quick && l.modified.has('src/f1.ts'));
    holds(repo, l, 'a same-size rewrite');

    // Content rewritten to the same bytes (new mtime): conservatively modified, and clean.
    fs.writeFileSync(path.join(repo, 'src/f2.ts'), files['src/f2.ts']);
    fs.rmSync(path.join(repo, 'src/f3.ts'));
    fs.rmSync(path.join(repo, 'src/f4.ts'));
    fs.symlinkSync('f5.ts', path.join(repo, 'src/f4.ts')); // a file turned into a symlink
    l = await listRepo(repo);
    assert.equal(l.quick, true);
    assert.ok(['src/f2.ts', 'src/f3.ts', 'src/f4.ts'].every((p) => l.modified.has(p)));
    holds(repo, l, 'a rewrite, a deletion and a symlink');

    // HEAD moves with the index unchanged: git is asked again.
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'empty');
    l = await listRepo(repo);
    assert.equal(l.quick, false);
    holds(repo, l, 'a new commit');
    git(repo, 'reset', '-q', '--soft', 'HEAD~1');
    l = await listRepo(repo);
    assert.equal(l.quick, false);
    holds(repo, l, 'reset --soft');

    // The index changes: listed again by git.
    git(repo, 'add', 'src/f1.ts');
    l = await listRepo(repo);
    assert.equal(l.quick, false);
    holds(repo, l, 'git add');
  } finally {
    rm(repo);
  }
});

test('a snapshot with more than 32 racy files (a fresh checkout) is not taken: git is asked', async () => {
  const repo = makeRepo(smallFiles(40));
  try {
    await listRepo(repo);
    await listRepo(repo);
    const l = await listRepo(repo);
    assert.equal(l.quick, false, 'reading and hashing 40 files would cost more than git');
    holds(repo, l, 'fresh checkout');
  } finally {
    rm(repo);
  }
});

test('a build over quick listings equals a build in a fresh process', async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 6; i++) {
    files[`src/m${i}.ts`] = `/** Scale the values of module ${i} by a factor. */\nexport function scale${i}(xs: number[], k: number): number[] {\n  const out: number[] = [];\n  for (const x of xs) {\n    out.push(x * k + ${i});\n  }\n  return out;\n}\n`;
  }
  const repo = makeRepo(files);
  const cacheDir = tmpDir('codetune-cache-');
  try {
    DataCache.clearMemory();
    await buildDataset({ repo, cacheDir });
    await sleep(2100);
    await buildDataset({ repo, cacheDir });
    writeFiles(repo, { 'src/m2.ts': files['src/m2.ts'].replace('x * k', 'x * k * 2') });
    const inc = await buildDataset({ repo, cacheDir });
    assert.equal((await listRepo(repo)).quick, true);
    // The reference: the dataset CLI in a new process (nothing remembered).
    const out = path.join(cacheDir, 'ref.jsonl');
    const { runCli } = await import('../helpers');
    const r = runCli(['dataset', '--repo', repo, '--out', out, '--no-cache']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(inc.examples.map(toJsonlLine).join('\n'), fs.readFileSync(out, 'utf8').trimEnd());
    assert.ok(inc.examples.some((e) => e.completion.includes('x * k * 2')));
  } finally {
    DataCache.clearMemory();
    rm(repo);
    rm(cacheDir);
  }
});

test('last-commit times are kept in the cache folder; when HEAD moves on, only new commits are walked', async () => {
  const repo = makeRepo({ 'a.ts': 'export const a = 1;\n', 'b.ts': 'export const b = 2;\n' });
  const other = makeRepo({ 'c.ts': 'export const c = 3;\n' });
  const cacheDir = tmpDir('codetune-cache-');
  const cacheDirOf = (): string => cacheDir;
  const file = path.join(cacheDir, 'times.json');
  const tamper = (t: number): void => {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { times: Record<string, number> };
    doc.times = Object.fromEntries(Object.keys(doc.times).map((p) => [p, t]));
    fs.writeFileSync(file, JSON.stringify(doc));
  };
  try {
    const first = await listRepo(repo, { cacheDirOf });
    const head1 = first.commit;
    assert.ok(first.times.get('a.ts')! > 1e9);
    assert.equal((JSON.parse(fs.readFileSync(file, 'utf8')) as { commit: string }).commit, head1);
    await listRepo(other); // another folder: the first one's times leave memory
    tamper(1000);
    assert.equal((await listRepo(repo, { cacheDirOf })).times.get('a.ts'), 1000, 'read back from the cache folder, not from git');

    // A new commit on top: only it is walked (b.ts keeps the kept time, a.ts gets the new one).
    writeFiles(repo, { 'a.ts': 'export const a = 10;\n' });
    git(repo, 'commit', '-qam', 'change a');
    await listRepo(other);
    const moved = await listRepo(repo, { cacheDirOf });
    assert.notEqual(moved.commit, head1);
    assert.ok(moved.times.get('a.ts')! > 1e9);
    assert.equal(moved.times.get('b.ts'), 1000);

    // History rewritten (the kept commit is no ancestor): the whole history is walked again.
    await listRepo(other);
    tamper(1000);
    git(repo, 'commit', '-q', '--amend', '-m', 'change a, reworded');
    const rewritten = await listRepo(repo, { cacheDirOf });
    assert.ok(rewritten.times.get('b.ts')! > 1e9);

    // A damaged file is ignored.
    await listRepo(other);
    fs.writeFileSync(file, '{not json');
    assert.ok((await listRepo(repo, { cacheDirOf })).times.get('b.ts')! > 1e9);
  } finally {
    rm(repo);
    rm(other);
    rm(cacheDir);
  }
});

test('a times.json that is not ours is left alone', async () => {
  const repo = makeRepo({ 'a.ts': 'export const a = 1;\n' });
  const other = makeRepo({ 'c.ts': 'export const c = 3;\n' });
  const cacheDir = tmpDir('codetune-cache-');
  const file = path.join(cacheDir, 'times.json');
  try {
    fs.writeFileSync(file, '{"my": "own times"}');
    await listRepo(other); // no times of `repo` in memory
    const l = await listRepo(repo, { cacheDirOf: () => cacheDir });
    assert.ok(l.times.get('a.ts')! > 1e9);
    assert.equal(fs.readFileSync(file, 'utf8'), '{"my": "own times"}');
  } finally {
    rm(repo);
    rm(other);
    rm(cacheDir);
  }
});
