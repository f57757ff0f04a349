// Tokenize and pack: examples -> ids with a loss mask (completion only for pairs,
// the middle only for FIM, every token for chunks), EOS after each example, packed
// into fixed-length sequences. Token ids are cached by content hash, so a file that
// did not change is never tokenized again.
import * as crypto from 'node:crypto';
import type { CodeTokenizer } from '../model/tokenizer';
import type { Example, PackedSequence } from './types';
import type { TokenMap } from './cache';
import { seededRandom as rng } from '../model/sampling';

export class TokenCache {
  hits = 0;
  misses = 0;

  constructor(
    private readonly tok: CodeTokenizer,
    readonly map: TokenMap = new Map<string, Int32Array>(),
  ) {}

  /** Keys already computed in this run (the pre-pass and `encode` ask for the same texts). */
  private readonly keys = new Map<string, string>();

  /** The cache key of a text: its sha1. */
  keyOf(text: string): string {
    let key = this.keys.get(text);
    if (key === undefined) {
      key = crypto.createHash('sha1').update(text).digest('base64');
      this.keys.set(text, key);
    }
    return key;
  }

  /** Whether a text's ids are known (without counting a hit or a miss). */
  has(key: string): boolean {
    return this.map.get(key) !== undefined;
  }

  /** Ids encoded elsewhere (a worker thread), counted as this run's misses. */
  put(key: string, ids: Int32Array): void {
    this.map.set(key, ids);
    this.prefilled++;
  }

  /** Entries `put` here: each is looked up once more by `encode`, which counts it as a hit. */
  private prefilled = 0;

  /** Hits and misses as if every text had gone through `encode` in this thread. */
  counts(): { hits: number; misses: number } {
    return { hits: this.hits - this.prefilled, misses: this.misses + this.prefilled };
  }

  encode(text: string): Int32Array {
    if (text.length === 0) {
      return new Int32Array(0);
    }
    const key = this.keyOf(text);
    const hit = this.map.get(key);
    if (hit) {
      this.hits++;
      return hit;
    }
    this.misses++;
    const ids = Int32Array.from(this.tok.encode(text, { addBos: false }));
    this.map.set(key, ids);
    return ids;
  }
}

/** Identifies a tokenizer, so cached ids are only reused with the same one. */
export function tokenizerFingerprint(tok: CodeTokenizer): string {
  const probe = 'def f(x):\n    return x  # ünïcødé\n\tconst y = `${a}` <|endoftext|>';
  return crypto.createHash('sha1').update(JSON.stringify([tok.vocabSize, tok.eosIds, tok.fim, tok.encode(probe, { addBos: false })])).digest('hex').slice(0, 16);
}

export interface TokenizedExample {
  ids: Int32Array;
  mask: Uint8Array;
  /** Plain chunks may be cut across sequences; structured examples are kept whole. */
  splittable: boolean;
}

function concat(parts: Array<{ ids: ArrayLike<number>; loss: 0 | 1 }>): { ids: Int32Array; mask: Uint8Array } {
  const n = parts.reduce((s, p) => s + p.ids.length, 0);
  const ids = new Int32Array(n);
  const mask = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    ids.set(p.ids, o);
    mask.fill(p.loss, o, o + p.ids.length);
    o += p.ids.length;
  }
  return { ids, mask };
}

/** The texts `tokenizeExample` encodes for an example. */
export function textsToEncode(ex: Example, tok: CodeTokenizer): string[] {
  return ex.type === 'fim' && ex.fim && tok.fim ? [ex.fim.prefix, ex.fim.suffix, ex.fim.middle] : [ex.prompt, ex.completion];
}

export function tokenizeExample(ex: Example, tok: CodeTokenizer, cache: TokenCache): TokenizedExample {
  const eos = tok.eosIds[0] ?? 0;
  if (ex.type === 'fim' && ex.fim && tok.fim) {
    const prompt = tok.fimPrompt(Array.from(cache.encode(ex.fim.prefix)), Array.from(cache.encode(ex.fim.suffix)), ex.fim.mode);
    const { ids, mask } = concat([
      { ids: prompt, loss: 0 },
      { ids: cache.encode(ex.fim.middle), loss: 1 },
      { ids: [tok.fim.end ?? eos], loss: 1 },
    ]);
    return { ids, mask, splittable: false };
  }
  const lossOnPrompt = ex.type === 'lm' ? 1 : 0;
  const { ids, mask } = concat([
    { ids: cache.encode(ex.prompt), loss: lossOnPrompt },
    { ids: cache.encode(ex.completion), loss: 1 },
    { ids: [eos], loss: 1 },
  ]);
  return { ids, mask, splittable: ex.type === 'lm' };
}

export interface PackResult {
  sequences: PackedSequence[];
  tokens: number;
  truncated: number;
}

/**
 * Pack in a seeded shuffled order. A structured example that does not fit in the
 * rest of the current sequence starts a new one (the rest is padding, mask 0); one
 * longer than `seqLen` is truncated. Chunks fill sequences exactly.
 */
export function pack(items: TokenizedExample[], seqLen: number, padId: number, seed: number): PackResult {
  const order = items.map((_, i) => i);
  const r = rng(seed ^ 0x5eed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const sequences: PackedSequence[] = [];
  let ids = new Int32Array(seqLen).fill(padId);
  let mask = new Uint8Array(seqLen);
  let fill = 0;
  let tokens = 0;
  let truncated = 0;
  const flush = (): void => {
    if (fill > 0) {
      sequences.push({ ids, lossMask: mask });
      ids = new Int32Array(seqLen).fill(padId);
      mask = new Uint8Array(seqLen);
      fill = 0;
    }
  };
  for (const k of order) {
    let { ids: xi, mask: xm } = items[k];
    if (!items[k].splittable) {
      if (xi.length > seqLen) {
        truncated++;
        xi = xi.subarray(0, seqLen);
        xm = xm.subarray(0, seqLen);
      }
      if (xi.length > seqLen - fill) {
        flush();
      }
    }
    let off = 0;
    while (off < xi.length) {
      const take = Math.min(seqLen - fill, xi.length - off);
      ids.set(xi.subarray(off, off + take), fill);
      mask.set(xm.subarray(off, off + take), fill);
      fill += take;
      off += take;
      tokens += take;
      if (fill === seqLen) {
        flush();
      }
    }
  }
  flush();
  return { sequences, tokens, truncated };
}
