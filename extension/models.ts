// Base models: "Select base model…" (a folder, a cached hub model, or a typed path or
// hub id) and turning the `codetune.baseModel` setting into a folder for the server.
// Hub ids are downloaded by the bundled CLI (`codetune download --json`), with a
// cancellable progress notification; the extension never imports the hub code.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Ctx } from './ctx';
import { LineSplitter, cliError, isHubId, parseDownloadLine, percent } from './download';
import { bytes, duration } from './format';

/** Hub id → snapshot folder of models this extension downloaded or resolved. */
const SNAPSHOTS_KEY = 'codetune.hubSnapshots';

function runCli(ctx: Ctx, args: string[]) {
  return spawn(process.execPath, [ctx.ext.asAbsolutePath(path.join('dist', 'cli.js')), ...args], {
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** `~`, relative paths (against the first workspace folder) → absolute. */
export function expandFolder(p: string): string {
  const home = p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
  const base = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? os.homedir();
  return path.resolve(base, home);
}

/**
 * Download (or resolve from the cache) a hub model, with a progress notification that
 * can cancel. Resolves to the snapshot folder, or null when cancelled or failed (the
 * user has been told why).
 */
export async function downloadModel(ctx: Ctx, id: string): Promise<string | null> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Codetune: downloading ${id}`, cancellable: true }, (progress, token) =>
    new Promise<string | null>((resolve) => {
      const child = runCli(ctx, ['download', id, '--json']);
      const lines = new LineSplitter();
      let snapshot: string | null = null;
      let stderr = '';
      let shown = 0;
      const cancel = token.onCancellationRequested(() => child.kill('SIGINT')); // the CLI stops cleanly; the next run resumes
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        for (const line of lines.push(chunk)) {
          const ev = parseDownloadLine(line);
          if (ev?.event === 'done') {
            snapshot = ev.snapshot;
          } else if (ev?.event === 'progress') {
            const pc = percent(ev);
            const eta = ev.etaSeconds !== null ? ` · ${duration(ev.etaSeconds)} left` : '';
            progress.report({ increment: Math.max(0, pc - shown), message: `${ev.file} · ${bytes(ev.bytes)} of ${bytes(ev.total)}${ev.rate > 0 ? ` · ${bytes(ev.rate)}/s` : ''}${eta}` });
            shown = Math.max(shown, pc);
          }
        }
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        ctx.output.info(`download: ${chunk.trimEnd()}`);
      });
      child.on('error', (e) => {
        cancel.dispose();
        void vscode.window.showErrorMessage(`Codetune: cannot run the download: ${e.message}`);
        resolve(null);
      });
      child.on('close', (code) => {
        cancel.dispose();
        if (snapshot) {
          resolve(snapshot);
        } else if (token.isCancellationRequested) {
          void vscode.window.showInformationMessage(`Codetune: download of ${id} cancelled; running it again resumes where it stopped.`);
          resolve(null);
        } else {
          void vscode.window.showErrorMessage(`Codetune: cannot download ${id}: ${cliError(stderr, code)}`);
          resolve(null);
        }
      });
    }));
}

/**
 * The folder the server should load for the `codetune.baseModel` value: '' → null; a
 * folder → itself; a hub id → its snapshot (remembered, else resolved/downloaded now).
 */
export async function resolveBaseModel(ctx: Ctx, setting: string): Promise<string | null> {
  if (setting === '') {
    return null;
  }
  if (!isHubId(setting)) {
    return expandFolder(setting);
  }
  const known = ctx.ext.globalState.get<Record<string, string>>(SNAPSHOTS_KEY) ?? {};
  if (known[setting] && fs.existsSync(known[setting])) {
    return known[setting];
  }
  const snap = await downloadModel(ctx, setting);
  if (snap) {
    await ctx.ext.globalState.update(SNAPSHOTS_KEY, { ...known, [setting]: snap });
  }
  return snap;
}

interface CachedModel {
  id: string;
  path: string;
  sizeBytes: number;
  architecture: string | null;
  supported: boolean;
  reason?: string;
}

/** The Hugging Face cache's models (`codetune models --json`); [] when that fails. */
function cachedModels(ctx: Ctx): Promise<CachedModel[]> {
  return new Promise((resolve) => {
    const child = runCli(ctx, ['models', '--json']);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.on('error', () => resolve([]));
    child.on('close', () => {
      try {
        const v = JSON.parse(out) as { models?: CachedModel[] };
        resolve(Array.isArray(v.models) ? v.models : []);
      } catch {
        resolve([]);
      }
    });
  });
}

type ModelPick = vscode.QuickPickItem & { value?: string; browse?: boolean };

/** "Select base model…": pick a folder, a cached model, or type a path or hub id. */
export async function selectBaseModel(ctx: Ctx): Promise<void> {
  const qp = vscode.window.createQuickPick<ModelPick>();
  qp.title = 'Codetune: base model';
  qp.placeholder = 'Type a model folder or a Hugging Face id (org/name[@revision]), or pick one';
  qp.busy = true;
  const fixed: ModelPick[] = [{ label: '$(folder-opened) Browse for a model folder…', browse: true, alwaysShow: true }];
  let cached: ModelPick[] = [];
  const refresh = () => {
    const v = qp.value.trim();
    const typed: ModelPick[] = v === '' ? [] : [{
      label: isHubId(v) ? `$(cloud-download) ${v}` : `$(folder) ${v}`,
      description: isHubId(v) ? 'Hugging Face hub id: resolve from the cache or download' : 'model folder',
      value: v,
      alwaysShow: true,
    }];
    qp.items = [...typed, ...fixed, ...cached];
  };
  qp.onDidChangeValue(refresh);
  refresh();
  qp.show();
  void cachedModels(ctx).then((list) => {
    cached = list.map((m) => ({
      label: `$(database) ${m.id}`,
      description: `${bytes(m.sizeBytes)} · ${m.architecture ?? '?'}${m.supported ? '' : ` · not supported: ${m.reason ?? ''}`}`,
      value: m.id,
    }));
    qp.busy = false;
    refresh();
  });
  const picked = await new Promise<ModelPick | undefined>((resolve) => {
    qp.onDidAccept(() => resolve(qp.selectedItems[0]));
    qp.onDidHide(() => resolve(undefined));
  });
  qp.dispose();
  if (!picked) {
    return;
  }
  let value = picked.value;
  if (picked.browse) {
    const uri = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this model', title: 'A folder with config.json, *.safetensors and tokenizer.json' });
    value = uri?.[0]?.fsPath;
  }
  if (!value) {
    return;
  }
  if (!isHubId(value)) {
    const dir = expandFolder(value);
    if (!fs.existsSync(path.join(dir, 'config.json'))) {
      void vscode.window.showErrorMessage(`Codetune: ${dir} has no config.json; choose a Hugging Face model folder (config.json, *.safetensors, tokenizer.json).`);
      return;
    }
  } else if (!(await resolveBaseModel(ctx, value))) {
    return;
  }
  // The configuration listener loads the model into the running server.
  await vscode.workspace.getConfiguration('codetune').update('baseModel', value, vscode.ConfigurationTarget.Global);
}
