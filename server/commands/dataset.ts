// `codetune dataset`: build the training data of a repo headless, write the JSONL
// (and stats), print a summary (or the stats as JSON with --json).
import * as path from 'node:path';
import { CodeTokenizer } from '../model/tokenizer';
import { buildDataset, cacheSaveWarning, writeJsonl, writeStats } from '../data/index';
import type { DatasetStats } from '../data/types';
import { parseFlags, parseNumber, printJson, required, type Command } from './args';

const usage =
  'codetune dataset --repo PATH [--model DIR] --out FILE.jsonl [--stats FILE.json] [--include GLOB]... [--exclude GLOB]... [--seed N] [--val-fraction F] [--seq-len N] [--cache-dir DIR | --no-cache] [--workers N] [--json]';

function summary(s: DatasetStats, out: string): string {
  const skipped = Object.entries(s.files.skipped)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const secrets = Object.entries(s.secrets)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    `repo ${s.repo} @ ${s.commit.slice(0, 12)}`,
    `files: ${s.files.seen} seen, ${s.files.kept} kept${skipped ? `; skipped: ${skipped}` : ''}`,
    `duplicates removed: ${s.duplicates.exact} exact, ${s.duplicates.near} near`,
    `secrets redacted: ${secrets || 'none'}`,
    `examples: ${s.examples.total} (pair ${s.examples.byType.pair}, comment ${s.examples.byType.comment}, fim ${s.examples.byType.fim}, lm ${s.examples.byType.lm}); train ${s.examples.train}, val ${s.examples.val}`,
    s.tokens ? `tokens: train ${s.tokens.train}, val ${s.tokens.val} in ${s.tokens.trainSequences}+${s.tokens.valSequences} sequences of ${s.tokens.seqLen}` : 'tokens: not counted (pass --model for token counts, FIM and packing)',
    `wrote ${out} in ${(s.timings.total / 1000).toFixed(2)} s`,
    ...[cacheSaveWarning(s.cache.saveError)].filter((w) => w !== null),
  ].join('\n');
}

export const dataset: Command = {
  usage,
  summary: 'Turn a git repository into clean, deduplicated, secret-free training examples (JSONL) and stats.',
  async run(argv) {
    const f = parseFlags(
      argv,
      {
        repo: { type: 'string' },
        model: { type: 'string' },
        out: { type: 'string' },
        stats: { type: 'string' },
        include: { type: 'string', multiple: true },
        exclude: { type: 'string', multiple: true },
        seed: { type: 'string' },
        'val-fraction': { type: 'string' },
        'seq-len': { type: 'string' },
        'cache-dir': { type: 'string' },
        'no-cache': { type: 'boolean' },
        workers: { type: 'string' },
        json: { type: 'boolean' },
      },
      usage,
    );
    const repo = required(f.repo, 'repo', usage);
    const out = required(f.out, 'out', usage);
    const seed = parseNumber(f.seed, 'seed', usage, { integer: true, min: 0, fallback: 0 });
    const valFraction = parseNumber(f['val-fraction'], 'val-fraction', usage, { min: 0, max: 1, fallback: 0.1 });
    const seqLen = parseNumber(f['seq-len'], 'seq-len', usage, { integer: true, min: 16, fallback: 1024 });
    const workers = f.workers === undefined ? undefined : parseNumber(f.workers, 'workers', usage, { integer: true, min: 0, max: 64 });
    const tokenizer = f.model ? CodeTokenizer.fromDir(f.model) : undefined;
    const ds = await buildDataset({
      repo,
      tokenizer,
      include: f.include,
      exclude: f.exclude,
      seed,
      valFraction,
      seqLen,
      workers,
      cacheDir: f['no-cache'] ? null : f['cache-dir'] ? path.resolve(f['cache-dir']) : undefined,
    });
    writeJsonl(out, ds.examples);
    if (f.stats) {
      writeStats(f.stats, ds.stats);
    }
    if (f.json) {
      printJson(ds.stats);
    } else {
      process.stdout.write(summary(ds.stats, out) + '\n');
    }
  },
};
