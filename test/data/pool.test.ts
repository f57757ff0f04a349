// The file pool: batch sizes, and a worker stopped mid-batch fails its batch instead
// of leaving the caller waiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchSizes, FilePool, sizedBatches } from '../../server/data/pool';
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

test('sized batches: every job once, largest first, a big file alone, none over 64', () => {
  // lodash's shape: one file of 540 KB among a thousand of about 1 KB.
  const sizes = Array.from({ length: 1000 }, (_, i) => (i === 600 ? 540_000 : 500 + ((i * 37) % 1500)));
  const batches = sizedBatches(sizes, 2);
  assert.deepEqual(batches.flat().sort((a, b) => a - b), sizes.map((_, i) => i));
  assert.deepEqual(batches[0], [600], 'the big file goes out first, on its own');
  const order = batches.flat();
  assert.ok(order.every((j, k) => k === 0 || sizes[order[k - 1]] >= sizes[j]), 'non-increasing sizes');
  assert.ok(batches.every((b) => b.length >= 1 && b.length <= 64));
  assert.ok(batches.length >= 4 * 2, 'enough batches to share');
  assert.equal(batches[batches.length - 1].length, 1, 'the last batch is small');
  // Equal sizes: the same cuts as batchSizes; ties keep the listing order.
  const even = sizedBatches(new Array<number>(300).fill(1000), 2);
  assert.deepEqual(even.map((b) => b.length), batchSizes(300, 2));
  assert.deepEqual(even.flat(), Array.from({ length: 300 }, (_, i) => i));
  assert.deepEqual(sizedBatches([], 2), []);
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
