// From a model reference (folder or hub id) to a model folder on disk: a local
// folder as is; a hub id from the cache when it is complete there, else downloaded.
import * as fs from 'node:fs';
import { CodetuneError } from '../errors';
import { hubSettings, resolveCached, type HubSettings } from './cache';
import { downloadModel } from './download';
import type { DownloadProgress } from './progress';
import { formatModelRef, parseModelRef, type ModelRef } from './ref';

export interface ResolvedModel {
  /** A Hugging Face model folder: config.json, safetensors, tokenizer files. */
  dir: string;
  ref: ModelRef;
  /** The hub commit, for hub references. */
  commit?: string;
  /** True when this call downloaded something. */
  downloaded: boolean;
}

export interface ResolveOptions {
  settings?: HubSettings;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  cwd?: string;
}

function localFolder(dir: string): ResolvedModel {
  let isDir = false;
  try {
    isDir = fs.statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) {
    throw new CodetuneError('NOT_FOUND', `${dir}: no such model folder`, { file: dir });
  }
  return { dir, ref: { kind: 'local', path: dir }, downloaded: false };
}

/** Resolve without touching the network: a folder, or a complete snapshot in the cache. */
export function resolveModelCached(text: string, opts: Pick<ResolveOptions, 'settings' | 'cwd'> = {}): ResolvedModel {
  const ref = parseModelRef(text, opts.cwd);
  if (ref.kind === 'local') {
    return localFolder(ref.path);
  }
  const settings = opts.settings ?? hubSettings();
  const hit = resolveCached(settings.cacheDir, ref.repo, ref.revision);
  if (!hit) {
    throw new CodetuneError('HUB_OFFLINE', `${formatModelRef(ref)} is not in the Hugging Face cache at ${settings.cacheDir}; run \`codetune download ${formatModelRef(ref)}\` first`);
  }
  return { dir: hit.dir, ref, commit: hit.commit, downloaded: false };
}

/**
 * Resolve a reference to a folder, downloading when needed. A complete cached
 * snapshot is used without asking the hub (run `codetune download` to update);
 * with HF_HUB_OFFLINE=1 only the cache is used.
 */
export async function resolveModel(text: string, opts: ResolveOptions = {}): Promise<ResolvedModel> {
  const ref = parseModelRef(text, opts.cwd);
  if (ref.kind === 'local') {
    return localFolder(ref.path);
  }
  const settings = opts.settings ?? hubSettings();
  const hit = resolveCached(settings.cacheDir, ref.repo, ref.revision);
  if (hit) {
    return { dir: hit.dir, ref, commit: hit.commit, downloaded: false };
  }
  const r = await downloadModel({ repo: ref.repo, revision: ref.revision, settings, signal: opts.signal, onProgress: opts.onProgress });
  return { dir: r.snapshot, ref, commit: r.commit, downloaded: !r.fromCache };
}
