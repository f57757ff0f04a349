// Dedup: exact (hash of whitespace-normalised text) and near-duplicate (MinHash by
// one-permutation hashing, LSH over word 5-grams, Jaccard >= 0.7, the BigCode setting). One file of each
// cluster is kept: the first in path order, so results are deterministic.

export const NUM_PERM = 128;
export const BANDS = 16; // 16 bands x 8 rows: the S-curve's threshold (1/16)^(1/8) = 0.71
export const ROWS = NUM_PERM / BANDS;
export const SHINGLE = 5;
export const JACCARD_THRESHOLD = 0.7;

export interface Fingerprint {
  /** 64-bit hash (hex) of the text with whitespace runs collapsed: exact dedup. */
  normHash: string;
  /** MinHash over word 5-grams; null when the text has no 5-gram. */
  sig: Uint32Array | null;
  /**
   * A short text's distinct 5-gram hashes, sorted (fewer than NUM_PERM 5-grams: many
   * MinHash bins would be filled by densification, too coarse to judge); near pairs of
   * short texts are confirmed with their exact Jaccard instead.
   */
  shingles?: Uint32Array;
}

/**
 * One pass over the text: the word hashes (for MinHash) and the whitespace-normalised
 * hash. The normalised text is a sequence of words, other characters and single
 * spaces; it is hashed token by token (a word by its two word hashes), so word
 * characters cost one multiply each.
 */
/**
 * Character classes for the fingerprint scan, for every UTF-16 unit (so the loop needs
 * no range check): 1 word (A-Z a-z 0-9 _), 2 whitespace, 0 other (non-ASCII included).
 */
const CLASS = new Uint8Array(65536);
for (let c = 0; c < 128; c++) {
  CLASS[c] = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 ? 1 : c === 32 || (c >= 9 && c <= 13) ? 2 : 0;
}

/** The word hashes of the text being fingerprinted (grown as needed, reused). */
let WORDS = new Int32Array(1 << 14);

export function fingerprint(text: string): Fingerprint {
  const nWords = scanWords(text);
  const words = WORDS;
  const normHash = (NORM[0] >>> 0).toString(16).padStart(8, '0') + (NORM[1] >>> 0).toString(16).padStart(8, '0');
  const fp: Fingerprint = { normHash, sig: minhashOfWords(words, nWords) };
  const sh = fp.sig ? shortShingles(words, nWords) : null;
  if (sh) {
    fp.shingles = sh;
  }
  return fp;
}

/** scanWords' normalised-text hash (two 32-bit halves). */
const NORM = new Int32Array(2);

/**
 * The scan itself: the word hashes into WORDS (their count returned), the normalised
 * hash into NORM. A function of its own that ends with its loop: when the loop is
 * optimised mid-run (on-stack replacement, in a long file), code after it that had not
 * run yet had no type feedback, and in `fingerprint` that made the optimised code bail
 * out at the end of every later call (1,229 times in 10 lodash builds).
 */
function scanWords(text: string): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x1b873593;
  // At most one word per two characters, plus one.
  if (WORDS.length < (text.length >> 1) + 1) {
    WORDS = new Int32Array((text.length >> 1) + 1024);
  }
  const words = WORDS;
  let nWords = 0;
  let pendingSpace = false;
  let started = false;
  const n = text.length;
  let i = 0;
  while (i < n) {
    let c = text.charCodeAt(i);
    const k = CLASS[c];
    if (k === 1) {
      // A word: its characters in a loop of their own (one branch per character).
      if (pendingSpace) {
        h1 = Math.imul(h1 ^ 32, 0x01000193);
        h2 = Math.imul(h2 ^ 32, 0x5bd1e995);
        pendingSpace = false;
      }
      let w = Math.imul(0x811c9dc5 ^ c, 0x01000193);
      let w2 = c;
      for (i++; i < n; i++) {
        c = text.charCodeAt(i);
        if (CLASS[c] !== 1) {
          break;
        }
        w = Math.imul(w ^ c, 0x01000193);
        w2 = ((w2 << 5) - w2 + c) | 0;
      }
      words[nWords++] = w;
      h1 = Math.imul(h1 ^ w, 0x01000193) ^ 0x2f;
      h2 = Math.imul(h2 ^ w2, 0x5bd1e995);
      h2 ^= h2 >>> 15;
      started = true;
      continue;
    }
    i++;
    if (k === 2) {
      pendingSpace = started;
      continue;
    }
    if (pendingSpace) {
      h1 = Math.imul(h1 ^ 32, 0x01000193);
      h2 = Math.imul(h2 ^ 32, 0x5bd1e995);
      pendingSpace = false;
    }
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
    started = true;
  }
  NORM[0] = h1;
  NORM[1] = h2;
  return nWords;
}

/** The hash of the word 5-gram starting at word `i`. */
function shingleHash(words: Int32Array, i: number): number {
  let h = 0x12345678;
  for (let j = 0; j < SHINGLE; j++) {
    h = Math.imul(h ^ words[i + j], 0x5bd1e995);
    h ^= h >>> 13;
  }
  return h >>> 0;
}

/** Distinct 5-gram hashes, sorted, for a text of fewer than NUM_PERM 5-grams; else null. */
function shortShingles(words: Int32Array, nWords: number): Uint32Array | null {
  const n = nWords - SHINGLE + 1;
  if (n <= 0 || n >= NUM_PERM) {
    return null;
  }
  const all = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    all[i] = shingleHash(words, i);
  }
  all.sort();
  let u = 0;
  for (let i = 0; i < n; i++) {
    if (i === 0 || all[i] !== all[i - 1]) {
      all[u++] = all[i];
    }
  }
  return all.slice(0, u);
}

/** Exact Jaccard of two sorted sets. */
export function setJaccard(a: Uint32Array, b: Uint32Array): number {
  let i = 0;
  let j = 0;
  let inter = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      inter++;
      i++;
      j++;
    } else if (a[i] < b[j]) {
      i++;
    } else {
      j++;
    }
  }
  const union = a.length + b.length - inter;
  return union === 0 ? 1 : inter / union;
}

/** A 32-bit finaliser (murmur3's fmix32): spreads a shingle hash over all bits. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const EMPTY = 0xffffffff;

/**
 * MinHash by one-permutation hashing (Li, Owen & Zhang 2012): each word 5-gram is
 * hashed once, its top bits pick one of NUM_PERM bins and the rest is the value; a
 * bin keeps its minimum. Empty bins (short texts) are filled by rotation
 * densification (Shrivastava & Li 2014): the nearest non-empty bin to the right, plus
 * a constant per step, so two texts agree on a filled bin as often as on a real one.
 * The result estimates Jaccard like NUM_PERM independent permutations at 1/NUM_PERM
 * of the cost.
 */
function minhashOfWords(words: Int32Array, nWords: number): Uint32Array | null {
  const n = nWords - SHINGLE + 1;
  if (n <= 0) {
    return null;
  }
  const sig = new Uint32Array(NUM_PERM).fill(EMPTY);
  const shift = 32 - Math.log2(NUM_PERM);
  const valueMask = (1 << shift) - 1;
  for (let i = 0; i < n; i++) {
    const m = mix32(shingleHash(words, i));
    const bin = m >>> shift;
    const v = m & valueMask;
    if (v < sig[bin]) {
      sig[bin] = v;
    }
  }
  for (let bin = 0; bin < NUM_PERM; bin++) {
    if (sig[bin] !== EMPTY) {
      continue;
    }
    for (let step = 1; step < NUM_PERM; step++) {
      const from = sig[(bin + step) % NUM_PERM];
      // Only bins filled by a shingle count as sources (filled ones are >= 2^shift).
      if (from !== EMPTY && from <= valueMask) {
        sig[bin] = (from + step * (valueMask + 1)) >>> 0;
        break;
      }
    }
  }
  return sig;
}

/** MinHash signature of a text (see `fingerprint`). */
export function minhash(text: string): Uint32Array | null {
  return fingerprint(text).sig;
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

/** A signature's LSH band hashes, computed once per signature. */
const BAND_MEMO = new WeakMap<Uint32Array, Uint32Array>();

function bandHashes(sig: Uint32Array): Uint32Array {
  let out = BAND_MEMO.get(sig);
  if (!out) {
    out = new Uint32Array(BANDS);
    for (let b = 0; b < BANDS; b++) {
      let h = b + 1;
      for (let r = 0; r < ROWS; r++) {
        h = Math.imul(h ^ sig[b * ROWS + r], 0x9e3779b1);
        h ^= h >>> 16;
      }
      out[b] = h >>> 0;
    }
    BAND_MEMO.set(sig, out);
  }
  return out;
}

export interface DedupItem {
  normHash?: string;
  sig?: Uint32Array | null;
  shingles?: Uint32Array;
}

/** The Jaccard similarity used to confirm a candidate pair: exact for two short texts, else estimated. */
function similarity(a: DedupItem, b: DedupItem): number {
  return a.shingles && b.shingles ? setJaccard(a.shingles, b.shingles) : estimateJaccard(a.sig!, b.sig!);
}

/**
 * Which items to drop. Items are in keep-priority order (first kept).
 * Exact duplicates first, then near-duplicate clusters (connected components of LSH
 * candidate pairs whose estimated Jaccard is >= the threshold).
 */
export interface Duplicates {
  /** Items dropped as exact copies of an earlier item. */
  exact: Set<number>;
  /** Items dropped as near copies. */
  near: Set<number>;
  /** Every item of a cluster of two or more, kept or dropped. */
  clustered: Set<number>;
}

export function findDuplicates(items: DedupItem[]): Duplicates {
  const exact = new Set<number>();
  const clustered = new Set<number>();
  const firstByHash = new Map<string, number>();
  items.forEach((it, i) => {
    if (!it.normHash) {
      return;
    }
    const first = firstByHash.get(it.normHash);
    if (first !== undefined) {
      exact.add(i);
      clustered.add(i).add(first);
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
  const union = (i: number, j: number): void => {
    const ri = find(i);
    const rj = find(j);
    if (ri !== rj && similarity(items[i], items[j]) >= JACCARD_THRESHOLD) {
      parent[Math.max(ri, rj)] = Math.min(ri, rj);
    }
  };
  // Per band, an open-addressing table from band hash to the first and the last item
  // seen with it: every item of a bucket is compared with the bucket's first item and
  // with its predecessor (clusters are the connected components of confirmed pairs).
  const live: number[] = [];
  for (let i = 0; i < items.length; i++) {
    if (items[i].sig && !exact.has(i)) {
      live.push(i);
    }
  }
  const bands = live.map((i) => bandHashes(items[i].sig!));
  let size = 16;
  while (size < 2 * live.length) {
    size *= 2;
  }
  const mask = size - 1;
  const slotKey = new Uint32Array(size);
  const slotFirst = new Int32Array(size);
  const slotLast = new Int32Array(size);
  for (let b = 0; b < BANDS; b++) {
    slotFirst.fill(-1);
    for (let k = 0; k < live.length; k++) {
      const h = bands[k][b];
      let slot = Math.imul(h, 0x9e3779b1) >>> 0 & mask;
      while (slotFirst[slot] >= 0 && slotKey[slot] !== h) {
        slot = (slot + 1) & mask;
      }
      const item = live[k];
      if (slotFirst[slot] < 0) {
        slotKey[slot] = h;
        slotFirst[slot] = item;
      } else {
        union(slotFirst[slot], item);
        if (slotLast[slot] !== slotFirst[slot]) {
          union(slotLast[slot], item);
        }
      }
      slotLast[slot] = item;
    }
  }
  const near = new Set<number>();
  items.forEach((it, i) => {
    if (it.sig && !exact.has(i) && find(i) !== i) {
      near.add(i);
      clustered.add(i).add(find(i));
    }
  });
  return { exact, near, clustered };
}

/** Whether item `i` has an exact or a near copy among the others (the checks of findDuplicates, for one item). */
export function hasDuplicate(items: DedupItem[], i: number): boolean {
  const it = items[i];
  const bands = it.sig ? bandHashes(it.sig) : null;
  for (let j = 0; j < items.length; j++) {
    if (j === i) {
      continue;
    }
    const other = items[j];
    if (it.normHash && other.normHash === it.normHash) {
      return true;
    }
    if (bands && other.sig) {
      const ob = bandHashes(other.sig);
      for (let b = 0; b < BANDS; b++) {
        if (ob[b] === bands[b]) {
          if (similarity(it, other) >= JACCARD_THRESHOLD) {
            return true;
          }
          break;
        }
      }
    }
  }
  return false;
}
