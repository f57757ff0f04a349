// Test helpers: throw-away git repos in temp folders.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function tmpDir(prefix = 'codetune-data-'): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function initRepo(dir: string): void {
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', 'Test');
  git(dir, 'config', 'user.email', 'test@example.invalid');
  git(dir, 'config', 'commit.gpgsign', 'false');
  git(dir, 'config', 'core.autocrlf', 'false');
}

export function writeFiles(dir: string, files: Record<string, string | Uint8Array>): void {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(dir, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, content);
  }
}

/** A new repo with `files` committed; returns its folder. */
export function makeRepo(files: Record<string, string | Uint8Array>, opts: { commit?: boolean } = {}): string {
  const dir = tmpDir();
  initRepo(dir);
  writeFiles(dir, files);
  if (opts.commit !== false) {
    commitAll(dir, 'initial');
  }
  return dir;
}

export function commitAll(dir: string, message: string): void {
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '--allow-empty', '-m', message);
}

export function rm(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A function body of `n` lines in a C-like language. */
export function cBody(n: number, indent = '  '): string {
  return Array.from({ length: n }, (_, i) => `${indent}total = total + ${i} * factor;`).join('\n');
}
