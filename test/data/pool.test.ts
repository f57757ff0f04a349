// The file pool: batch sizes, and a worker stopped mid-batch fails its batch instead
// of leaving the caller waiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchSizes, FilePool } from '../../server/data/pool';
import { DEFAULT_FILTERS } from '../../server/data/types';
import { makeRepo, rm } from './helpers';

test('batches cover every job, largest first, none over 64, the last ones small', () => {
  for (const [n, w] of [[0, 2], [1, 2], [100, 2], [20_000, 2], [1_000, 8]] as const) {
    const sizes = batchSizes(n, w);
    assert.equal(sizes.reduce((a, b) => a + b, 0), n);
    assert.ok(sizes.every((k, i) => k >= 1 && k <= 64 && (i === 0 || k <= sizes[i - 1])));
    if (n >= 100) {
      assert.equal(sizes[sizes.length - 1], 1);
    }
  }
});

test('closing the pool while a batch runs rejects the batch', async () => {
  const repo = makeRepo({ 'a.ts': '/** Add the two numbers given here. */\nexport function add(a: number, b: number): number {\n  const s = a + b;\n  const t = s * 1;\n  return t;\n}\n' });
  const pool = FilePool.create(1);
  assert.ok(pool, 'a worker can be started');
  try {
    const jobs = Array.from({ length: 200 }, () => ({ path: 'a.ts', blob: 'x', info: null }));
    const running = pool.run(repo, DEFAULT_FILTERS, jobs);
    await pool.close();
    await assert.rejects(running, /stopped|terminated|exit/i);
  } finally {
    rm(repo);
  }
});
