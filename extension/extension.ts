// VS Code client entry. The only code that imports `vscode` lives in extension/
// (ctx, client, commands, dashboard, models); the logic it uses (config, status,
// command table, adapter sets, runs, formatting) is plain TypeScript, unit-tested.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { LoadModelRequest } from '../server/protocol';
import { GPU_PACKAGE, errorText, registerCommands } from './commands';
import { SETTING_EFFECT, SETTING_KEYS, restartKeys } from './config';
import { Ctx } from './ctx';
import { Dashboard, VIEW_TYPE } from './dashboard';
import { resolveBaseModel } from './models';

let ctx: Ctx | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const c = new Ctx(context);
  ctx = c;
  context.subscriptions.push(c, ...registerCommands(c), vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, Dashboard.serializer(c)));
  context.subscriptions.push(vscode.workspace.onDidChangeConfiguration((e) => void onConfigChange(c, e)));
  context.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(() => c.output.info('workspace trusted: training is available')));
  const gpu = fs.existsSync(context.asAbsolutePath(`node_modules/${GPU_PACKAGE}/package.json`));
  c.output.info(`GPU backend ${GPU_PACKAGE}: ${gpu ? 'installed' : 'not installed (run "Codetune: GPU backend…" to see how to install it)'}`);
  if (!vscode.workspace.isTrusted) {
    c.output.info('untrusted workspace: training is off until the workspace is trusted');
  }
  // Not awaited: a hub model may need a download first; commands wait on ctx.starting.
  void c.start();
}

async function onConfigChange(c: Ctx, e: vscode.ConfigurationChangeEvent): Promise<void> {
  if (!e.affectsConfiguration('codetune')) {
    return;
  }
  const restart = restartKeys((k) => e.affectsConfiguration(k));
  if (restart.length > 0) {
    const b = await vscode.window.showInformationMessage(`Codetune: ${restart.join(', ')} changed; the server restarts to apply it.`, 'Restart now', 'Later');
    if (b === 'Restart now') {
      await c.restart();
    }
    return;
  }
  const modelChanged = SETTING_KEYS.some((k) => SETTING_EFFECT[k] === 'model' && e.affectsConfiguration(`codetune.${k}`));
  if (modelChanged && c.state.server === 'running') {
    const setting = c.config.baseModel;
    const dir = await resolveBaseModel(c, setting);
    if (!dir) {
      return;
    }
    c.modelDir = dir;
    try {
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Codetune: loading ${setting}` }, () =>
        c.client().sendRequest(LoadModelRequest, { model: dir }));
      c.dispatch({ type: 'modelReady', model: setting, backend: r.backend.backend });
      vscode.window.setStatusBarMessage(`$(check) Codetune: ${setting} is ready (${r.backend.backend}, ${Math.round(r.loadMs)} ms)`, 15_000);
    } catch (err) {
      c.dispatch({ type: 'modelError', message: `cannot load ${setting}: ${errorText(err)}` });
      void vscode.window.showErrorMessage(`Codetune: cannot load ${setting}: ${errorText(err)}`);
    }
  }
}

export async function deactivate(): Promise<void> {
  await ctx?.stop();
  ctx = undefined;
}
