// MinHash by one-permutation hashing: its Jaccard estimates against the exact Jaccard
// of word 5-gram sets, for long and short texts, and the LSH candidates it yields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateJaccard, findDuplicates, fingerprint, minhash, setJaccard, SHINGLE } from '../../server/data/dedup';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function words(n: number, r: () => number): string[] {
  return Array.from({ length: n }, () => `w${Math.floor(r() * 5000)}`);
}

function exactJaccard(a: string[], b: string[]): number {
  const grams = (w: string[]): Set<string> => new Set(w.slice(0, w.length - SHINGLE + 1).map((_, i) => w.slice(i, i + SHINGLE).join(' ')));
  const A = grams(a);
  const B = grams(b);
  let inter = 0;
  for (const g of A) {
    inter += B.has(g) ? 1 : 0;
  }
  return inter / (A.size + B.size - inter);
}

/** `base` with a fraction of its words replaced. */
function mutate(base: string[], fraction: number, r: () => number): string[] {
  return base.map((w) => (r() < fraction ? `x${Math.floor(r() * 1e6)}` : w));
}

test('MinHash estimates the Jaccard of word 5-grams (long texts): mean error under 0.04', () => {
  const r = rng(7);
  let err = 0;
  let n = 0;
  for (const fraction of [0, 0.01, 0.03, 0.06, 0.1, 0.2, 0.4]) {
    for (let k = 0; k < 6; k++) {
      const a = words(400 + Math.floor(r() * 600), r);
      const b = mutate(a, fraction, r);
      const truth = exactJaccard(a, b);
      const est = estimateJaccard(minhash(a.join(' '))!, minhash(b.join('\n'))!);
      err += Math.abs(est - truth);
      n++;
      assert.ok(Math.abs(est - truth) < 0.15, `fraction ${fraction}: estimate ${est} vs ${truth}`);
    }
  }
  assert.ok(err / n < 0.04, `mean error ${err / n}`);
});

test('MinHash on short texts (fewer 5-grams than bins): identical is 1, unrelated is near 0', () => {
  const r = rng(11);
  for (const len of [6, 12, 40, 100]) {
    const a = words(len, r);
    const b = words(len, r);
    assert.equal(estimateJaccard(minhash(a.join(' '))!, minhash(a.join('  '))!), 1);
    assert.ok(estimateJaccard(minhash(a.join(' '))!, minhash(b.join(' '))!) < 0.2, `unrelated texts of ${len} words`);
  }
  assert.equal(minhash('only four words here'), null, 'no 5-gram, no signature');
});

test('near-duplicate detection: above the threshold clusters, below it does not', () => {
  const r = rng(3);
  const a = words(800, r);
  const close = mutate(a, 0.01, r); // Jaccard about 0.9
  const far = mutate(a, 0.1, r); // Jaccard about 0.4
  assert.ok(exactJaccard(a, close) > 0.8 && exactJaccard(a, far) < 0.55);
  const items = [a, close, far, words(800, r)].map((w) => fingerprint(w.join(' ')));
  const dup = findDuplicates(items);
  assert.deepEqual([...dup.near], [1]);
  assert.equal(dup.exact.size, 0);
});

test('short texts are judged by their exact 5-gram Jaccard: 0.67 is kept apart, 0.8 clusters', () => {
  // Files like lodash's fp/*.js wrappers: a few 5-grams each, most of them shared.
  const wrap = (name: string): string => `var convert = require('./convert');\nmodule.exports = convert(require('../${name}'));\n`;
  const a = fingerprint(wrap('date'));
  const b = fingerprint(wrap('math'));
  assert.ok(a.shingles && b.shingles, 'short texts keep their 5-gram sets');
  const j = setJaccard(a.shingles, b.shingles);
  assert.ok(j > 0.5 && j < 0.7, `Jaccard ${j}`);
  assert.equal(findDuplicates([a, b]).near.size, 0);
  const long = words(60, rng(5));
  const c = fingerprint(long.join(' '));
  const d = fingerprint([...long.slice(0, 59), 'changed'].join(' '));
  assert.ok(setJaccard(c.shingles!, d.shingles!) >= 0.7);
  assert.deepEqual([...findDuplicates([c, d]).near], [1]);
  assert.equal(fingerprint(words(2000, rng(1)).join(' ')).shingles, undefined, 'long texts keep only the signature');
});

test('fingerprints are stable: pinned values (cached records keep them; a change must bump PROCESS_VERSION)', () => {
  const long = Array.from({ length: 60 }, (_, i) => `function f${i}(a, b) {\n  return a * ${i} + b; // é\n}\n`).join('\n');
  const short = 'const x = compute(a, b, c) + other_value;\r\n\tlet y = x;';
  const a = fingerprint(long);
  const b = fingerprint(short);
  assert.equal(a.normHash, '5a9e98ef1e5c9c8f');
  assert.deepEqual(Array.from(a.sig!.slice(0, 8)), [15867381, 5893982, 1020095, 2275144, 11848715, 10500911, 311090, 12837895]);
  assert.equal(a.shingles, undefined);
  assert.equal(b.normHash, 'e9517eb130a7ad38');
  assert.deepEqual(Array.from(b.shingles ?? []), [533030790, 1551303055, 1933485619, 2716144256, 3015874179, 4144332250]);
  // A text longer than any before it (the word buffer grows) and an empty one.
  assert.equal(fingerprint('x '.repeat(100_000)).normHash, fingerprint('x '.repeat(100_000)).normHash);
  assert.equal(fingerprint('').sig, null);
});
