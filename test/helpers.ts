// Shared test helpers: fixture access, numeric comparison, temp folders, running the CLI.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');
export const FIXTURES = path.resolve(ROOT, '..', 'shared', 'fixtures');
export const CLI = path.join(ROOT, 'bin', 'codetune.js');

export interface Reference {
  sequences: number[][];
  base: { last_logits: number[][]; all_logits_seq1: number[][]; loss: Array<number | null>; greedy_from_seq1: number[] };
  merged: { last_logits: number[][]; all_logits_seq1: number[][]; loss: Array<number | null>; greedy_from_seq1: number[] };
  lora_scale: number;
  lora_grad: { sequence_index: number; loss: number; grads: Record<string, number[][]> };
}

export function fixtureDir(name: string): string {
  return path.join(FIXTURES, name);
}

export function reference(name: string): Reference {
  return JSON.parse(fs.readFileSync(path.join(fixtureDir(name), 'reference.json'), 'utf8')) as Reference;
}

/** max |got − exp| / max |exp|: the error relative to the largest reference value. */
export function relErr(got: ArrayLike<number>, exp: ArrayLike<number>): number {
  if (got.length !== exp.length) {
    return Infinity;
  }
  let scale = 0;
  let err = 0;
  for (let i = 0; i < exp.length; i++) {
    scale = Math.max(scale, Math.abs(exp[i]));
    err = Math.max(err, Math.abs(got[i] - exp[i]));
  }
  return err / (scale || 1);
}

export function tempDir(prefix = 'codetune-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Run the built CLI (npm test builds first). */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...opts.env }, cwd: opts.cwd, maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
