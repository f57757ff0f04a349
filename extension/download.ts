// Base model references and `codetune download --json` output. The extension never
// imports the server's download code (it pulls in tfjs); it runs the bundled CLI and
// reads its progress lines. No `vscode` import.
import { parseModelRef } from '../server/hub/ref';
import type { DownloadProgress } from '../server/protocol';

/**
 * Whether `text` names a hub model (`org/name[@revision]`) rather than a folder, by the
 * server's own reference rules (server/hub/ref.ts, which needs no tfjs).
 */
export function isHubId(text: string): boolean {
  try {
    const ref = parseModelRef(text);
    return ref.kind === 'hub' && ref.repo.includes('/');
  } catch {
    return false; // neither a folder nor a valid hub id
  }
}

/** A progress line: `{"event": "progress", ...DownloadProgress}`. */
export type DownloadProgressLine = { event: 'progress' } & DownloadProgress;

export interface DownloadDoneLine {
  event: 'done';
  repo: string;
  revision: string;
  commit: string;
  snapshot: string;
  from_cache?: boolean;
}

export type DownloadLine = DownloadProgressLine | DownloadDoneLine;

/** One stdout line of `codetune download --json`; null for anything else. */
export function parseDownloadLine(line: string): DownloadLine | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object') {
    return null;
  }
  const o = v as Record<string, unknown>;
  if (o.event === 'done' && typeof o.snapshot === 'string') {
    return { event: 'done', repo: String(o.repo ?? ''), revision: String(o.revision ?? ''), commit: String(o.commit ?? ''), snapshot: o.snapshot, from_cache: o.from_cache === true };
  }
  if (o.event === 'progress' && typeof o.bytes === 'number' && typeof o.total === 'number') {
    return {
      event: 'progress',
      state: (['start', 'progress', 'done', 'cached'] as const).find((s) => s === o.state) ?? 'progress',
      file: typeof o.file === 'string' ? o.file : '',
      fileBytes: typeof o.fileBytes === 'number' ? o.fileBytes : 0,
      fileSize: typeof o.fileSize === 'number' ? o.fileSize : 0,
      bytes: o.bytes,
      total: o.total,
      rate: typeof o.rate === 'number' ? o.rate : 0,
      etaSeconds: typeof o.etaSeconds === 'number' ? o.etaSeconds : null,
    };
  }
  return null;
}

/** Splits a byte stream into lines; call `push` with chunks, get whole lines back. */
export class LineSplitter {
  private rest = '';

  push(chunk: string): string[] {
    const parts = (this.rest + chunk).split('\n');
    this.rest = parts.pop() ?? '';
    return parts.map((l) => l.replace(/\r$/, '')).filter((l) => l !== '');
  }

  end(): string[] {
    const last = this.rest;
    this.rest = '';
    return last.trim() === '' ? [] : [last];
  }
}

/** Percent done (0–100) of a progress line; 0 while the total is unknown. */
export function percent(p: DownloadProgressLine): number {
  return p.total > 0 ? Math.min(100, (100 * p.bytes) / p.total) : 0;
}

/** The last stderr lines of a failed CLI run, as one message (the CLI prints `codetune: <message>`). */
export function cliError(stderr: string, code: number | null): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('usage:'));
  const last = lines.at(-1)?.replace(/^codetune( download)?:\s*/, '') ?? '';
  return last || `the download stopped (exit code ${code ?? 'none'})`;
}
