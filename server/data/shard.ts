// A compact binary container for many records (or token arrays): the cache's shard
// files, and the batches of records the worker threads send back. It holds a small JSON
// header (per entry: its small fields and where its strings and numbers are) and two
// blocks: every string (texts, prompts) as one latin-1 or UTF-16 block, decoded with one
// call and sliced, and every 32-bit array (MinHash signatures, shingles, token ids) as
// one block that typed arrays view. Reading a record costs a few slices, not a JSON
// parse of its text or a structured clone of its objects.
import type { FileJobResult } from './process';
import { type FileRecord, makeRecord, type RawPair, type SkipReason } from './types';

/** Bump when the layout or a codec changes (the cache then starts empty). */
export const FORMAT = 7;
/** "CTCS" (Codetune container, shard) as a little-endian u32: the first bytes of every file. */
const MAGIC = 0x53435443;
/** Magic, header bytes, string encoding (0 latin-1, 1 UTF-16LE), string bytes, 32-bit words. */
const PREAMBLE = 20;

/** Collects a shard's strings and 32-bit arrays; an entry refers to each by [offset, length]. */
export class ShardWriter {
  private readonly strs: string[] = [];
  private chars = 0;
  private wide = false;
  private readonly arrays: Array<Uint32Array | Int32Array> = [];
  private words = 0;

  /** Add a string; its offset in the string block (its length is its own). */
  strAt(s: string): number {
    const at = this.chars;
    this.strs.push(s);
    this.chars += s.length;
    // Latin-1 holds the block unless some string has a character above U+00FF.
    this.wide ||= WIDE.test(s);
    return at;
  }

  str(s: string): [number, number] {
    return [this.strAt(s), s.length];
  }

  u32(a: Uint32Array | Int32Array): [number, number] {
    const at = this.words;
    this.arrays.push(a);
    this.words += a.length;
    return [at, a.length];
  }

  /** The file: preamble, header JSON, padding to 4 bytes, the words, the strings (written straight into it). */
  finish(header: object): Buffer {
    const head = Buffer.from(JSON.stringify(header), 'utf8');
    const pad = (4 - ((PREAMBLE + head.length) % 4)) % 4;
    const stringBytes = this.chars * (this.wide ? 2 : 1);
    const out = Buffer.allocUnsafe(PREAMBLE + head.length + pad + this.words * 4 + stringBytes);
    out.writeUInt32LE(MAGIC, 0);
    out.writeUInt32LE(head.length, 4);
    out.writeUInt32LE(this.wide ? 1 : 0, 8);
    out.writeUInt32LE(stringBytes, 12);
    out.writeUInt32LE(this.words, 16);
    head.copy(out, PREAMBLE);
    out.fill(0, PREAMBLE + head.length, PREAMBLE + head.length + pad);
    let at = PREAMBLE + head.length + pad;
    for (const a of this.arrays) {
      out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
      at += a.byteLength;
    }
    const enc = this.wide ? 'utf16le' : 'latin1';
    for (const s of this.strs) {
      at += out.write(s, at, enc);
    }
    return out;
  }
}

const WIDE = /[^\x00-\xff]/;

/** A shard file, read: its header and bounds-checked access to its blocks (a bad reference throws). */
export class ShardReader {
  readonly header: Record<string, unknown>;
  private readonly strings: string;
  private readonly words: ArrayBuffer;

  constructor(buf: Buffer) {
    if (buf.length < PREAMBLE || buf.readUInt32LE(0) !== MAGIC) {
      throw new Error('not a shard file');
    }
    const headBytes = buf.readUInt32LE(4);
    const wide = buf.readUInt32LE(8);
    const stringBytes = buf.readUInt32LE(12);
    const nWords = buf.readUInt32LE(16);
    const pad = (4 - ((PREAMBLE + headBytes) % 4)) % 4;
    const wordsAt = PREAMBLE + headBytes + pad;
    if (wide > 1 || wordsAt + nWords * 4 + stringBytes !== buf.length || (wide === 1 && stringBytes % 2 !== 0)) {
      throw new Error('truncated shard file');
    }
    this.header = JSON.parse(buf.toString('utf8', PREAMBLE, PREAMBLE + headBytes)) as Record<string, unknown>;
    // One copy of the words into an aligned buffer, which every array of the shard views.
    this.words = new ArrayBuffer(nWords * 4);
    new Uint8Array(this.words).set(buf.subarray(wordsAt, wordsAt + nWords * 4));
    const s0 = wordsAt + nWords * 4;
    this.strings = buf.toString(wide === 1 ? 'utf16le' : 'latin1', s0, s0 + stringBytes);
  }

  str(ref: unknown): string {
    const [at, n] = this.ref(ref, this.strings.length);
    return this.strings.slice(at, at + n);
  }

  /** A string by offset and length (checked). */
  strAt(at: number, n: number): string {
    if (at + n > this.strings.length) {
      throw new Error('bad reference in a shard file');
    }
    return this.strings.slice(at, at + n);
  }

  u32(ref: unknown): Uint32Array {
    const [at, n] = this.ref(ref, this.words.byteLength / 4);
    return new Uint32Array(this.words, at * 4, n);
  }

  i32(ref: unknown): Int32Array {
    const [at, n] = this.ref(ref, this.words.byteLength / 4);
    return new Int32Array(this.words, at * 4, n);
  }

  private ref(ref: unknown, size: number): [number, number] {
    const r = ref as [number, number];
    if (!Array.isArray(r) || !Number.isInteger(r[0]) || !Number.isInteger(r[1]) || r[0] < 0 || r[1] < 0 || r[0] + r[1] > size) {
      throw new Error('bad reference in a shard file');
    }
    return r;
  }
}

/** How a kind of entry is written to and read from a shard. */
export interface Codec<V> {
  write(v: V, w: ShardWriter): unknown;
  read(meta: unknown, r: ShardReader): V;
}

/** Words per pair: name, prompt (each offset and length in the string block), kind, completion. */
const PAIR_WORDS = 7;

/**
 * Pairs as one run of 32-bit words, PAIR_WORDS each: the name's and the prompt's
 * strings, then the completion as either a slice of the record's text (kind 0, start,
 * length) or a string of the shard (kind 1, offset, length). The extractors say where a
 * completion may be a slice (`at`); that is checked here. (Searching the text for each
 * completion instead cost a scan to the end of the file for every completion that is
 * not a slice: indented bodies are dedented.)
 */
function writePairs(pairs: RawPair[] | undefined, text: string, w: ShardWriter): [number, number] | undefined {
  if (!pairs) {
    return undefined;
  }
  const words = new Uint32Array(PAIR_WORDS * pairs.length);
  let k = 0;
  for (const p of pairs) {
    const inText = p.at !== undefined && text.startsWith(p.completion, p.at);
    words[k] = w.strAt(p.name);
    words[k + 1] = p.name.length;
    words[k + 2] = w.strAt(p.prompt);
    words[k + 3] = p.prompt.length;
    words[k + 4] = inText ? 0 : 1;
    words[k + 5] = inText ? p.at! : w.strAt(p.completion);
    words[k + 6] = p.completion.length;
    k += PAIR_WORDS;
  }
  return w.u32(words);
}

function readPairs(ref: unknown, text: string, r: ShardReader): RawPair[] | undefined {
  if (ref === undefined) {
    return undefined;
  }
  const words = r.u32(ref);
  if (words.length % PAIR_WORDS !== 0) {
    throw new Error('bad pairs in a shard file');
  }
  const out: RawPair[] = [];
  for (let k = 0; k < words.length; k += PAIR_WORDS) {
    const inText = words[k + 4] === 0;
    const a = words[k + 5];
    const n = words[k + 6];
    if (inText && a + n > text.length) {
      throw new Error('bad pair in a shard file');
    }
    out.push({ name: r.strAt(words[k], words[k + 1]), prompt: r.strAt(words[k + 2], words[k + 3]), completion: inText ? text.slice(a, a + n) : r.strAt(a, n), at: inText ? a : undefined });
  }
  return out;
}

export const RECORDS: Codec<FileRecord> = {
  write(v, w) {
    const text = v.text ?? '';
    return {
      s: v.skip,
      b: v.bytes,
      l: v.language,
      x: v.secrets,
      h: v.normHash,
      p: v.parser,
      t: v.text !== undefined ? w.str(v.text) : undefined,
      g: v.sig ? w.u32(v.sig) : undefined,
      k: v.shingles ? w.u32(v.shingles) : undefined,
      P: writePairs(v.pairs, text, w),
      C: writePairs(v.comments, text, w),
    };
  },
  read(meta, r) {
    const m = meta as Record<string, unknown>;
    const text = m.t !== undefined ? r.str(m.t) : undefined;
    return makeRecord({
      skip: m.s as FileRecord['skip'],
      bytes: m.b as number | undefined,
      language: m.l as string | undefined,
      secrets: m.x as Record<string, number> | undefined,
      text,
      normHash: m.h as string | undefined,
      sig: m.g !== undefined ? r.u32(m.g) : undefined,
      shingles: m.k !== undefined ? r.u32(m.k) : undefined,
      pairs: readPairs(m.P, text ?? '', r),
      comments: readPairs(m.C, text ?? '', r),
      parser: m.p as FileRecord['parser'],
    });
  },
};

export const TOKENS: Codec<Int32Array> = {
  write: (v, w) => w.u32(v),
  read: (meta, r) => r.i32(meta),
};


/**
 * A batch of processed files as one buffer: what a worker thread sends back, moved to
 * the main thread rather than cloned (structured cloning tens of thousands of small
 * pair objects cost as much as a tenth of a build).
 */
export function encodeResults(results: FileJobResult[]): Buffer {
  const w = new ShardWriter();
  const entries = results.map((r) => ('rec' in r ? { r: RECORDS.write(r.rec, w) } : { s: r.readSkip }));
  return w.finish({ format: FORMAT, key: 'results', entries });
}

export function decodeResults(buf: Uint8Array): FileJobResult[] {
  const r = new ShardReader(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
  const entries = r.header.entries as Array<{ r?: unknown; s?: SkipReason }>;
  return entries.map((e) => (e.s !== undefined ? { readSkip: e.s } : { rec: RECORDS.read(e.r, r) }));
}
