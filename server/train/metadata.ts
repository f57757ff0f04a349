// codetune.json: what an adapter is, where it came from and how good it is. Written into
// the adapter folder next to the PEFT files.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { simpleGit } from 'simple-git';
import type { DatasetStats } from '../data/index';
import type { BackendReport, EvalMetrics } from '../protocol';

export interface RepoInfo {
  path: string;
  remote: string | null;
  commit: string;
}

export async function repoInfo(root: string, commit: string): Promise<RepoInfo> {
  let remote: string | null = null;
  try {
    const remotes = await simpleGit({ baseDir: root }).getRemotes(true);
    const r = remotes.find((x) => x.name === 'origin') ?? remotes[0];
    remote = r ? r.refs.fetch || r.refs.push || null : null;
  } catch {
    remote = null;
  }
  return { path: root, remote, commit };
}

/** sha256 over config.json and the safetensors files (names sorted), streamed in 4 MB blocks. */
export function modelHash(dir: string): string {
  const h = crypto.createHash('sha256');
  const files = fs.readdirSync(dir).filter((f) => f === 'config.json' || f.endsWith('.safetensors') || f === 'model.safetensors.index.json').sort();
  const buf = Buffer.alloc(4 << 20);
  for (const f of files) {
    h.update(`${f}\0`);
    const fd = fs.openSync(path.join(dir, f), 'r');
    try {
      let n: number;
      while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) {
        h.update(buf.subarray(0, n));
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  return `sha256:${h.digest('hex')}`;
}

export interface CodetuneMeta {
  format: 'codetune-adapter';
  version: 1;
  kind: 'lora' | 'full';
  createdAt: string;
  repo: RepoInfo;
  baseModel: { path: string; hash: string };
  dataset: Pick<DatasetStats, 'files' | 'examples' | 'tokens' | 'split' | 'duplicates'> & { seed: number };
  hyperparameters: Record<string, unknown>;
  backend: BackendReport;
  durationSec: number;
  steps: number;
  trainableParameters: number;
  stoppedEarly: boolean;
  bestStep: number | null;
  metrics: { base: EvalMetrics | null; adapter: EvalMetrics | null; bestValLoss: number | null; finalTrainLoss: number | null };
}

export function datasetSummary(s: DatasetStats): CodetuneMeta['dataset'] {
  return { files: s.files, examples: s.examples, tokens: s.tokens, split: s.split, duplicates: s.duplicates, seed: s.seed };
}

/** JSON with NaN written as null (an empty split has no loss). */
export function metaJson(meta: CodetuneMeta): string {
  return JSON.stringify(meta, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}
