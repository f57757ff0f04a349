// Bad input: each case is handled (typed error or counted skip), never a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildDataset } from '../../server/data/index';
import { CodetuneError } from '../../server/errors';
import { cBody, commitAll, git, initRepo, makeRepo, rm, tmpDir, writeFiles } from './helpers';

const doc = (name: string): string => `/** Compute the ${name} of the given values. */\nexport function ${name}(values: number[]): number {\n  let total = 0;\n  const factor = 3;\n${cBody(4)}\n  return total;\n}\n`;

async function rejects(dir: string, code: string): Promise<void> {
  await assert.rejects(buildDataset({ repo: dir, cacheDir: null }), (e: unknown) => e instanceof CodetuneError && e.code === code);
}

test('a folder that is not a git repo is NOT_A_REPO; a missing one NOT_FOUND', async () => {
  const dir = tmpDir();
  try {
    fs.writeFileSync(path.join(dir, 'a.ts'), 'export const a = 1;\n');
    await rejects(dir, 'NOT_A_REPO');
    await rejects(path.join(dir, 'missing'), 'NOT_FOUND');
    await rejects(path.join(dir, 'a.ts'), 'NOT_A_REPO');
  } finally {
    rm(dir);
  }
});

test('a repo with no commits is EMPTY_REPO', async () => {
  const dir = tmpDir();
  try {
    initRepo(dir);
    fs.writeFileSync(path.join(dir, 'a.ts'), 'export const a = 1;\n');
    await rejects(dir, 'EMPTY_REPO');
  } finally {
    rm(dir);
  }
});

test('a repo of only binaries gives no examples and counts them', async () => {
  const repo = makeRepo({ 'a.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 1]), 'b.ts': Buffer.from([0x61, 0, 0x62]), 'c.wasm': Buffer.from([0, 0x61, 0x73, 0x6d]) });
  try {
    const ds = await buildDataset({ repo, cacheDir: null });
    assert.equal(ds.examples.length, 0);
    assert.deepEqual(ds.stats.files.skipped, { unknown_type: 2, binary: 1 });
  } finally {
    rm(repo);
  }
});

test('symlinks are never followed out of the repo (committed link, link swapped in, linked folder)', async () => {
  const outside = tmpDir('codetune-outside-');
  fs.writeFileSync(path.join(outside, 'x.ts'), doc('outsideFunction'));
  fs.mkdirSync(path.join(outside, 'dir'));
  fs.writeFileSync(path.join(outside, 'dir', 'y.ts'), doc('outsideToo'));
  const repo = makeRepo({ 'a.ts': doc('inside'), 'b.ts': doc('willBeLink'), 'lib/y.ts': doc('willBeFolderLink') });
  try {
    fs.symlinkSync(path.join(outside, 'x.ts'), path.join(repo, 'link.ts'));
    commitAll(repo, 'link');
    fs.rmSync(path.join(repo, 'b.ts'));
    fs.symlinkSync(path.join(outside, 'x.ts'), path.join(repo, 'b.ts'));
    fs.rmSync(path.join(repo, 'lib'), { recursive: true });
    fs.symlinkSync(path.join(outside, 'dir'), path.join(repo, 'lib'));
    const ds = await buildDataset({ repo, cacheDir: null });
    const text = JSON.stringify(ds.examples);
    assert.ok(!text.includes('outsideFunction') && !text.includes('outsideToo'));
    assert.equal(ds.stats.files.kept, 1);
    const sk = ds.stats.files.skipped;
    assert.equal(sk.symlink, 2);
    assert.equal((sk.outside_repo ?? 0) + (sk.deleted ?? 0), 1);
  } finally {
    rm(repo);
    rm(outside);
  }
});

test('invalid UTF-8 is skipped; CRLF files are read with LF line ends', async () => {
  const repo = makeRepo({ 'bad.py': Buffer.concat([Buffer.from('x = "'), Buffer.from([0xc3, 0x28]), Buffer.from('"\n')]), 'win.ts': doc('windows').replace(/\n/g, '\r\n') });
  try {
    const ds = await buildDataset({ repo, cacheDir: null });
    assert.deepEqual(ds.stats.files.skipped, { invalid_utf8: 1 });
    assert.ok(ds.examples.length > 0);
    assert.ok(ds.examples.every((e) => !e.prompt.includes('\r') && !e.completion.includes('\r')));
    assert.equal(ds.examples.filter((e) => e.type === 'pair').length, 1);
  } finally {
    rm(repo);
  }
});

test('a 50 MB file is skipped without being read', async () => {
  const repo = makeRepo({ 'small.ts': doc('small') });
  try {
    const big = path.join(repo, 'huge.ts');
    fs.closeSync(fs.openSync(big, 'w'));
    fs.truncateSync(big, 50 * 1024 * 1024); // sparse: quick to make
    commitAll(repo, 'huge');
    const ds = await buildDataset({ repo, cacheDir: null });
    assert.deepEqual(ds.stats.files.skipped, { too_large: 1 });
    assert.equal(ds.stats.files.kept, 1);
  } finally {
    rm(repo);
  }
});

test('unicode and space paths come through exactly', async () => {
  const repo = makeRepo({ 'src/my file é.ts': doc('spaced'), 'src/日本/コード.py': 'def f(x):\n    """Return x plus one more."""\n    y = x\n    y += 1\n    return y\n' });
  try {
    const ds = await buildDataset({ repo, cacheDir: null });
    assert.deepEqual([...new Set(ds.examples.map((e) => e.path))].sort(), ['src/my file é.ts', 'src/日本/コード.py']);
    assert.ok(ds.examples.some((e) => e.type === 'pair' && e.prompt.startsWith('# path: src/日本/コード.py\n')));
  } finally {
    rm(repo);
  }
});

test('a submodule is skipped and counted', async () => {
  const sub = makeRepo({ 'inner.ts': doc('innerOnly') });
  const repo = makeRepo({ 'a.ts': doc('outer') });
  try {
    git(repo, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', sub, 'ext/sub');
    commitAll(repo, 'sub');
    const ds = await buildDataset({ repo, cacheDir: null });
    assert.equal(ds.stats.submodules, 1);
    assert.equal(ds.stats.files.skipped.submodule, 1);
    assert.ok(!JSON.stringify(ds.examples).includes('innerOnly'));
  } finally {
    rm(repo);
    rm(sub);
  }
});

test('a shallow clone works', async () => {
  const repo = makeRepo({ 'a.ts': doc('first') });
  const clone = tmpDir();
  try {
    writeFiles(repo, { 'b.ts': doc('second') });
    commitAll(repo, 'two');
    git(clone, 'clone', '-q', '--depth', '1', `file://${repo}`, 'c');
    const ds = await buildDataset({ repo: path.join(clone, 'c'), cacheDir: null });
    assert.equal(ds.stats.files.kept, 2);
    assert.equal(ds.examples.filter((e) => e.type === 'pair').length, 2);
  } finally {
    rm(repo);
    rm(clone);
  }
});

test('a deleted-but-tracked file is skipped; a subfolder workspace sees only its files, with repo-relative paths', async () => {
  const repo = makeRepo({ 'app/a.ts': doc('appA'), 'app/b.ts': doc('appB'), 'other/c.ts': doc('otherC') });
  try {
    fs.rmSync(path.join(repo, 'app/b.ts'));
    const ds = await buildDataset({ repo: path.join(repo, 'app'), cacheDir: null });
    assert.deepEqual(ds.stats.files.skipped, { deleted: 1 });
    assert.deepEqual([...new Set(ds.examples.map((e) => e.path))], ['app/a.ts']);
    assert.equal(ds.stats.repo, repo);
  } finally {
    rm(repo);
  }
});
