// The data cache written in the background (DatasetOptions.cacheWrite 'background',
// what training uses): a later load waits for the writes, the result on disk is the
// same as a waited-for save, and a failed write is reported, not thrown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildDataset, cacheSaved, cacheSaveWarning, toJsonlLine } from '../../server/data/index';
import { DataCache } from '../../server/data/cache';
import { makeRepo, rm, tmpDir, writeFiles } from './helpers';

const doc = (name: string, k: number): string =>
  `/** Return the ${name} of the values, scaled by ${k}. */\nexport function ${name}(xs: number[]): number {\n  let t = 0;\n  for (const x of xs) {\n    t += x * ${k};\n  }\n  return t;\n}\n`;

function repoOf(n: number): string {
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    files[`src/f${i}.ts`] = doc(`total${i}`, i + 1);
  }
  return makeRepo(files);
}

const lines = (ds: { examples: Parameters<typeof toJsonlLine>[0][] }): string => ds.examples.map(toJsonlLine).join('\n');

test('a background cache save: the next load waits for it, and the disk then holds what a waited-for save writes', async () => {
  const repo = repoOf(40);
  const bgDir = tmpDir('codetune-cache-bg-');
  const waitDir = tmpDir('codetune-cache-wait-');
  try {
    DataCache.clearMemory();
    const a = await buildDataset({ repo, cacheDir: bgDir, cacheWrite: 'background' });
    assert.equal(a.stats.cache.background, true);
    assert.equal(a.stats.cache.saveError, null);
    let written = false;
    const saved = cacheSaved(a).then((e) => {
      written = true;
      return e;
    });
    // Loading the folder while the writes are under way waits for them.
    await DataCache.load(bgDir, 'no-such-config', null);
    assert.ok(written, 'load returned before the background save ended');
    assert.equal(await saved, null);
    // Same files, same bytes as a save the build waited for.
    const w = await buildDataset({ repo, cacheDir: waitDir });
    assert.equal(w.stats.cache.background, false);
    // (times.json, the listing's commit times, is written by the first listing of a repo only.)
    const shards = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f !== 'times.json').sort();
    const names = shards(waitDir);
    assert.ok(names.length > 5 && names.every((f) => /^records-[0-9a-f]+\.bin$/.test(f)), names.join());
    assert.deepEqual(shards(bgDir), names, 'no temp files are left, and no shard is missing');
    for (const f of names) {
      assert.ok(fs.readFileSync(path.join(bgDir, f)).equals(fs.readFileSync(path.join(waitDir, f))), f);
    }
    // (The probe above left its own config in memory: this build reads the disk.)
    const fromDisk = await buildDataset({ repo, cacheDir: bgDir, cacheWrite: 'background' });
    assert.equal(fromDisk.stats.cache.fromMemory, false);
    assert.equal(fromDisk.stats.cache.misses, 0);
    // A rebuild after an edit, from memory (once the save above is done), then from disk:
    // every unchanged file is a hit.
    writeFiles(repo, { 'src/f3.ts': doc('edited', 99) });
    const b = await buildDataset({ repo, cacheDir: bgDir, cacheWrite: 'background' });
    assert.equal(b.stats.cache.fromMemory, true);
    assert.equal(b.stats.cache.misses, 1);
    assert.equal(await cacheSaved(b), null);
    DataCache.clearMemory();
    const c = await buildDataset({ repo, cacheDir: bgDir });
    assert.equal(c.stats.cache.fromMemory, false);
    assert.equal(c.stats.cache.misses, 0);
    assert.equal(lines(c), lines(b));
    assert.equal(lines(c), lines(await buildDataset({ repo, cacheDir: null })));
  } finally {
    DataCache.clearMemory();
    rm(repo);
    rm(bgDir);
    rm(waitDir);
  }
});

test('a background cache save that fails is reported by cacheSaved, and the build stands', async () => {
  const repo = repoOf(3);
  const out = tmpDir();
  try {
    const notAFolder = path.join(out, 'cache-is-a-file');
    fs.writeFileSync(notAFolder, 'x');
    const ds = await buildDataset({ repo, cacheDir: notAFolder, cacheWrite: 'background' });
    assert.ok(ds.examples.length > 0);
    const e = await cacheSaved(ds);
    assert.ok(e && /^[A-Z_]+$/.test(e.code), JSON.stringify(e));
    assert.match(cacheSaveWarning(e) ?? '', /^warning: the incremental cache was not saved \([A-Z_]+: .*cache-is-a-file/);
    assert.equal(fs.readFileSync(notAFolder, 'utf8'), 'x', 'the file is left as it was');
    assert.deepEqual(fs.readdirSync(out), ['cache-is-a-file'], 'no temp files are left');
    // A waited-for save says the same in the stats.
    const w = await buildDataset({ repo, cacheDir: notAFolder });
    assert.equal(w.stats.cache.saveError?.code, e.code);
    assert.equal(await cacheSaved(w), w.stats.cache.saveError);
  } finally {
    rm(repo);
    rm(out);
  }
});

test('an in-process rebuild rewrites only the shard of the file that changed, not those of files edited before', async () => {
  const repo = repoOf(40);
  const cacheDir = tmpDir('codetune-cache-');
  try {
    DataCache.clearMemory();
    // Files younger than 2 s count as changed in every quick rebuild (see collect.ts).
    await new Promise((r) => setTimeout(r, 2100));
    await buildDataset({ repo, cacheDir });
    // A rewrite replaces the file (temp file and rename), so its inode changes even when its bytes do not.
    const snapshot = (): Map<string, number> => new Map(fs.readdirSync(cacheDir).filter((f) => f.startsWith('records-')).map((f) => [f, fs.statSync(path.join(cacheDir, f)).ino]));
    const rewritten = (before: Map<string, number>): string[] => [...snapshot()].filter(([f, ino]) => before.get(f) !== ino).map(([f]) => f);
    // Two edits of f1, each rebuilt in memory: its old versions leave the cache.
    writeFiles(repo, { 'src/f1.ts': doc('first', 7) });
    const s1 = snapshot();
    assert.equal((await buildDataset({ repo, cacheDir })).stats.cache.misses, 1);
    const f1Shards = rewritten(s1);
    assert.equal(f1Shards.length, 1, 'the edit rewrites one shard');
    writeFiles(repo, { 'src/f1.ts': doc('second', 8) });
    await buildDataset({ repo, cacheDir });
    // An edit of another file (in another shard) rewrites that shard only.
    let checked = 0;
    for (let i = 2; i < 40 && checked === 0; i++) {
      const s = snapshot();
      writeFiles(repo, { [`src/f${i}.ts`]: doc(`edit${i}`, i + 50) });
      const b = await buildDataset({ repo, cacheDir });
      assert.equal(b.stats.cache.fromMemory, true);
      const changed = rewritten(s);
      assert.equal(changed.length, 1, `editing src/f${i}.ts rewrote ${changed.join(', ')}`);
      if (changed[0] !== f1Shards[0]) {
        checked++; // a shard other than f1's: f1's shard was left alone
      }
    }
    assert.equal(checked, 1, 'an edit in another shard than f1.ts was checked');
    DataCache.clearMemory();
    const fromDisk = await buildDataset({ repo, cacheDir });
    assert.equal(fromDisk.stats.cache.misses, 0);
    assert.equal(lines(fromDisk), lines(await buildDataset({ repo, cacheDir: null })));
  } finally {
    DataCache.clearMemory();
    rm(repo);
    rm(cacheDir);
  }
});
