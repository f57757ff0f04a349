// In-process rebuilds that patch the last build's tail (server/data/tail.ts) against
// full builds, over a run of random edits: the JSONL and the stats JSON (key order
// included) must be the same, byte for byte, whether the rebuild patched or not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildDataset, toJsonlLine, type Dataset } from '../../server/data/index';
import { DataCache } from '../../server/data/cache';
import { makeRepo, rm, tmpDir, writeFiles } from './helpers';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

// Every line names its function, so files are not near copies of each other (dedup would cluster them).
const tsFn = (name: string, doc: string, lines: number): string =>
  `/** ${doc} */\nexport function ${name}(values: number[]): number {\n  let total = 0;\n${Array.from({ length: lines }, (_, i) => `  const ${name}Part${i} = values[${i}] ?? ${name.length * i};\n  total += ${name}Part${i};`).join('\n')}\n  return total;\n}\n`;
const pyFn = (name: string, doc: string, lines: number): string =>
  `def ${name}(xs):\n    """${doc}"""\n    total = 0\n${Array.from({ length: lines }, (_, i) => `    ${name}_part${i} = xs[${i}] if len(xs) > ${i} else ${name.length * i}\n    total += ${name}_part${i}`).join('\n')}\n    return total\n`;

const docs = ['Add up the values in the list given.', 'Return the sum of every value here.', 'Compute a weighted total of the values.', 'Sum the numbers, counting missing ones as their index.'];

function fileText(p: string, variant: number, r: () => number): string {
  const name = path.basename(p).replace(/\W/g, '_');
  const doc = docs[Math.floor(r() * docs.length)];
  const n = 3 + Math.floor(r() * 5);
  if (p.endsWith('.py')) {
    return variant === 3 ? `# ${name} holds no functions now.\nVALUE = ${n}\n` : pyFn(`${name}_${variant}`, doc, n) + (variant === 2 ? `\n${pyFn(`${name}_extra`, doc, n + 1)}` : '');
  }
  return variant === 3 ? `// ${name} holds no functions now.\nexport const value = ${n};\n` : tsFn(`${name}V${variant}`, doc, n) + (variant === 2 ? `\n// Scale the total by the factor given.\nexport const scaled = ${n} * 2;\nexport const other = ${n};\n\n${tsFn(`${name}Extra`, doc, n + 1)}` : '');
}

const comparable = (ds: Dataset): string => JSON.stringify(Object.fromEntries(Object.entries(ds.stats).filter(([k]) => k !== 'timings' && k !== 'cache')));
const jsonl = (ds: Dataset): string => ds.examples.map(toJsonlLine).join('\n');

test('patched rebuilds equal full builds over 40 random edits (JSONL and stats JSON, byte for byte)', async () => {
  const r = rng(7);
  const paths = Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? `py/m${i}.py` : `src/m${i}.ts`));
  const files: Record<string, string> = {};
  for (const p of paths) {
    files[p] = fileText(p, 0, r);
  }
  const repo = makeRepo(files);
  const cacheDir = tmpDir('codetune-cache-');
  try {
    DataCache.clearMemory();
    await new Promise((res) => setTimeout(res, 2100)); // files younger than 2 s are racy (collect.ts)
    // A third of the files in validation, so edits reach the held-out pairs too.
    const valFraction = 0.3;
    await buildDataset({ repo, cacheDir, valFraction });
    let patched = 0;
    for (let step = 0; step < 40; step++) {
      const p = paths[Math.floor(r() * paths.length)];
      const kind = Math.floor(r() * 6);
      if (kind === 5) {
        // An exact copy of another file of the same language: a duplicate appears.
        const twin = paths.find((q) => q !== p && path.extname(q) === path.extname(p))!;
        writeFiles(repo, { [p]: fs.readFileSync(path.join(repo, twin), 'utf8') });
      } else {
        writeFiles(repo, { [p]: fileText(p, kind % 4, r) });
      }
      const inc = await buildDataset({ repo, cacheDir, valFraction });
      const full = await buildDataset({ repo, cacheDir: null, valFraction });
      assert.equal(inc.stats.cache.fromMemory, true);
      assert.equal(jsonl(inc), jsonl(full), `step ${step}: ${p}, edit ${kind}`);
      assert.equal(comparable(inc), comparable(full), `step ${step}: ${p}, edit ${kind}`);
      assert.deepEqual(inc.valPairs.map(toJsonlLine), full.valPairs.map(toJsonlLine));
      patched += inc.stats.cache.patched ? 1 : 0;
    }
    // Both paths ran: most edits patch, duplicates and emptied files make the tail again.
    assert.ok(patched >= 10 && patched <= 38, `${patched} of 40 rebuilds patched`);
  } finally {
    DataCache.clearMemory();
    rm(repo);
    rm(cacheDir);
  }
});
