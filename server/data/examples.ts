// FileRecords -> Examples: NL->code pairs, comment->block pairs, FIM samples and
// plain chunks, sampled by the mix ratios with a seeded, per-file random stream
// (so one file's examples never depend on another's: incremental == full).
import type { Example, FileRecord, MixRatios } from './types';
import { seededRandom as rng } from '../model/sampling';
import { languageOf, pathHeader } from './languages';

/**
 * A 32-bit hash of the parts joined by NUL: FNV-1a over UTF-16 code units with a
 * murmur3 finaliser (well mixed, and much cheaper than a digest for short strings).
 */
export function hash32(...parts: Array<string | number>): number {
  const s = parts.join('\0');
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Deterministic split by path: a file is in exactly one of train/val. */
export function splitOf(p: string, valFraction: number): 'train' | 'val' {
  return hash32('split', p) / 4294967296 < valFraction ? 'val' : 'train';
}

/** Recency weight: 1 for today's files, halving toward 0.5 every 180 days of age. */
export function recencyWeight(time: number | undefined, newest: number): number {
  if (time === undefined || newest <= 0) {
    return 1;
  }
  const ageDays = Math.max(0, newest - time) / 86400;
  return 0.5 + 0.5 * Math.pow(2, -ageDays / 180);
}

/** Split text into chunks of at most ~`max` characters at line boundaries. */
export function chunkLines(text: string, max: number): string[] {
  const out: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + max);
    if (end < text.length) {
      const nl = text.lastIndexOf('\n', end - 1);
      end = nl > start ? nl + 1 : end;
    }
    const piece = text.slice(start, end);
    if (/\S/.test(piece)) {
      out.push(piece);
    }
    start = end;
  }
  return out;
}

export interface FimStrings {
  prefix: string;
  suffix: string;
  middle: string;
}

export interface ExampleOptions {
  seed: number;
  mix: MixRatios;
  chunkChars: number;
  /** The model's FIM token strings; null: no FIM samples. */
  fim: FimStrings | null;
  split: 'train' | 'val';
  weight: number;
}

/** FIM sample from a line-aligned window of the file: two random character split points, PSM or SPM 50/50. */
function fimSample(text: string, r: () => number, maxChars: number, tok: FimStrings): Pick<Example, 'prompt' | 'completion' | 'fim'> | null {
  let doc = text;
  if (doc.length > maxChars) {
    const start = doc.lastIndexOf('\n', Math.floor(r() * (doc.length - maxChars))) + 1;
    doc = doc.slice(start, start + maxChars);
  }
  if (doc.length < 16) {
    return null;
  }
  let a = Math.floor(r() * (doc.length + 1));
  let b = Math.floor(r() * (doc.length + 1));
  if (a > b) {
    [a, b] = [b, a];
  }
  if (a === b) {
    b = Math.min(doc.length, a + 1);
    a = b - 1;
  }
  // Never split a UTF-16 surrogate pair.
  const fix = (i: number): number => (i > 0 && i < doc.length && /[\udc00-\udfff]/.test(doc[i]) ? i - 1 : i);
  a = fix(a);
  b = fix(b);
  const prefix = doc.slice(0, a);
  const middle = doc.slice(a, b);
  const suffix = doc.slice(b);
  if (middle.length === 0) {
    return null;
  }
  const mode = r() < 0.5 ? 'psm' : 'spm';
  const prompt = mode === 'psm' ? `${tok.prefix}${prefix}${tok.suffix}${suffix}${tok.middle}` : `${tok.prefix}${tok.suffix}${suffix}${tok.middle}${prefix}`;
  return { prompt, completion: middle, fim: { prefix, suffix, middle, mode } };
}

/** All examples of one kept file. */
export function fileExamples(p: string, blob: string, rec: FileRecord, o: ExampleOptions): Example[] {
  const r = rng(hash32(o.seed, blob, p));
  const language = rec.language ?? 'text';
  const out: Example[] = [];
  const make = (type: Example['type'], prompt: string, completion: string): Example => ({ type, path: p, language, prompt, completion, split: o.split, weight: o.weight });
  for (const pair of rec.pairs ?? []) {
    if (r() < o.mix.pair) {
      out.push(make('pair', pair.prompt, pair.completion));
    }
  }
  for (const c of rec.comments ?? []) {
    if (r() < o.mix.comment) {
      out.push(make('comment', c.prompt, c.completion));
    }
  }
  const text = rec.text ?? '';
  if (o.fim && r() < o.mix.fim) {
    const s = fimSample(text, r, Math.round(o.chunkChars * 1.5), o.fim);
    if (s) {
      const ex = make('fim', s.prompt, s.completion);
      ex.fim = s.fim;
      out.push(ex);
    }
  }
  const header = pathHeader(p, languageOf(p));
  for (const chunk of chunkLines(text, o.chunkChars)) {
    if (r() < o.mix.lm) {
      out.push(make('lm', header, chunk));
    }
  }
  return out;
}
