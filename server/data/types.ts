// Shared types of the data pipeline: options, per-file records, examples, stats.
import type { CodeTokenizer } from '../model/tokenizer';

export type ExampleType = 'pair' | 'comment' | 'fim' | 'lm';
export const EXAMPLE_TYPES: ExampleType[] = ['pair', 'comment', 'fim', 'lm'];

/** Why a file was left out. Every skip is counted under one reason. */
export type SkipReason =
  | 'submodule'
  | 'symlink'
  | 'outside_repo'
  | 'deleted'
  | 'unreadable'
  | 'not_included'
  | 'excluded'
  | 'vendored'
  | 'lockfile'
  | 'env_file'
  | 'key_file'
  | 'unknown_type'
  | 'binary'
  | 'invalid_utf8'
  | 'too_large'
  | 'empty'
  | 'minified'
  | 'generated'
  | 'data_file'
  | 'long_lines'
  | 'mean_line_length'
  | 'low_alphanumeric';

/** How many of the candidate examples of each type are kept (0..1); FIM: the chance that a file yields a FIM sample. */
export interface MixRatios {
  pair: number;
  comment: number;
  fim: number;
  lm: number;
}

export const DEFAULT_MIX: MixRatios = { pair: 1, comment: 0.5, fim: 0.5, lm: 1 };

/** Thresholds of the content filters (BigCode/StarCoder-style defaults). */
export interface FilterOptions {
  maxFileBytes: number;
  maxLineLength: number;
  maxMeanLineLength: number;
  minAlphanumericFraction: number;
  /** JSON/CSV/YAML/... files over this size are data, not code. */
  maxDataFileBytes: number;
}

export const DEFAULT_FILTERS: FilterOptions = {
  maxFileBytes: 1_000_000,
  maxLineLength: 1000,
  maxMeanLineLength: 100,
  minAlphanumericFraction: 0.25,
  maxDataFileBytes: 32_000,
};

export interface ProgressEvent {
  phase: 'collect' | 'process' | 'tokenize';
  done: number;
  total: number;
}

export interface DatasetOptions {
  /** A folder inside a git work tree (the repo root or any subfolder). */
  repo: string;
  /** The model's tokenizer: needed for FIM samples, token counts and packing. */
  tokenizer?: CodeTokenizer;
  /** Globs (relative to the repo root); when given, only matching files are used. */
  include?: string[];
  /** Globs (relative to the repo root) of files to leave out. */
  exclude?: string[];
  seed?: number;
  /** Fraction of files (by path hash) held out for validation; default 0.1. */
  valFraction?: number;
  mix?: Partial<MixRatios>;
  filters?: Partial<FilterOptions>;
  /** Length of packed sequences in tokens; default 1024. */
  seqLen?: number;
  /** Characters per plain-file chunk; default 4000. */
  chunkChars?: number;
  /** Where per-blob results are cached between runs; null disables the disk cache. */
  cacheDir?: string | null;
  onProgress?: (e: ProgressEvent) => void;
  /** Worker threads for processing files; default: one per CPU (up to 8), used from 256 files to process; 0: none. */
  workers?: number;
  /** Keep the worker threads for the next build (default true: the process's shared pool; idle workers never hold the process open). */
  keepWorkers?: boolean;
  /**
   * 'wait' (default): the build returns once the cache is on disk, and `stats.cache.saveError`
   * says whether it got there. 'background': the shards are written while the caller goes on
   * (a training job); `cacheSaved(dataset)` tells how that ended.
   */
  cacheWrite?: 'wait' | 'background';
}

/** One training example. `prompt`/`completion` are what the JSONL export writes. */
export interface Example {
  type: ExampleType;
  path: string;
  language: string;
  prompt: string;
  completion: string;
  split: 'train' | 'val';
  /** Recency weight in (0, 1]: files changed recently count more. */
  weight: number;
  /** FIM parts, so that FIM tokens are inserted as single special ids. */
  fim?: { prefix: string; suffix: string; middle: string; mode: 'psm' | 'spm' };
}

/** A fixed-length training sequence; lossMask[i] = 1 where the loss counts. */
export interface PackedSequence {
  ids: Int32Array;
  lossMask: Uint8Array;
}

/** A pair found in a file, before it becomes an Example. */
export interface RawPair {
  prompt: string;
  completion: string;
  name: string;
  /** Where the completion may start in the file's text, when it may be a slice of it (the shard writer checks; see shard.ts). */
  at?: number;
}

/** What the pipeline learned about one blob at one path; cached by blob id + path. */
/**
 * A record with every field present, in one order: records made by workers, by this
 * thread and read from the cache then share one object shape, which keeps the loops
 * over tens of thousands of them fast. Absent fields are `undefined` (JSON drops them).
 */
export function makeRecord(r: FileRecord): FileRecord {
  return {
    skip: r.skip,
    bytes: r.bytes,
    language: r.language,
    secrets: r.secrets,
    text: r.text,
    normHash: r.normHash,
    sig: r.sig,
    shingles: r.shingles,
    pairs: r.pairs,
    comments: r.comments,
    parser: r.parser,
  };
}

export interface FileRecord {
  skip?: SkipReason;
  /** Size of the file in bytes. */
  bytes?: number;
  language?: string;
  /** Secret counts by kind (kinds only, never values). */
  secrets?: Record<string, number>;
  /** Redacted text with LF line ends. */
  text?: string;
  /** Hash of the whitespace-normalised text (exact dedup). */
  normHash?: string;
  /** MinHash signature over token 5-grams (near dedup). */
  sig?: Uint32Array;
  /** A short text's distinct 5-gram hashes (exact Jaccard for near dedup). */
  shingles?: Uint32Array;
  pairs?: RawPair[];
  comments?: RawPair[];
  /** 'tree-sitter' | 'heuristic' | 'none': how pairs were found. */
  parser?: 'tree-sitter' | 'heuristic' | 'none';
}

export interface DatasetStats {
  repo: string;
  commit: string;
  seed: number;
  files: { tracked: number; seen: number; kept: number; skipped: Record<string, number> };
  bytes: { seen: number; kept: number };
  submodules: number;
  secrets: Record<string, number>;
  duplicates: { exact: number; near: number };
  examples: { total: number; byType: Record<ExampleType, number>; byLanguage: Record<string, number>; train: number; val: number };
  split: { trainFiles: number; valFiles: number; valFraction: number };
  parsers: Record<string, 'tree-sitter' | 'heuristic' | 'none'>;
  fim: { enabled: boolean; reason?: string; style?: string };
  tokens: { train: number; val: number; trainSequences: number; valSequences: number; seqLen: number; truncated: number } | null;
  /**
   * Cache use. `reused`: files whose path checks and records came straight from the
   * last build in this process (same folder, settings and index; see docs/DATA.md).
   * `tokenizedInWorkers`: of the token misses, the texts worker threads encoded.
   * `saveError`: why the cache could not be written (the build itself succeeded); always
   * null when `background` (the save was still under way: see `cacheSaved`).
   * `patched`: the kept files, duplicates and examples were the last build's, with the
   * changed files' entries replaced (see server/data/tail.ts).
   */
  cache: { hits: number; misses: number; tokenHits: number; tokenMisses: number; tokenizedInWorkers: number; fromMemory: boolean; reused: number; patched: boolean; saveError: { code: string; message: string } | null; background: boolean };
  timings: Record<string, number>;
  /** Worker threads used for processing files (0: the calling thread). */
  workers: number;
}

export interface Dataset {
  examples: Example[];
  train: PackedSequence[];
  val: PackedSequence[];
  /** Validation NL->code pairs, kept for evaluation. */
  valPairs: Example[];
  stats: DatasetStats;
}
