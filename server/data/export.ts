// Export: JSONL (one prompt/completion example per line, the form TRL and other
// trainers read) and the stats JSON. Files are written atomically.
import { writeFileAtomic } from '../util/atomic';
import type { DatasetStats, Example } from './types';

export function toJsonlLine(ex: Example): string {
  return JSON.stringify({ type: ex.type, path: ex.path, language: ex.language, prompt: ex.prompt, completion: ex.completion });
}

export function writeJsonl(file: string, examples: Example[]): void {
  const chunks: Buffer[] = [];
  let batch: string[] = [];
  for (const ex of examples) {
    batch.push(toJsonlLine(ex), '\n');
    if (batch.length >= 2000) {
      chunks.push(Buffer.from(batch.join(''), 'utf8'));
      batch = [];
    }
  }
  chunks.push(Buffer.from(batch.join(''), 'utf8'));
  writeFileAtomic(file, Buffer.concat(chunks));
}

export function writeStats(file: string, stats: DatasetStats): void {
  writeFileAtomic(file, JSON.stringify(stats, null, 2) + '\n');
}
