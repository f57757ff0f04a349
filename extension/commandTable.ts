// The command table, after rust-analyzer's: every command with what it needs to
// run. `check` gives the reason a command cannot run now, which the extension shows
// instead of failing silently. The manifest's `contributes.commands` is tested
// against this table. No `vscode` import.

export interface Needs {
  /** The language server must be running. */
  server?: boolean;
  /** The workspace must be trusted (training runs git in the repository). */
  trust?: boolean;
  /** A workspace folder must be open. */
  folder?: boolean;
  /** `running`: only while a training job runs; `idle`: only when none does. */
  training?: 'running' | 'idle';
}

export interface CommandSpec {
  id: string;
  title: string;
  needs: Needs;
}

export const COMMANDS = [
  { id: 'codetune.train', title: 'Train on this repo', needs: { server: true, trust: true, folder: true, training: 'idle' } },
  { id: 'codetune.cancelTraining', title: 'Cancel training', needs: { server: true, training: 'running' } },
  { id: 'codetune.chooseAdapters', title: 'Choose adapters for this workspace', needs: { server: true } },
  { id: 'codetune.useBaseModel', title: 'Use base model only', needs: { server: true } },
  { id: 'codetune.selectBaseModel', title: 'Select base model…', needs: {} },
  { id: 'codetune.showDashboard', title: 'Show training dashboard', needs: {} },
  { id: 'codetune.importAdapter', title: 'Import adapter (PEFT folder)…', needs: { server: true } },
  { id: 'codetune.exportAdapter', title: 'Export adapter…', needs: { server: true } },
  { id: 'codetune.deleteAdapter', title: 'Delete adapter…', needs: { server: true } },
  { id: 'codetune.showLogs', title: 'Show logs', needs: {} },
  { id: 'codetune.restartServer', title: 'Restart server', needs: {} },
  { id: 'codetune.gpuBackend', title: 'GPU backend…', needs: {} },
] as const satisfies readonly CommandSpec[];

export type CommandId = (typeof COMMANDS)[number]['id'];

/** What the extension knows when a command is invoked. */
export interface CommandEnv {
  enabled: boolean;
  server: 'off' | 'starting' | 'running' | 'stopped';
  /** Why the server stopped, when it did. */
  serverError: string | null;
  trusted: boolean;
  folders: number;
  training: boolean;
}

export type Check = { ok: true } | { ok: false; reason: string };

export const UNTRUSTED_REASON =
  'Training is off in an untrusted workspace: it runs git in the repository, and a repository can configure git to run programs. Trust the workspace (Workspaces: Manage Workspace Trust) to train.';

/** Whether `spec` can run in `env`, and if not, a message a user can act on. */
export function check(spec: CommandSpec, env: CommandEnv): Check {
  const n = spec.needs;
  if (n.trust && !env.trusted) {
    return { ok: false, reason: UNTRUSTED_REASON };
  }
  if (n.server) {
    if (!env.enabled) {
      return { ok: false, reason: 'Codetune is turned off (setting codetune.enable). Turn it on to use this command.' };
    }
    if (env.server === 'stopped') {
      const why = env.serverError ? ` (${env.serverError})` : '';
      return { ok: false, reason: `The Codetune server is not running${why}. Run "Codetune: Restart server", or see "Codetune: Show logs".` };
    }
    if (env.server !== 'running') {
      return { ok: false, reason: 'The Codetune server is still starting; try again in a moment.' };
    }
  }
  if (n.folder && env.folders === 0) {
    return { ok: false, reason: 'Open a folder (a git repository) to train on.' };
  }
  if (n.training === 'running' && !env.training) {
    return { ok: false, reason: 'No training is running.' };
  }
  if (n.training === 'idle' && env.training) {
    return { ok: false, reason: 'A training job is already running; wait for it or run "Codetune: Cancel training".' };
  }
  return { ok: true };
}
