// Adapter commands: choose the workspace's set (multi-select, then weights), import a
// PEFT folder, export, delete.
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DeleteAdapterRequest, ExportAdapterRequest, ImportAdapterRequest, type AdapterInfo } from '../server/protocol';
import { parseWeight } from './adapterSet';
import { pickFolder } from './commands';
import type { Ctx } from './ctx';
import { adapterRow } from './format';

type AdapterPick = vscode.QuickPickItem & { adapter: AdapterInfo };

async function listOrSay(ctx: Ctx): Promise<AdapterInfo[] | null> {
  const list = await ctx.refreshAdapters();
  if (list.length === 0) {
    const b = await vscode.window.showInformationMessage('Codetune: no adapters yet. Train one on this repo, or import a PEFT folder.', 'Train on this repo', 'Import adapter…');
    if (b) {
      await vscode.commands.executeCommand(b === 'Train on this repo' ? 'codetune.train' : 'codetune.importAdapter');
    }
    return null;
  }
  return list;
}

async function pickOne(ctx: Ctx, placeHolder: string): Promise<AdapterInfo | null> {
  const list = await listOrSay(ctx);
  if (!list) {
    return null;
  }
  const picked = await vscode.window.showQuickPick<AdapterPick>(list.map((a) => ({ ...adapterRow(a), adapter: a })), { placeHolder, matchOnDescription: true, matchOnDetail: true });
  return picked?.adapter ?? null;
}

/** Multi-select of stored adapters; with more than one chosen, a weight for each. */
export async function chooseAdapters(ctx: Ctx): Promise<void> {
  const folder = await pickFolder('Choose adapters for which folder?');
  if (!folder) {
    void vscode.window.showInformationMessage('Codetune: open a folder to choose adapters for it.');
    return;
  }
  const key = folder.uri.toString();
  const list = await listOrSay(ctx);
  if (!list) {
    return;
  }
  const current = new Map(ctx.adapters.get(key).map((a) => [a.id, a.weight]));
  const items: AdapterPick[] = list.map((a) => ({ ...adapterRow(a), adapter: a, picked: current.has(a.id) }));
  const chosen = await vscode.window.showQuickPick(items, {
    canPickMany: true,
    title: `Codetune: adapters for ${folder.name}`,
    placeHolder: 'Select the adapters to merge into the base model (none: base model only)',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (!chosen) {
    return;
  }
  const set = chosen.map((c) => ({ id: c.adapter.id, weight: current.get(c.adapter.id) ?? 1 }));
  if (set.length > 1) {
    for (const [i, a] of set.entries()) {
      const name = chosen[i].adapter.name;
      const text = await vscode.window.showInputBox({
        title: `Codetune: weight of ${name} (${i + 1} of ${set.length})`,
        prompt: 'Its delta is scaled by this weight before it is summed with the others (1 = as trained).',
        value: String(a.weight),
        validateInput: (v) => (parseWeight(v) === null ? 'A number between -10 and 10' : undefined),
      });
      if (text === undefined) {
        return;
      }
      a.weight = parseWeight(text) ?? a.weight;
    }
  }
  await ctx.setActive(key, set);
}

export async function importAdapter(ctx: Ctx): Promise<void> {
  const uri = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Import adapter', title: 'A PEFT adapter folder (adapter_config.json + adapter_model.safetensors)' });
  if (!uri?.[0]) {
    return;
  }
  const info = await ctx.client().sendRequest(ImportAdapterRequest, { path: uri[0].fsPath });
  await ctx.refreshAdapters();
  const folder = ctx.currentFolder();
  const b = await vscode.window.showInformationMessage(`Codetune: imported adapter "${info.name}" (${info.id}).`, ...(folder ? ['Turn it on'] : []));
  if (b && folder) {
    await ctx.setActive(folder.uri.toString(), await ctx.adapters.toggle(folder.uri.toString(), info.id, true));
  }
}

export async function exportAdapter(ctx: Ctx): Promise<void> {
  const a = await pickOne(ctx, 'Export which adapter (as a PEFT folder)?');
  if (!a) {
    return;
  }
  const base = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? os.homedir();
  const dest = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(path.join(base, `${a.name.replace(/[^\w.-]+/g, '-')}-adapter`)), saveLabel: 'Export here', title: 'A new folder for the PEFT adapter' });
  if (!dest) {
    return;
  }
  const r = await ctx.client().sendRequest(ExportAdapterRequest, { id: a.id, path: dest.fsPath });
  void vscode.window.showInformationMessage(`Codetune: exported "${a.name}" to ${r.path}.`);
}

export async function deleteAdapter(ctx: Ctx): Promise<void> {
  const a = await pickOne(ctx, 'Delete which adapter?');
  if (!a) {
    return;
  }
  const ok = await vscode.window.showWarningMessage(`Delete adapter "${a.name}"?`, { modal: true, detail: `Its files in the adapter store are removed, and it is turned off wherever it was on. (${a.id})` }, 'Delete');
  if (ok !== 'Delete') {
    return;
  }
  await ctx.client().sendRequest(DeleteAdapterRequest, { id: a.id });
  await ctx.refreshAdapters();
  void vscode.window.showInformationMessage(`Codetune: deleted adapter "${a.name}".`);
}
