// What the e2e tests need before a harness can start: code-server (cached in
// .cache/code-server/ by scripts/e2e-setup.sh) and Debian's Chromium. Also small
// helper that makes a throwaway git repository to open as the workspace.
import { accessSync, constants, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { runChecked } from './process';

export const REPO_ROOT = resolve(__dirname, '../..');
export const CODE_SERVER_ENTRY = join(REPO_ROOT, '.cache/code-server/package/out/node/entry.js');
export const CHROMIUM = '/usr/bin/chromium';

export type Readiness = { ok: true } | { ok: false; reason: string };

let ready: Promise<Readiness> | undefined;

/**
 * Runs scripts/e2e-setup.sh (apt packages if missing, code-server if not cached;
 * a no-op when both are there). Resolves to { ok: false, reason } only when they
 * cannot be installed, so that a suite can skip with that reason. With
 * CODETUNE_E2E_REQUIRED=1 that case throws instead (CI that must not skip).
 */
export function ensureE2E(): Promise<Readiness> {
  ready ??= (async (): Promise<Readiness> => {
    let reason: string | undefined;
    try {
      await runChecked('bash', [join(REPO_ROOT, 'scripts/e2e-setup.sh')], { timeoutMs: 15 * 60_000 });
    } catch (e) {
      const lines = (e as Error).message.split('\n').filter((l) => l.trim() !== '');
      const cause = lines.slice(1).find((l) => /error|fail|cannot|denied|not found/i.test(l)) ?? lines.at(-1);
      console.error(`# scripts/e2e-setup.sh failed:\n${lines.join('\n')}`);
      reason = `code-server/chromium could not be installed (scripts/e2e-setup.sh: ${lines[0]}; ${cause})`;
    }
    if (!reason && !existsSync(CODE_SERVER_ENTRY)) {
      reason = `code-server is missing after setup (${CODE_SERVER_ENTRY})`;
    }
    if (!reason) {
      try {
        accessSync(CHROMIUM, constants.X_OK);
      } catch {
        reason = `${CHROMIUM} is missing after setup`;
      }
    }
    if (!reason) {
      return { ok: true };
    }
    if (process.env.CODETUNE_E2E_REQUIRED === '1') {
      throw new Error(`CODETUNE_E2E_REQUIRED=1 but ${reason}`);
    }
    return { ok: false, reason };
  })();
  return ready;
}

/** A throwaway git repository with the given files, committed; returns its path. */
export async function makeGitRepo(dir: string, files: Record<string, string>): Promise<string> {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  const git = (...args: string[]): Promise<string> => runChecked('git', args, { cwd: dir });
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('-c', 'user.name=e2e', '-c', 'user.email=e2e@example.invalid', 'commit', '-q', '-m', 'fixture');
  return dir;
}
