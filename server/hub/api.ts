// Hub metadata through @huggingface/hub (model info, file tree), with every HTTP
// failure turned into a typed CodetuneError a user can act on.
import { listFiles, modelInfo } from '@huggingface/hub';
import { CodetuneError } from '../errors';
import type { HubSettings } from './cache';

/** One file of a repo at a commit, as the tree API lists it. */
export interface RepoFile {
  path: string;
  size: number;
  /** The cache's blob name: the sha256 for LFS files, the git blob id otherwise (as Python names blobs). */
  etag: string;
  /** sha256 of the contents, for LFS (and Xet) files. */
  sha256?: string;
  /** git blob id (sha1 of "blob <size>\0" + contents), for regular files. */
  gitOid?: string;
}

export interface RepoListing {
  repo: string;
  revision: string;
  commit: string;
  /** Top-level files only: Codetune never needs subfolders. */
  files: RepoFile[];
}

/** What a request was for, to word its error. */
export interface RequestContext {
  settings: HubSettings;
  repo: string;
  revision: string;
  file?: string;
}

function cancelled(): CodetuneError {
  return new CodetuneError('CANCELLED', 'download cancelled; run it again to resume');
}

/** Map a failed hub response to a typed error. */
export function httpError(status: number, errorCode: string | null, ctx: RequestContext, url: string): CodetuneError {
  const { settings, repo, revision, file } = ctx;
  const where = settings.endpoint;
  const tokenHint = settings.token
    ? 'the token in HF_TOKEN was refused: check that it has read access and that you accepted the model\'s terms'
    : 'set HF_TOKEN to a Hugging Face access token';
  if (errorCode === 'RevisionNotFound') {
    return new CodetuneError('HUB_NOT_FOUND', `revision "${revision}" of ${repo} was not found on ${where}`);
  }
  if (errorCode === 'EntryNotFound') {
    return new CodetuneError('HUB_NOT_FOUND', `${repo}@${revision} has no file ${file ?? ''} on ${where}`.trim());
  }
  if (errorCode === 'RepoNotFound' || status === 404) {
    const priv = settings.token ? '' : ' (if it is private, set HF_TOKEN)';
    return new CodetuneError('HUB_NOT_FOUND', `model ${repo} was not found on ${where}${priv}; check the id`);
  }
  if (errorCode === 'GatedRepo' || status === 401 || status === 403) {
    return new CodetuneError('HUB_GATED', `model ${repo} is gated or private (HTTP ${status}): accept its terms at ${where}/${repo}, then ${tokenHint}`);
  }
  return new CodetuneError('HUB_HTTP', `the hub answered HTTP ${status} for ${url}; try again later`);
}

/**
 * A fetch that carries the token and the abort signal, and throws a typed error
 * for any non-2xx answer. The Authorization header is only sent to the endpoint's
 * origin (fetch drops it on cross-origin redirects, e.g. to the CDN).
 */
export function hubFetch(ctx: RequestContext, signal?: AbortSignal): typeof fetch {
  const wrapped = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    if (signal?.aborted) {
      throw cancelled();
    }
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const headers = new Headers(init.headers);
    if (ctx.settings.token && !headers.has('authorization') && new URL(url).origin === new URL(ctx.settings.endpoint).origin) {
      headers.set('authorization', `Bearer ${ctx.settings.token}`);
    }
    let res: Response;
    try {
      res = await fetch(url, { ...init, headers, signal });
    } catch (e) {
      if (signal?.aborted) {
        throw cancelled();
      }
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (e as Error).message;
      throw new CodetuneError('HUB_HTTP', `cannot reach ${ctx.settings.endpoint} (${why}); check the network, or set HF_HUB_OFFLINE=1 to use the cache only`);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw httpError(res.status, res.headers.get('x-error-code'), ctx, url);
    }
    return res;
  };
  return wrapped as typeof fetch;
}

/** Resolve `revision` to a commit and list the repo's top-level files there. */
export async function fetchListing(settings: HubSettings, repo: string, revision: string, signal?: AbortSignal): Promise<RepoListing> {
  const ctx: RequestContext = { settings, repo, revision };
  const common = { hubUrl: settings.endpoint, fetch: hubFetch(ctx, signal) };
  const info = await modelInfo({ ...common, name: repo, revision, additionalFields: ['sha'] });
  const commit = info.sha;
  if (typeof commit !== 'string' || !/^[0-9a-f]{40}$/.test(commit)) {
    throw new CodetuneError('HUB_HTTP', `${settings.endpoint} gave no commit for ${repo}@${revision}`);
  }
  const files: RepoFile[] = [];
  for await (const entry of listFiles({ ...common, repo: { type: 'model', name: repo }, revision: commit, recursive: false })) {
    if (entry.type !== 'file' || entry.path.includes('/')) {
      continue;
    }
    if (entry.lfs) {
      files.push({ path: entry.path, size: entry.lfs.size, etag: entry.lfs.oid, sha256: entry.lfs.oid });
    } else if (entry.xetHash) {
      // Xet-backed without LFS metadata: no sha256 to check against, so size only; named by its Xet hash.
      files.push({ path: entry.path, size: entry.size, etag: entry.xetHash });
    } else if (entry.oid) {
      files.push({ path: entry.path, size: entry.size, etag: entry.oid, gitOid: entry.oid });
    }
  }
  return { repo, revision, commit, files };
}

/** The download URL of a file at a commit (the hub redirects LFS files to its CDN). */
export function resolveUrl(settings: HubSettings, repo: string, commit: string, file: string): string {
  return `${settings.endpoint}/${repo}/resolve/${commit}/${encodeURIComponent(file)}`;
}
