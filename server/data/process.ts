// One file's bytes -> a FileRecord: content filters, secret redaction, dedup
// fingerprints and extracted pairs. Pure given its inputs, so it is cached by blob.
import { type FileRecord, type FilterOptions, makeRecord, type SkipReason } from './types';
import { checkContent, decodeText } from './filters';
import { languageOf, pathHeader, type LanguageInfo } from './languages';
import { redactSecrets } from './secrets';
import { fingerprint } from './dedup';
import { isTestPath } from './doccomment';
import { hasGrammarSpec, treeSitterPairs } from './pairs';
import { commentBlocks, heuristicPairs } from './heuristic';
import { readTracked } from './collect';

/** Bump when processing changes, so old cache entries are not reused. */
export const PROCESS_VERSION = 9;

export async function processFile(p: string, bytes: Uint8Array, info: LanguageInfo | null, filters: FilterOptions): Promise<FileRecord> {
  const decoded = decodeText(bytes);
  if ('skip' in decoded) {
    return { skip: decoded.skip };
  }
  const text = decoded.text.includes('\r') ? decoded.text.replace(/\r\n?/g, '\n') : decoded.text;
  const lang = info ?? languageOf(p, text.slice(0, text.indexOf('\n') >>> 0));
  if (!lang) {
    return { skip: 'unknown_type' };
  }
  const skip = checkContent(text, lang, filters);
  if (skip) {
    return { skip };
  }
  // Redact first: everything below (fingerprints, pairs, the cache) sees only redacted text.
  const red = redactSecrets(text);
  const fp = fingerprint(red.text);
  const rec: FileRecord = { language: lang.language, text: red.text, secrets: red.counts, normHash: fp.normHash };
  if (fp.sig) {
    rec.sig = fp.sig;
  }
  if (fp.shingles) {
    rec.shingles = fp.shingles;
  }
  const header = pathHeader(p, lang);
  rec.comments = lang.kind === 'code' ? commentBlocks(red.text, lang.lineComment, header) : [];
  rec.parser = 'none';
  rec.pairs = [];
  if (lang.kind === 'code' && !isTestPath(p)) {
    // C/C++ headers are mostly declarations and macros (whose parses often hold errors,
    // so an elided parse would be checked, refused and parsed again): parse them whole.
    const elide = !/\.(h|hh|hpp|hxx)$/i.test(p);
    const viaTree = lang.grammar && hasGrammarSpec(lang.grammar) ? await treeSitterPairs(lang.grammar, red.text, header, { elide }) : null;
    if (viaTree) {
      rec.parser = 'tree-sitter';
      rec.pairs = viaTree;
    } else if (lang.lineComment === '//') {
      rec.parser = 'heuristic';
      rec.pairs = heuristicPairs(red.text, header);
    }
  }
  return rec;
}

/** One file to process: read from the work tree (clean files, by their index blob id) unless its bytes are given. */
export interface FileJob {
  path: string;
  blob: string;
  info: LanguageInfo | null;
  bytes?: Uint8Array;
}

/** A processed file (`rec.bytes` set), or the reason it could not be read (not cached). */
export type FileJobResult = { rec: FileRecord } | { readSkip: SkipReason };

/** Read (if needed) and process one file: what each worker thread runs, and the fallback in this thread. */
export async function processJob(root: string, job: FileJob, filters: FilterOptions): Promise<FileJobResult> {
  let bytes = job.bytes;
  if (!bytes) {
    const read = readTracked(root, job.path, filters.maxFileBytes, job.blob);
    if (!read.ok) {
      return { readSkip: read.reason };
    }
    bytes = read.bytes;
  }
  const rec = await processFile(job.path, bytes, job.info, filters);
  return { rec: makeRecord({ ...rec, bytes: bytes.byteLength }) };
}
