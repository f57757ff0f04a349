// The whole pipeline: JSONL shape, split by file, dedup, determinism, incremental
// == full rebuild, and tokenization/packing with the real Qwen tokenizer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildDataset, toJsonlLine, writeJsonl, type DatasetOptions } from '../../server/data/index';
import { CodeTokenizer, qwenTokenizerDir } from '../../server/model/tokenizer';
import { DataCache } from '../../server/data/cache';
import { cBody, commitAll, git, makeRepo, rm, tmpDir, writeFiles } from './helpers';

let tokenizer: CodeTokenizer | null = null;
const qwen = (): CodeTokenizer => (tokenizer ??= CodeTokenizer.fromDir(qwenTokenizerDir()));

const fn = (name: string, n = 4): string => `/** Compute the ${name} of all the values. */\nexport function ${name}(values: number[]): number {\n  let total = 0;\n  const factor = ${name.length};\n${cBody(n)}\n  return total;\n}\n`;

function sampleRepo(): string {
  const files: Record<string, string> = {};
  const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu'];
  words.forEach((w, i) => {
    files[`src/${w}.ts`] = `${fn(`${w}Sum`)}\n// Multiply the ${w} values together now.\nexport const ${w}Scale = 1;\nexport const ${w}Other = ${i};\n\n${fn(`${w}Max`, 3 + i)}`;
    files[`py/${w}.py`] = `def ${w}_mean(xs):\n    """Return the mean of the ${w} values."""\n    total = sum(xs)\n    n = len(xs) + ${i}\n    return total / n\n`;
  });
  return makeRepo(files);
}

async function jsonl(opts: DatasetOptions): Promise<string> {
  const ds = await buildDataset(opts);
  return ds.examples.map(toJsonlLine).join('\n');
}

test('JSONL lines have the trainer fields; every type appears; a file is in one split only', async () => {
  const repo = sampleRepo();
  try {
    const ds = await buildDataset({ repo, cacheDir: null, tokenizer: qwen(), valFraction: 0.3, mix: { comment: 1, fim: 1 } });
    for (const ex of ds.examples) {
      assert.deepEqual(Object.keys(JSON.parse(toJsonlLine(ex)) as object), ['type', 'path', 'language', 'prompt', 'completion']);
    }
    for (const ty of ['pair', 'comment', 'fim', 'lm'] as const) {
      assert.ok(ds.stats.examples.byType[ty] > 0, ty);
    }
    const splitOf = new Map<string, string>();
    for (const ex of ds.examples) {
      assert.equal(splitOf.get(ex.path) ?? ex.split, ex.split, `${ex.path} is in both splits`);
      splitOf.set(ex.path, ex.split);
    }
    assert.ok(ds.stats.split.valFiles > 0 && ds.stats.split.trainFiles > 0);
    assert.deepEqual(ds.valPairs, ds.examples.filter((e) => e.type === 'pair' && e.split === 'val'));
    assert.ok(ds.valPairs.length > 0);
    const fim = ds.examples.find((e) => e.type === 'fim')!;
    assert.ok(fim.prompt.startsWith('<|fim_prefix|>') && fim.prompt.includes('<|fim_suffix|>') && fim.prompt.includes('<|fim_middle|>'));
    assert.equal(ds.stats.fim.style, 'qwen');
    assert.equal(ds.stats.parsers.typescript, 'tree-sitter');
    assert.equal(ds.stats.parsers.python, 'tree-sitter');
    assert.ok(ds.examples.every((e) => e.weight > 0 && e.weight <= 1));
  } finally {
    rm(repo);
  }
});

test('packing: fixed length, EOS after each example, loss on completions / FIM middles / whole chunks', async () => {
  const repo = sampleRepo();
  try {
    const tok = qwen();
    const seqLen = 256;
    const ds = await buildDataset({ repo, cacheDir: null, tokenizer: tok, seqLen, valFraction: 0, mix: { lm: 0, comment: 0, fim: 0 } });
    assert.ok(ds.train.length > 0);
    assert.equal(ds.val.length, 0);
    const eos = tok.eosIds[0];
    let pairsSeen = 0;
    for (const s of ds.train) {
      assert.equal(s.ids.length, seqLen);
      assert.equal(s.lossMask.length, seqLen);
      // Pairs only: each example is prompt (mask 0) then completion + EOS (mask 1).
      for (let i = 0; i < seqLen; i++) {
        if (s.ids[i] === eos && s.lossMask[i] === 1) {
          pairsSeen++;
        }
      }
    }
    assert.equal(pairsSeen, ds.stats.examples.byType.pair, 'one EOS (with loss) per packed pair');
    const first = ds.train[0];
    const firstLoss = first.lossMask.indexOf(1);
    const firstEos = Array.from(first.ids).indexOf(eos);
    const prompt = tok.decode(Array.from(first.ids.subarray(0, firstLoss)), { skipSpecial: false });
    const completion = tok.decode(Array.from(first.ids.subarray(firstLoss, firstEos)), { skipSpecial: false });
    const ex = ds.examples.find((e) => e.prompt === prompt);
    assert.ok(ex, 'the unmasked prefix decodes to a prompt');
    assert.equal(completion, ex.completion);

    const fimDs = await buildDataset({ repo, cacheDir: null, tokenizer: tok, seqLen: 4096, valFraction: 0, mix: { lm: 0, comment: 0, pair: 0, fim: 1 } });
    const f = tok.fim!;
    for (const s of fimDs.train) {
      const ids = Array.from(s.ids);
      const mid = ids.indexOf(f.middle);
      assert.ok(mid > 0 && ids[0] === f.prefix, 'a FIM example opens the sequence');
      assert.ok(s.lossMask.subarray(0, mid + 1).every((m) => m === 0), 'no loss on the FIM prompt');
    }
    const lmDs = await buildDataset({ repo, cacheDir: null, tokenizer: tok, seqLen: 128, valFraction: 0, mix: { lm: 1, comment: 0, pair: 0, fim: 0 } });
    const full = lmDs.train.slice(0, -1);
    assert.ok(full.length > 0 && full.every((s) => s.lossMask.every((m) => m === 1)), 'chunks fill sequences and every token counts');
    assert.equal(lmDs.stats.tokens!.train, lmDs.train.reduce((n, s) => n + s.lossMask.reduce((a, b) => a + b, 0), 0));
  } finally {
    rm(repo);
  }
});

test('dedup: exact copies (whitespace aside) and near copies keep one file', async () => {
  const base = Array.from({ length: 40 }, (_, i) => `export function handler${i}(req: Request): Response {\n  const body = parse(req.body, ${i});\n  return respond(body, "value number ${i}");\n}\n`).join('\n');
  const near = base.replace('handler7(', 'handlerSeven(').replace('value number 30', 'value num 30');
  const repo = makeRepo({ 'a/handlers.ts': base, 'b/handlers.ts': base.replace(/\n/g, '\n\n'), 'c/handlers.ts': near, 'd/other.ts': fn('unrelated') });
  try {
    const ds = await buildDataset({ repo, cacheDir: null });
    assert.deepEqual(ds.stats.duplicates, { exact: 1, near: 1 });
    assert.deepEqual([...new Set(ds.examples.map((e) => e.path))].sort(), ['a/handlers.ts', 'd/other.ts']);
  } finally {
    rm(repo);
  }
});

test('determinism: the same repo and seed give the same JSONL, byte for byte; another seed differs', async () => {
  const repo = sampleRepo();
  const cacheDir = tmpDir('codetune-cache-');
  try {
    const opts = { repo, tokenizer: qwen(), seed: 7 };
    const out1 = path.join(cacheDir, 'a.jsonl');
    const out2 = path.join(cacheDir, 'b.jsonl');
    writeJsonl(out1, (await buildDataset({ ...opts, cacheDir: null })).examples);
    writeJsonl(out2, (await buildDataset({ ...opts, cacheDir })).examples);
    assert.ok(fs.readFileSync(out1).equals(fs.readFileSync(out2)));
    const again = await buildDataset({ ...opts, cacheDir });
    assert.equal(again.examples.map(toJsonlLine).join('\n') + '\n', fs.readFileSync(out1, 'utf8'));
    assert.notEqual(await jsonl({ ...opts, seed: 8, cacheDir: null }), fs.readFileSync(out1, 'utf8').trimEnd());
  } finally {
    rm(repo);
    rm(cacheDir);
  }
});

test('incremental: after edits, a rebuild from the cache matches a full rebuild and only redoes changed files', async () => {
  const repo = sampleRepo();
  const cacheDir = tmpDir('codetune-cache-');
  try {
    const tok = qwen();
    const first = await buildDataset({ repo, cacheDir, tokenizer: tok });
    assert.equal(first.stats.cache.hits, 0);
    writeFiles(repo, { 'src/alpha.ts': fn('alphaChanged', 5), 'src/new.ts': fn('brandNew') });
    fs.rmSync(path.join(repo, 'py/beta.py'));
    commitAll(repo, 'edit');
    writeFiles(repo, { 'py/gamma.py': 'def gamma_mean(xs):\n    """Uncommitted change to gamma here."""\n    a = 1\n    b = 2\n    return a + b\n' });
    DataCache.clearMemory(); // read the cache from disk, as a new process would
    const inc = await buildDataset({ repo, cacheDir, tokenizer: tok });
    assert.equal(inc.stats.cache.fromMemory, false);
    const full = await buildDataset({ repo, cacheDir: null, tokenizer: tok });
    assert.equal(inc.examples.map(toJsonlLine).join('\n'), full.examples.map(toJsonlLine).join('\n'));
    assert.deepEqual(inc.train, full.train);
    assert.deepEqual(inc.val, full.val);
    assert.equal(inc.stats.cache.misses, 3, 'alpha.ts, new.ts and the uncommitted gamma.py');
    assert.equal(inc.stats.cache.hits, first.stats.files.tracked - 3, 'all but alpha.ts, beta.py (deleted) and gamma.py');
    assert.ok(inc.stats.cache.tokenHits > inc.stats.cache.tokenMisses);
  } finally {
    rm(repo);
    rm(cacheDir);
  }
});

test('progress events go from 0 to the total', async () => {
  const repo = sampleRepo();
  try {
    const events: Array<{ phase: string; done: number; total: number }> = [];
    await buildDataset({ repo, cacheDir: null, tokenizer: qwen(), onProgress: (e) => events.push(e) });
    const last = events.filter((e) => e.phase === 'process').at(-1)!;
    assert.equal(last.done, last.total);
    assert.equal(last.total, 24);
    assert.ok(events.some((e) => e.phase === 'tokenize' && e.done === e.total));
  } finally {
    rm(repo);
  }
});

test('a corrupt or foreign cache is ignored, and a one-file change rewrites only its cache shard', async () => {
  const repo = sampleRepo();
  const cacheDir = tmpDir('codetune-cache-');
  try {
    await buildDataset({ repo, cacheDir });
    const shards = fs.readdirSync(cacheDir).filter((f) => f.startsWith('records-'));
    assert.ok(shards.length > 1);
    const before = new Map(shards.map((f) => [f, fs.readFileSync(path.join(cacheDir, f), 'utf8')]));
    writeFiles(repo, { 'src/alpha.ts': fn('alphaEdited', 6) });
    await buildDataset({ repo, cacheDir });
    const changed = shards.filter((f) => fs.readFileSync(path.join(cacheDir, f), 'utf8') !== before.get(f));
    assert.ok(changed.length >= 1 && changed.length <= 2, `only the shards of the old and new blob are rewritten, not ${changed.length}`);
    // Damage every shard file, each in one of five ways; nothing of them may be used.
    const files = fs.readdirSync(cacheDir).sort();
    files.forEach((f, i) => {
      const file = path.join(cacheDir, f);
      const buf = fs.readFileSync(file);
      const damaged = [
        Buffer.from('{not a shard'), // garbage
        buf.subarray(0, Math.floor(buf.length / 2)), // truncated
        Buffer.concat([buf, Buffer.from('x')]), // trailing bytes
        Buffer.from(buf.toString('latin1').replace(/"format":\d+/, '"format":1'), 'latin1'), // another format
        Buffer.from(buf.toString('latin1').replace(/"key":"[^"]*"/, (m) => m.replace(/[0-9a-f]/, 'x')), 'latin1'), // another key
      ][i % 5];
      fs.writeFileSync(file, damaged);
    });
    const again = await buildDataset({ repo, cacheDir });
    const full = await buildDataset({ repo, cacheDir: null });
    assert.equal(again.stats.cache.hits, 0);
    assert.equal(again.examples.map(toJsonlLine).join('\n'), full.examples.map(toJsonlLine).join('\n'));
  } finally {
    rm(repo);
    rm(cacheDir);
  }
});

test('a later build in the same process reuses the cache in memory, unless the files on disk changed', async () => {
  const repo = sampleRepo();
  const cacheDir = tmpDir('codetune-cache-');
  try {
    DataCache.clearMemory();
    const a = await buildDataset({ repo, cacheDir });
    assert.equal(a.stats.cache.fromMemory, false);
    const b = await buildDataset({ repo, cacheDir });
    assert.equal(b.stats.cache.fromMemory, true);
    assert.equal(b.stats.cache.hits, a.stats.cache.misses);
    // Another process rewrote the cache: memory is stale, the disk is read again.
    for (const f of fs.readdirSync(cacheDir)) {
      fs.writeFileSync(path.join(cacheDir, f), '{}');
    }
    const c = await buildDataset({ repo, cacheDir });
    assert.equal(c.stats.cache.fromMemory, false);
    assert.equal(c.stats.cache.hits, 0);
    assert.equal(c.examples.map(toJsonlLine).join('\n'), a.examples.map(toJsonlLine).join('\n'));
  } finally {
    DataCache.clearMemory();
    rm(repo);
    rm(cacheDir);
  }
});

test('rebuilds in one process after work-tree edits match full builds, also when duplicates appear and go', async () => {
  const repo = sampleRepo();
  const cacheDir = tmpDir('codetune-cache-');
  const same = async (what: string, reuse = true, patched = false): Promise<void> => {
    const inc = await buildDataset({ repo, cacheDir });
    assert.equal(inc.stats.cache.fromMemory, true, what);
    // Patched (tail.ts) only where exactly the edited files' entries change.
    assert.equal(inc.stats.cache.patched, patched, `${what}: patched`);
    if (reuse) {
      // Files changed in the work tree (then or now) are redone; the others come from the last build.
      assert.ok(inc.stats.cache.reused >= inc.stats.files.tracked - 4, `${what}: ${inc.stats.cache.reused} files reused from the last build`);
    } else {
      assert.equal(inc.stats.cache.reused, 0, `${what}: the index changed, so nothing is taken from the last build`);
    }
    const full = await buildDataset({ repo, cacheDir: null });
    assert.equal(inc.examples.map(toJsonlLine).join('\n'), full.examples.map(toJsonlLine).join('\n'), what);
    const comparable = (st: object): object => Object.fromEntries(Object.entries(st).filter(([k]) => k !== 'timings' && k !== 'cache'));
    assert.deepEqual(comparable(inc.stats), comparable(full.stats), what);
  };
  try {
    DataCache.clearMemory();
    // Files younger than 2 s are racy in a stat snapshot and read again on every
    // rebuild (see collect.ts): let the sample repo's files age first.
    await new Promise((r) => setTimeout(r, 2100));
    await buildDataset({ repo, cacheDir });
    const alpha = fs.readFileSync(path.join(repo, 'src/alpha.ts'), 'utf8');
    writeFiles(repo, { 'src/alpha.ts': `${alpha}\n// An edit adds a line.\n` });
    await same('a one-file edit', true, true);
    writeFiles(repo, { 'src/alpha.ts': fs.readFileSync(path.join(repo, 'src/beta.ts'), 'utf8') });
    await same('alpha.ts becomes an exact copy of beta.ts');
    writeFiles(repo, { 'src/alpha.ts': fs.readFileSync(path.join(repo, 'src/beta.ts'), 'utf8').replace('betaMax', 'betaMaxed') });
    await same('alpha.ts becomes a near copy of beta.ts');
    writeFiles(repo, { 'src/alpha.ts': `${alpha}\n// Back to itself, edited.\n` });
    await same('the copy goes away');
    fs.rmSync(path.join(repo, 'py/gamma.py'));
    await same('a tracked file deleted in the work tree');
    writeFiles(repo, { 'py/gamma.py': 'def gamma_mean(xs):\n    """Now something else entirely here."""\n    a = 1\n    b = 2\n    return a + b\n' });
    await same('and written back changed');
    writeFiles(repo, { 'src/added.ts': fn('addedLater') });
    git(repo, 'add', 'src/added.ts');
    await same('a new file added to the index (the index listing is read again)', false);
    git(repo, 'rm', '-q', '--cached', 'src/added.ts');
    await same('and removed from it', false);
    writeFiles(repo, { 'src/beta.ts': `${fs.readFileSync(path.join(repo, 'src/beta.ts'), 'utf8')}\n// Edited.\n` });
    await same('then an edit reuses the last build again', true, true);
  } finally {
    DataCache.clearMemory();
    rm(repo);
    rm(cacheDir);
  }
});

test('worker threads give the same result as the calling thread', async () => {
  const repo = sampleRepo();
  try {
    const inThread = await buildDataset({ repo, cacheDir: null, workers: 0 });
    const pooled = await buildDataset({ repo, cacheDir: null, workers: 2 });
    assert.equal(inThread.stats.workers, 0);
    assert.equal(pooled.stats.workers, 2);
    assert.equal(pooled.examples.map(toJsonlLine).join('\n'), inThread.examples.map(toJsonlLine).join('\n'));
    assert.deepEqual(pooled.stats.files, inThread.stats.files);
    assert.deepEqual(pooled.stats.parsers, inThread.stats.parsers);
  } finally {
    rm(repo);
  }
});

test('tokenizing in worker threads gives the same sequences and token counts as tokenizing here', async () => {
  const repo = sampleRepo();
  try {
    const tok = qwen();
    const inThread = await buildDataset({ repo, cacheDir: null, tokenizer: tok, workers: 0, mix: { fim: 1 } });
    const pooled = await buildDataset({ repo, cacheDir: null, tokenizer: tok, workers: 2, mix: { fim: 1 } });
    assert.ok(inThread.train.length > 0 && inThread.stats.examples.byType.fim > 0);
    assert.deepEqual(pooled.train, inThread.train);
    assert.deepEqual(pooled.val, inThread.val);
    assert.deepEqual(pooled.stats.tokens, inThread.stats.tokens);
    assert.deepEqual([pooled.stats.cache.tokenHits, pooled.stats.cache.tokenMisses], [inThread.stats.cache.tokenHits, inThread.stats.cache.tokenMisses]);
    assert.ok(pooled.stats.cache.tokenMisses > 0);
    assert.equal(pooled.stats.cache.tokenizedInWorkers, pooled.stats.cache.tokenMisses, 'every miss was encoded by a worker');
    assert.equal(inThread.stats.cache.tokenizedInWorkers, 0);
  } finally {
    rm(repo);
  }
});

test('old JSON shards in a cache folder are removed; other files of those names are kept', async () => {
  const repo = sampleRepo();
  const cacheDir = tmpDir('codetune-cache-');
  try {
    fs.writeFileSync(path.join(cacheDir, 'records-3.json'), '{"format":5,"key":"abc","entries":{}}');
    fs.writeFileSync(path.join(cacheDir, 'tokens-0123abcd-1f.json'), '{"format":4,"entries":{}}');
    fs.writeFileSync(path.join(cacheDir, 'records-1.json'), '[{"a user\'s": "own file"}]');
    fs.writeFileSync(path.join(cacheDir, 'notes.json'), '{"format":5}');
    DataCache.clearMemory();
    await buildDataset({ repo, cacheDir });
    const left = fs.readdirSync(cacheDir);
    assert.ok(!left.includes('records-3.json') && !left.includes('tokens-0123abcd-1f.json'), left.join(' '));
    assert.equal(fs.readFileSync(path.join(cacheDir, 'records-1.json'), 'utf8'), '[{"a user\'s": "own file"}]');
    assert.ok(left.includes('notes.json'));
    assert.ok(left.some((f) => /^records-[0-9a-f]+\.bin$/.test(f)));
  } finally {
    DataCache.clearMemory();
    rm(repo);
    rm(cacheDir);
  }
});
