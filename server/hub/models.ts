// The models in the Hugging Face cache: id, revision, size, architecture, and
// whether Codetune can load them (`codetune models`).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isCodetuneError } from '../errors';
import { parseModelConfig } from '../model/config';
import { COMMIT, repoFromFolderName, snapshotComplete, weightFiles } from './cache';

export interface CachedModel {
  id: string;
  commit: string;
  /** Branches and tags in refs/ that point at this commit. */
  refs: string[];
  path: string;
  /** Bytes of the files in this snapshot. */
  sizeBytes: number;
  /** `architectures[0]` from config.json, else its model_type; null without a config. */
  architecture: string | null;
  modelType: string | null;
  supported: boolean;
  /** Why it is not supported, when it is not. */
  reason?: string;
}

function readRefs(repoDir: string): Map<string, string[]> {
  const byCommit = new Map<string, string[]>();
  const walk = (dir: string, prefix: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const name = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) {
        walk(path.join(dir, e.name), name);
      } else {
        const commit = fs.readFileSync(path.join(dir, e.name), 'utf8').trim();
        byCommit.set(commit, [...(byCommit.get(commit) ?? []), name]);
      }
    }
  };
  walk(path.join(repoDir, 'refs'), '');
  return byCommit;
}

function snapshotSize(dir: string): number {
  let total = 0;
  for (const name of fs.readdirSync(dir, { recursive: true }).map(String)) {
    try {
      const st = fs.statSync(path.join(dir, name));
      total += st.isFile() ? st.size : 0;
    } catch {
      // a dangling link: not counted
    }
  }
  return total;
}

function describe(dir: string): Pick<CachedModel, 'architecture' | 'modelType' | 'supported' | 'reason'> {
  const file = path.join(dir, 'config.json');
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return { architecture: null, modelType: null, supported: false, reason: 'no readable config.json' };
  }
  const modelType = typeof json.model_type === 'string' ? json.model_type : null;
  const archs = Array.isArray(json.architectures) ? json.architectures.filter((a): a is string => typeof a === 'string') : [];
  const base = { architecture: archs[0] ?? modelType, modelType };
  try {
    parseModelConfig(json, file);
  } catch (e) {
    return { ...base, supported: false, reason: isCodetuneError(e) ? e.message.replace(`${file}: `, '') : String(e) };
  }
  let weights: string[] | undefined;
  try {
    weights = weightFiles(dir);
  } catch (e) {
    return { ...base, supported: false, reason: isCodetuneError(e) ? e.message : String(e) };
  }
  if (!weights) {
    const pickled = fs.readdirSync(dir).some((f) => /\.(bin|pt|pth|ckpt)$/.test(f));
    return { ...base, supported: false, reason: pickled ? 'pickled weights only (never loaded)' : 'no safetensors weights' };
  }
  if (!snapshotComplete(dir)) {
    return { ...base, supported: false, reason: 'incomplete download; run `codetune download` again' };
  }
  return { ...base, supported: true };
}

/** Every model snapshot in the cache, sorted by id. A missing cache folder is an empty list. */
export function listCachedModels(cacheDir: string): CachedModel[] {
  let repos: string[];
  try {
    repos = fs.readdirSync(cacheDir);
  } catch {
    return [];
  }
  const out: CachedModel[] = [];
  for (const folder of repos.sort()) {
    const id = repoFromFolderName(folder);
    const snapshots = path.join(cacheDir, folder, 'snapshots');
    if (!id || !fs.existsSync(snapshots)) {
      continue;
    }
    const refs = readRefs(path.join(cacheDir, folder));
    for (const commit of fs.readdirSync(snapshots).filter((c) => COMMIT.test(c)).sort()) {
      const dir = path.join(snapshots, commit);
      out.push({ id, commit, refs: refs.get(commit) ?? [], path: dir, sizeBytes: snapshotSize(dir), ...describe(dir) });
    }
  }
  return out;
}
