// The Hugging Face cache layout, shared with Python's `huggingface_hub`:
//   <cache>/models--org--name/blobs/<etag>                 file contents
//   <cache>/models--org--name/snapshots/<commit>/<file>     relative symlink to the blob
//   <cache>/models--org--name/refs/<revision>               the commit a branch/tag points at
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CodetuneError } from '../errors';
import { writeFileAtomic } from '../util/atomic';

export const COMMIT = /^[0-9a-f]{40}$/;

export interface HubSettings {
  endpoint: string;
  token?: string;
  cacheDir: string;
  offline: boolean;
}

type Env = Record<string, string | undefined>;

/** `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub` (as Python resolves it). */
export function hubCacheDir(env: Env = process.env): string {
  const explicit = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  if (explicit) {
    return explicit;
  }
  const home = env.HF_HOME || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'huggingface');
  return path.join(home, 'hub');
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && ['1', 'true', 'yes', 'on'].includes(v.trim().toLowerCase());
}

/** Settings from the environment (`HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_OFFLINE`, cache vars), with overrides. */
export function hubSettings(overrides: Partial<HubSettings> = {}, env: Env = process.env): HubSettings {
  const endpoint = (overrides.endpoint ?? env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  return {
    endpoint,
    token: overrides.token ?? (env.HF_TOKEN || undefined),
    cacheDir: overrides.cacheDir ?? hubCacheDir(env),
    offline: overrides.offline ?? truthy(env.HF_HUB_OFFLINE),
  };
}

export function repoFolderName(repo: string): string {
  return ['models', ...repo.split('/')].join('--');
}

export function repoFolder(cacheDir: string, repo: string): string {
  return path.join(cacheDir, repoFolderName(repo));
}

/** `models--org--name` back to `org/name`; undefined for other folders (datasets, .locks). */
export function repoFromFolderName(name: string): string | undefined {
  if (!name.startsWith('models--')) {
    return undefined;
  }
  return name.slice('models--'.length).split('--').join('/');
}

/** The commit `revision` resolves to in the cache: itself if it is a commit, else `refs/<revision>`. */
export function readRef(cacheDir: string, repo: string, revision: string): string | undefined {
  if (COMMIT.test(revision)) {
    return revision;
  }
  try {
    const commit = fs.readFileSync(path.join(repoFolder(cacheDir, repo), 'refs', revision), 'utf8').trim();
    return COMMIT.test(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}

export function writeRef(cacheDir: string, repo: string, revision: string, commit: string): void {
  if (revision !== commit) {
    // Python writes the bare hash, no newline.
    writeFileAtomic(path.join(repoFolder(cacheDir, repo), 'refs', revision), commit);
  }
}

export function snapshotDir(cacheDir: string, repo: string, commit: string): string {
  return path.join(repoFolder(cacheDir, repo), 'snapshots', commit);
}

function exists(p: string): boolean {
  try {
    fs.statSync(p); // follows the symlink: a dangling link does not count
    return true;
  } catch {
    return false;
  }
}

/**
 * The weight files a checkpoint folder needs: the shards its index names, or
 * `model.safetensors`. Undefined when neither is present.
 */
export function weightFiles(dir: string): string[] | undefined {
  const index = path.join(dir, 'model.safetensors.index.json');
  if (exists(index)) {
    try {
      return shardsOfIndex(JSON.parse(fs.readFileSync(index, 'utf8')) as unknown, index);
    } catch (e) {
      if (e instanceof CodetuneError) {
        throw e;
      }
      throw new CodetuneError('CHECKPOINT_MISSING', `${index}: not valid JSON`, { file: index });
    }
  }
  return exists(path.join(dir, 'model.safetensors')) ? ['model.safetensors'] : undefined;
}

/** The distinct shard file names in a `model.safetensors.index.json`, in order of first use. */
export function shardsOfIndex(json: unknown, file: string): string[] {
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null) {
    throw new CodetuneError('CHECKPOINT_MISSING', `${file}: no "weight_map" in the shard index`, { file });
  }
  const shards = [...new Set(Object.values(map as Record<string, unknown>))];
  if (shards.some((s) => typeof s !== 'string' || s.includes('/') || s.includes('\\') || !s.endsWith('.safetensors'))) {
    throw new CodetuneError('CHECKPOINT_MISSING', `${file}: shard names must be plain *.safetensors file names`, { file });
  }
  return shards as string[];
}

/** True when a snapshot folder holds a config and every weight file it needs. */
export function snapshotComplete(dir: string): boolean {
  if (!exists(path.join(dir, 'config.json'))) {
    return false;
  }
  try {
    const weights = weightFiles(dir);
    return weights !== undefined && weights.every((f) => exists(path.join(dir, f)));
  } catch {
    return false;
  }
}

/** The complete snapshot for `repo@revision` in the cache, or undefined. */
export function resolveCached(cacheDir: string, repo: string, revision: string): { commit: string; dir: string } | undefined {
  const commit = readRef(cacheDir, repo, revision);
  if (!commit) {
    return undefined;
  }
  const dir = snapshotDir(cacheDir, repo, commit);
  return snapshotComplete(dir) ? { commit, dir } : undefined;
}
