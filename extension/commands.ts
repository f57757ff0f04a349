// Command handlers, registered from the table in commandTable.ts. Each command is
// checked first (server running, trust, training state) and says why it cannot run;
// every failure becomes a notification with a message a user can act on.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { CancelTrainingRequest, StatusRequest, TrainRequest } from '../server/protocol';
import { chooseAdapters, deleteAdapter, exportAdapter, importAdapter } from './adapterCommands';
import { COMMANDS, check, type CommandId, type CommandSpec } from './commandTable';
import { ServerDown, type Ctx } from './ctx';
import { Dashboard } from './dashboard';
import { doneMessage, progressMessage } from './format';
import { selectBaseModel } from './models';

type Handler = (ctx: Ctx) => Promise<void> | void;

/** A message for any error a command hits: server errors carry a user-facing message already. */
export function errorText(e: unknown): string {
  if (e instanceof ServerDown) {
    return e.message;
  }
  if (e instanceof Error) {
    return e.message;
  }
  return String(e);
}

/** Asks which folder when there are several; null when none or dismissed. */
export async function pickFolder(placeHolder: string): Promise<vscode.WorkspaceFolder | null> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length <= 1) {
    return folders[0] ?? null;
  }
  return (await vscode.window.showWorkspaceFolderPick({ placeHolder })) ?? null;
}

async function train(ctx: Ctx): Promise<void> {
  const folder = await pickFolder('Train on which folder?');
  if (!folder) {
    return;
  }
  const uri = folder.uri.toString();
  ctx.dispatch({ type: 'trainStarted', folder: folder.name });
  let jobId: string;
  try {
    ({ jobId } = await ctx.client().sendRequest(TrainRequest, { workspaceFolder: uri, options: ctx.config.trainOptions() }));
  } catch (e) {
    ctx.dispatch({ type: 'trainEnded' });
    throw e;
  }
  ctx.startRun(jobId, uri);
  const done = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Codetune: training on ${folder.name}`, cancellable: true },
    async (progress, token) => {
      progress.report({ message: 'collecting training data…' });
      let shown = 0;
      const subs = [
        token.onCancellationRequested(() => {
          progress.report({ message: 'cancelling…' });
          void Promise.resolve()
            .then(() => ctx.client().sendRequest(CancelTrainingRequest, { jobId }))
            .catch((e: unknown) => ctx.output.warn(`cancel: ${errorText(e)}`));
        }),
        ctx.onProgress.event((p) => {
          if (p.jobId === jobId && p.totalSteps > 0) {
            const pc = (100 * p.step) / p.totalSteps;
            progress.report({ increment: Math.max(0, pc - shown), message: progressMessage(p) });
            shown = Math.max(shown, pc);
          }
        }),
      ];
      try {
        return await ctx.waitForDone(jobId);
      } finally {
        subs.forEach((s) => s.dispose());
      }
    },
  );
  const msg = doneMessage(done);
  if (msg.ok) {
    const b = await vscode.window.showInformationMessage(msg.text, 'Show dashboard');
    if (b) {
      Dashboard.show(ctx);
    }
  } else if (done.error?.code === 'CANCELLED') {
    void vscode.window.showInformationMessage(msg.text);
  } else {
    void vscode.window.showErrorMessage(msg.text, 'Show logs').then((b) => b && ctx.output.show());
  }
}

async function cancelTraining(ctx: Ctx): Promise<void> {
  const { cancelled } = await ctx.client().sendRequest(CancelTrainingRequest, null);
  void vscode.window.showInformationMessage(cancelled ? 'Codetune: cancelling training…' : 'Codetune: no training is running.');
}

async function useBaseModel(ctx: Ctx): Promise<void> {
  for (const f of vscode.workspace.workspaceFolders ?? []) {
    await ctx.setActive(f.uri.toString(), []);
  }
  void vscode.window.showInformationMessage('Codetune: completions use the base model only in this workspace.');
}

export const GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';
const GPU_HELP = `${GPU_PACKAGE} 4.22 needs Linux x86-64 with an NVIDIA driver, CUDA 11.2 and cuDNN 8.1 on the library path. `
  + 'It is installed next to the extension; the server picks it at its next start (backend "auto" or "tensorflow").';

/** Is the GPU backend installed next to the extension, and what does the server use? */
async function gpuBackend(ctx: Ctx): Promise<void> {
  const installed = fs.existsSync(ctx.ext.asAbsolutePath(`node_modules/${GPU_PACKAGE}/package.json`));
  let using = 'unknown (the server is not running)';
  try {
    const st = await ctx.client().sendRequest(StatusRequest, null);
    using = st.backend ? `${st.backend.backend} (${st.backend.provider})` : 'not chosen yet (no model loaded)';
  } catch {
    // keep "unknown"
  }
  const head = `GPU backend ${GPU_PACKAGE}: ${installed ? 'installed' : 'not installed'}. The server uses: ${using}.`;
  const pick = await vscode.window.showInformationMessage(head, { modal: true, detail: GPU_HELP }, ...(installed ? [] : ['Install in a terminal']));
  if (pick) {
    const term = vscode.window.createTerminal({ name: 'Codetune: GPU backend', cwd: ctx.ext.extensionPath });
    term.show();
    // Typed, not run: the user reads it and presses Enter.
    term.sendText(`npm install --no-save --no-package-lock ${GPU_PACKAGE}@4.22.0`, false);
  }
}

const HANDLERS: Record<CommandId, Handler> = {
  'codetune.train': train,
  'codetune.cancelTraining': cancelTraining,
  'codetune.chooseAdapters': chooseAdapters,
  'codetune.useBaseModel': useBaseModel,
  'codetune.selectBaseModel': selectBaseModel,
  'codetune.showDashboard': (ctx) => Dashboard.show(ctx),
  'codetune.importAdapter': importAdapter,
  'codetune.exportAdapter': exportAdapter,
  'codetune.deleteAdapter': deleteAdapter,
  'codetune.showLogs': (ctx) => ctx.output.show(),
  'codetune.restartServer': (ctx) => ctx.restart(),
  'codetune.gpuBackend': gpuBackend,
};

export function registerCommands(ctx: Ctx): vscode.Disposable[] {
  return COMMANDS.map((spec: CommandSpec & { id: CommandId }) =>
    vscode.commands.registerCommand(spec.id, async () => {
      if (spec.needs.server && ctx.state.server === 'starting') {
        // The first command activates the extension: wait for the server it starts.
        await ctx.starting;
      }
      const c = check(spec, ctx.env());
      if (!c.ok) {
        const b = await vscode.window.showWarningMessage(`Codetune: ${c.reason}`, ...(spec.needs.server ? ['Show logs'] : []));
        if (b) {
          ctx.output.show();
        }
        return;
      }
      try {
        await HANDLERS[spec.id](ctx);
      } catch (e) {
        ctx.output.error(`${spec.title}: ${errorText(e)}`);
        void vscode.window.showErrorMessage(`Codetune: ${errorText(e)}`);
      }
    }),
  );
}
