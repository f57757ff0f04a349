// Process helpers for the e2e tests: run to completion, free loopback port, wait
// for an HTTP endpoint, stop a process group by the pid we spawned (never by name).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

const REPO_ROOT = resolve(__dirname, '../..');

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs a process to completion; resolves to its combined output, rejects (with the output's tail) on failure. */
export function runChecked(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? REPO_ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 5 * 60_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        res(out);
      } else {
        const tail = out.trim().split('\n').slice(-25).join('\n');
        rej(new Error(`${cmd} ${args.join(' ')} exited with ${code ?? signal}\n${tail}`));
      }
    });
  });
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

export async function waitForHttp(url: string, proc: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`code-server exited early (${proc.exitCode ?? proc.signalCode})`);
    }
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`${url} not up after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function killGroup(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) {
    return;
  }
  try {
    process.kill(-proc.pid, signal); // the group led by the pid we spawned (detached)
  } catch {
    // already gone
  }
}

export async function killGroupAndWait(proc: ChildProcess): Promise<void> {
  const exited = new Promise<void>((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once('exit', () => r())));
  killGroup(proc, 'SIGTERM');
  const timer = setTimeout(() => killGroup(proc, 'SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
  if (proc.pid !== undefined) {
    try {
      process.kill(-proc.pid, 'SIGKILL'); // stragglers in the group (extension hosts)
    } catch {
      // none left
    }
  }
}

export function tail(file: string, lines = 60): string {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n') : '(no log)';
}

/** Polls `cond` every 200 ms until it holds; after `timeoutMs` throws with `detail()`. */
export async function pollUntil(timeoutMs: number, cond: () => Promise<boolean>, detail: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms; ${detail()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
