// Download a model from the hub into the Hugging Face cache layout, fetching only
// what Codetune needs. config.json comes first and is checked before any weights;
// pickled weights are never fetched. See docs/MODELS.md.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CodetuneError, fromFsError } from '../errors';
import { parseModelConfig } from '../model/config';
import { fetchListing, hubFetch, resolveUrl, type RepoFile, type RepoListing } from './api';
import { repoFolder, resolveCached, shardsOfIndex, snapshotDir, writeRef, type HubSettings } from './cache';
import { ProgressTracker, type DownloadProgress } from './progress';
import { transferFile } from './transfer';

export const INDEX_FILE = 'model.safetensors.index.json';
export const OPTIONAL_FILES = ['generation_config.json', 'tokenizer.json', 'tokenizer_config.json'];
const PICKLED = /\.(bin|pt|pth|ckpt|pkl|pickle)$/i;

export interface DownloadOptions {
  repo: string;
  revision: string;
  settings: HubSettings;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** Files fetched at once (default 4). */
  concurrency?: number;
  /** Milliseconds between progress reports per file (default 500). */
  progressIntervalMs?: number;
}

export interface DownloadResult {
  repo: string;
  revision: string;
  commit: string;
  /** `<cache>/models--org--name/snapshots/<commit>`: a model folder. */
  snapshot: string;
  files: string[];
  /** Bytes fetched over the network in this run. */
  fetched: number;
  /** True when nothing had to be fetched. */
  fromCache: boolean;
}

/** Fetch `repo@revision` into the cache (or find it there when offline) and return its snapshot folder. */
export async function downloadModel(opts: DownloadOptions): Promise<DownloadResult> {
  const { settings, repo, revision } = opts;
  if (settings.offline) {
    const hit = resolveCached(settings.cacheDir, repo, revision);
    if (!hit) {
      throw new CodetuneError('HUB_OFFLINE', `${repo}@${revision} is not in the cache at ${settings.cacheDir}, and HF_HUB_OFFLINE=1 forbids downloading; unset HF_HUB_OFFLINE or download it while online`);
    }
    return { repo, revision, commit: hit.commit, snapshot: hit.dir, files: fs.readdirSync(hit.dir).sort(), fetched: 0, fromCache: true };
  }
  const listing = await fetchListing(settings, repo, revision, opts.signal);
  const byName = new Map(listing.files.map((f) => [f.path, f]));
  const config = requireConfigAndWeights(listing, byName);
  const job = new Job(opts, listing);

  // config.json first, alone: an unsupported architecture stops here, before any weights.
  job.tracker.setTotal(config.size);
  const configPath = await job.fetchOne(config);
  checkConfig(configPath, `${repo}/config.json`);

  const index = byName.get(INDEX_FILE);
  let weights: string[];
  if (index) {
    job.tracker.setTotal(config.size + index.size);
    const indexPath = await job.fetchOne(index);
    weights = shardsOfIndex(readJson(indexPath, `${repo}/${INDEX_FILE}`), `${repo}/${INDEX_FILE}`);
  } else {
    weights = ['model.safetensors'];
  }
  const missing = weights.filter((w) => !byName.has(w));
  if (missing.length > 0) {
    throw new CodetuneError('CHECKPOINT_MISSING', `${repo}@${revision}: the shard index names files the repo does not have: ${missing.join(', ')}`);
  }
  const rest = [...OPTIONAL_FILES.filter((f) => byName.has(f)), ...weights].map((f) => byName.get(f) as RepoFile);
  job.tracker.setTotal(config.size + (index?.size ?? 0) + rest.reduce((s, f) => s + f.size, 0));
  await job.fetchAll(rest);

  writeRef(settings.cacheDir, repo, revision, listing.commit);
  const files = [config, ...(index ? [index] : []), ...rest].map((f) => f.path);
  return { repo, revision, commit: listing.commit, snapshot: job.snapshot, files, fetched: job.fetched, fromCache: job.fetched === 0 && job.downloadedFiles === 0 };
}

/** config.json and safetensors weights must be there; a repo with only pickled weights is refused up front. */
function requireConfigAndWeights(listing: RepoListing, byName: Map<string, RepoFile>): RepoFile {
  const name = `${listing.repo}@${listing.revision}`;
  const hasWeights = byName.has(INDEX_FILE) || byName.has('model.safetensors');
  if (!hasWeights) {
    const pickled = listing.files.filter((f) => PICKLED.test(f.path)).map((f) => f.path);
    if (pickled.length > 0) {
      throw new CodetuneError('PICKLE_WEIGHTS', `${name} has only pickled weights (${pickled.slice(0, 3).join(', ')}${pickled.length > 3 ? ', ...' : ''}), which Codetune never loads because they can run code; use a revision or copy of the model with *.safetensors weights`);
    }
    throw new CodetuneError('CHECKPOINT_MISSING', `${name} has no model.safetensors or ${INDEX_FILE}; it is not a Hugging Face checkpoint Codetune can load`);
  }
  const config = byName.get('config.json');
  if (!config) {
    throw new CodetuneError('CHECKPOINT_MISSING', `${name} has no config.json; it is not a transformers model`);
  }
  return config;
}

function readJson(file: string, label: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code) {
      throw fromFsError(e, file);
    }
    throw new CodetuneError('CONFIG_INVALID', `${label}: not valid JSON`, { file: label });
  }
}

/** Throws CONFIG_UNSUPPORTED (with the supported list) or CONFIG_INVALID. */
export function checkConfig(file: string, label: string): void {
  parseModelConfig(readJson(file, label), label);
}

/** Relative symlink snapshots/<commit>/<file> -> ../../blobs/<etag>, or a copy where links are not allowed. */
function linkIntoSnapshot(blob: string, pointer: string): void {
  const tmp = `${pointer}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(path.dirname(pointer), { recursive: true });
    fs.rmSync(tmp, { force: true });
    try {
      fs.symlinkSync(path.relative(path.dirname(pointer), blob), tmp);
    } catch {
      fs.copyFileSync(blob, tmp);
    }
    fs.renameSync(tmp, pointer);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw fromFsError(e, pointer);
  }
}

function existsFollowing(p: string): boolean {
  try {
    fs.statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** One download run: shared cache paths, progress, a fetch and a cancel switch for all its files. */
class Job {
  readonly snapshot: string;
  readonly tracker: ProgressTracker;
  fetched = 0;
  downloadedFiles = 0;
  private readonly blobs: string;
  private readonly abort = new AbortController();

  constructor(
    private readonly opts: DownloadOptions,
    private readonly listing: RepoListing,
  ) {
    const { settings, repo } = opts;
    this.snapshot = snapshotDir(settings.cacheDir, repo, listing.commit);
    this.blobs = path.join(repoFolder(settings.cacheDir, repo), 'blobs');
    this.tracker = new ProgressTracker(0, opts.onProgress, opts.progressIntervalMs);
    opts.signal?.addEventListener('abort', () => this.abort.abort(), { once: true });
    if (opts.signal?.aborted) {
      this.abort.abort();
    }
  }

  /** Put one file into the snapshot (from the blob store if it is there) and return its path. */
  async fetchOne(file: RepoFile): Promise<string> {
    const pointer = path.join(this.snapshot, file.path);
    if (existsFollowing(pointer)) {
      this.tracker.cached(file.path, file.size);
      return pointer;
    }
    const blob = path.join(this.blobs, file.etag);
    if (!existsFollowing(blob)) {
      this.tracker.start(file.path, file.size);
      const url = resolveUrl(this.opts.settings, this.opts.repo, this.listing.commit, file.path);
      const fileFetch = hubFetch({ settings: this.opts.settings, repo: this.opts.repo, revision: this.opts.revision, file: file.path }, this.abort.signal);
      const r = await transferFile({
        url,
        file,
        blob,
        fetch: fileFetch,
        signal: this.abort.signal,
        onResume: (n) => this.tracker.resumed(file.path, n),
        onBytes: (n) => this.tracker.network(file.path, n),
      });
      this.fetched += r.fetched;
      this.downloadedFiles += 1;
      linkIntoSnapshot(blob, pointer);
      this.tracker.done(file.path);
      return pointer;
    }
    linkIntoSnapshot(blob, pointer);
    this.tracker.cached(file.path, file.size);
    return pointer;
  }

  /** Fetch files with at most `concurrency` in flight; the first failure cancels the others (their partial files stay). */
  async fetchAll(files: RepoFile[]): Promise<void> {
    const queue = [...files].sort((a, b) => b.size - a.size);
    const limit = Math.max(1, Math.min(this.opts.concurrency ?? 4, queue.length));
    let failure: unknown;
    const worker = async (): Promise<void> => {
      for (let f = queue.shift(); f && failure === undefined; f = queue.shift()) {
        try {
          await this.fetchOne(f);
        } catch (e) {
          if (failure === undefined) {
            failure = e;
            this.abort.abort();
          }
        }
      }
    };
    await Promise.all(Array.from({ length: limit }, worker));
    if (failure !== undefined) {
      throw failure;
    }
  }
}
