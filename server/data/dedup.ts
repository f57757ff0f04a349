// Dedup: exact (hash of whitespace-normalised text) and near-duplicate (MinHash
// LSH over word 5-grams, Jaccard >= 0.7, the BigCode setting). One file of each
// cluster is kept: the first in path order, so results are deterministic.
import * as crypto from 'node:crypto';

export const NUM_PERM = 128;
export const BANDS = 16; // 16 bands x 8 rows: the S-curve's threshold (1/16)^(1/8) = 0.71
export const ROWS = NUM_PERM / BANDS;
export const SHINGLE = 5;
export const JACCARD_THRESHOLD = 0.7;

export function normalisedHash(text: string): string {
  return crypto.createHash('sha1').update(text.replace(/\s+/g, ' ').trim()).digest('hex');
}

// Fixed permutation parameters (odd multipliers), from a simple deterministic generator.
const PERM_A = new Uint32Array(NUM_PERM);
const PERM_B = new Uint32Array(NUM_PERM);
{
  let s = 0x9e3779b9;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  for (let i = 0; i < NUM_PERM; i++) {
    PERM_A[i] = next() | 1;
    PERM_B[i] = next();
  }
}

function fnv1a(s: string, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Hashes of the distinct word 5-grams of `text` (words: runs of [A-Za-z0-9_]). */
export function shingles(text: string): Uint32Array {
  const words: number[] = [];
  const re = /[A-Za-z0-9_]+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    words.push(fnv1a(text, m.index, m.index + m[0].length));
  }
  const set = new Set<number>();
  for (let i = 0; i + SHINGLE <= words.length; i++) {
    let h = 0x12345678;
    for (let j = 0; j < SHINGLE; j++) {
      h = Math.imul(h ^ words[i + j], 0x5bd1e995);
      h ^= h >>> 13;
    }
    set.add(h >>> 0);
  }
  return Uint32Array.from(set);
}

/** MinHash signature; null when the text has no 5-gram (too short to compare). */
export function minhash(text: string): Uint32Array | null {
  const sh = shingles(text);
  if (sh.length === 0) {
    return null;
  }
  const sig = new Uint32Array(NUM_PERM).fill(0xffffffff);
  for (let k = 0; k < sh.length; k++) {
    const x = sh[k];
    for (let i = 0; i < NUM_PERM; i++) {
      let h = Math.imul(x ^ PERM_B[i], PERM_A[i]);
      h ^= h >>> 15;
      h = Math.imul(h, 0x2c1b3c6d);
      h ^= h >>> 12;
      h >>>= 0;
      if (h < sig[i]) {
        sig[i] = h;
      }
    }
  }
  return sig;
}

export function estimateJaccard(a: Uint32Array, b: Uint32Array): number {
  let eq = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) {
      eq++;
    }
  }
  return eq / a.length;
}

export interface DedupItem {
  normHash?: string;
  sig?: Uint32Array | null;
}

/**
 * Which items to drop. Items are in keep-priority order (first kept).
 * Exact duplicates first, then near-duplicate clusters (connected components of LSH
 * candidate pairs whose estimated Jaccard is >= the threshold).
 */
export function findDuplicates(items: DedupItem[]): { exact: Set<number>; near: Set<number> } {
  const exact = new Set<number>();
  const firstByHash = new Map<string, number>();
  items.forEach((it, i) => {
    if (!it.normHash) {
      return;
    }
    if (firstByHash.has(it.normHash)) {
      exact.add(i);
    } else {
      firstByHash.set(it.normHash, i);
    }
  });
  const parent = items.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  const buckets = new Map<string, number[]>();
  items.forEach((it, i) => {
    if (!it.sig || exact.has(i)) {
      return;
    }
    for (let b = 0; b < BANDS; b++) {
      let h = b + 1;
      for (let r = 0; r < ROWS; r++) {
        h = Math.imul(h ^ it.sig[b * ROWS + r], 0x9e3779b1);
        h ^= h >>> 16;
      }
      const key = `${b}:${h >>> 0}`;
      const list = buckets.get(key);
      if (list) {
        list.push(i);
      } else {
        buckets.set(key, [i]);
      }
    }
  });
  for (const list of buckets.values()) {
    for (let k = 1; k < list.length; k++) {
      const i = list[0];
      const j = list[k];
      const a = items[i].sig;
      const b = items[j].sig;
      if (a && b && find(i) !== find(j) && estimateJaccard(a, b) >= JACCARD_THRESHOLD) {
        const ri = find(i);
        const rj = find(j);
        parent[Math.max(ri, rj)] = Math.min(ri, rj);
      }
    }
  }
  const near = new Set<number>();
  items.forEach((it, i) => {
    if (it.sig && !exact.has(i) && find(i) !== i) {
      near.add(i);
    }
  });
  return { exact, near };
}
