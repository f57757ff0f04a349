// Model references: what `--model` and `codetune.baseModel` accept. Either a local
// folder, or a Hugging Face hub id with an optional revision: `org/name[@rev]`.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CodetuneError } from '../errors';

export type ModelRef =
  | { kind: 'local'; path: string }
  | { kind: 'hub'; repo: string; revision: string };

export const DEFAULT_REVISION = 'main';

// Hub naming rules: letters, digits, '-', '_', '.'; no '--' or '..'; at most 96 chars.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
// Branch, tag or commit. Slashes are allowed (`refs/pr/1`), `..` is not.
const REVISION = /^[A-Za-z0-9._][A-Za-z0-9._/-]{0,254}$/;

function validName(part: string): boolean {
  return NAME.test(part) && !part.includes('--') && !part.includes('..') && !part.endsWith('.');
}

/** True if `text` is syntactically a hub id (`name` or `org/name`), without revision. */
export function isHubId(text: string): boolean {
  const parts = text.split('/');
  return parts.length >= 1 && parts.length <= 2 && parts.every(validName);
}

function looksLikePath(text: string): boolean {
  return text.startsWith('.') || text.startsWith('/') || text.startsWith('~') || path.isAbsolute(text) || text.includes('\\');
}

function expandHome(text: string): string {
  return text === '~' || text.startsWith('~/') ? path.join(os.homedir(), text.slice(1)) : text;
}

/**
 * Parse a model reference. An existing folder wins over a hub id of the same
 * spelling (as in `transformers`); a path-like string is always local.
 */
export function parseModelRef(text: string, cwd: string = process.cwd()): ModelRef {
  const trimmed = text.trim();
  if (trimmed === '') {
    throw new CodetuneError('USAGE', 'empty model reference: give a folder or a hub id such as Qwen/Qwen2.5-Coder-0.5B');
  }
  const local = path.resolve(cwd, expandHome(trimmed));
  if (looksLikePath(trimmed) || isDirectory(local)) {
    return { kind: 'local', path: local };
  }
  const at = trimmed.indexOf('@');
  const repo = at < 0 ? trimmed : trimmed.slice(0, at);
  const revision = at < 0 ? DEFAULT_REVISION : trimmed.slice(at + 1);
  if (!isHubId(repo)) {
    throw new CodetuneError('USAGE', `"${text}" is neither a folder nor a hub id like org/name[@revision]`);
  }
  if (!REVISION.test(revision) || revision.includes('..') || revision.endsWith('/')) {
    throw new CodetuneError('USAGE', `"${revision}" is not a valid revision (a branch, tag or commit) in "${text}"`);
  }
  return { kind: 'hub', repo, revision };
}

/** The canonical text of a reference: the folder, or `org/name@rev` (rev omitted when main). */
export function formatModelRef(ref: ModelRef): string {
  if (ref.kind === 'local') {
    return ref.path;
  }
  return ref.revision === DEFAULT_REVISION ? ref.repo : `${ref.repo}@${ref.revision}`;
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
