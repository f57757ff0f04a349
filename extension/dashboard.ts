// The training dashboard: one webview panel (restored after a reload by its
// serializer). It gets a snapshot when the page says it is ready, then every run
// update; the page's adapter toggles act on the workspace's active set.
import * as crypto from 'node:crypto';
import * as vscode from 'vscode';
import { StatusRequest } from '../server/protocol';
import type { DashboardSnapshot, FromPage, ToPage } from '../webview/messages';
import type { Ctx } from './ctx';
import { dashboardHtml, makeNonce } from './html';

export const VIEW_TYPE = 'codetune.dashboard';

function isFromPage(m: unknown): m is FromPage {
  if (!m || typeof m !== 'object') {
    return false;
  }
  const o = m as Record<string, unknown>;
  return o.type === 'ready'
    || (o.type === 'setEnabled' && typeof o.id === 'string' && typeof o.enabled === 'boolean')
    || (o.type === 'command' && (o.command === 'train' || o.command === 'cancel' || o.command === 'chooseAdapters'));
}

export class Dashboard {
  private static current: Dashboard | undefined;
  private readonly subs: vscode.Disposable[] = [];

  static show(ctx: Ctx): void {
    if (Dashboard.current) {
      Dashboard.current.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(VIEW_TYPE, 'Codetune training', vscode.ViewColumn.Active, Dashboard.options(ctx));
    Dashboard.current = new Dashboard(ctx, panel);
  }

  /** Restores the panel after a window reload. */
  static serializer(ctx: Ctx): vscode.WebviewPanelSerializer {
    return {
      deserializeWebviewPanel: async (panel: vscode.WebviewPanel) => {
        panel.webview.options = Dashboard.options(ctx);
        Dashboard.current?.dispose();
        Dashboard.current = new Dashboard(ctx, panel);
      },
    };
  }

  private static options(ctx: Ctx): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return { enableScripts: true, retainContextWhenHidden: false, localResourceRoots: [vscode.Uri.joinPath(ctx.ext.extensionUri, 'dist')] };
  }

  private constructor(private readonly ctx: Ctx, private readonly panel: vscode.WebviewPanel) {
    const w = panel.webview;
    const dist = vscode.Uri.joinPath(ctx.ext.extensionUri, 'dist');
    w.html = dashboardHtml({
      cspSource: w.cspSource,
      nonce: makeNonce((n) => crypto.randomBytes(n)),
      script: w.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
      style: w.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css')).toString(),
    });
    this.subs.push(
      w.onDidReceiveMessage((m: unknown) => void this.receive(m)),
      ctx.onRun.event((run) => void this.post({ type: 'run', run })),
      ctx.onAdapters.event(() => void this.snapshot().then((s) => this.post({ type: 'snapshot', snapshot: s }))),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  private post(m: ToPage): Thenable<boolean> {
    return this.panel.webview.postMessage(m);
  }

  private folder(): string | null {
    return this.ctx.currentFolder()?.uri.toString() ?? null;
  }

  async snapshot(): Promise<DashboardSnapshot> {
    const folder = this.folder();
    let backend = this.ctx.state.backend;
    if (this.ctx.state.server === 'running') {
      try {
        const st = await this.ctx.client().sendRequest(StatusRequest, null);
        backend = st.backend ? `${st.backend.backend} (${st.backend.provider})` : backend;
      } catch {
        // the snapshot still shows what the extension knows
      }
    }
    return {
      run: this.ctx.run,
      adapters: this.ctx.adapterList,
      folder: folder ? vscode.workspace.getWorkspaceFolder(vscode.Uri.parse(folder))?.name ?? folder : null,
      active: folder ? this.ctx.adapters.get(folder) : [],
      backend,
      serverRunning: this.ctx.state.server === 'running',
    };
  }

  private async receive(m: unknown): Promise<void> {
    if (!isFromPage(m)) {
      return;
    }
    try {
      switch (m.type) {
        case 'ready':
          if (this.ctx.state.server === 'running') {
            await this.ctx.refreshAdapters().catch(() => undefined);
          }
          await this.post({ type: 'snapshot', snapshot: await this.snapshot() });
          return;
        case 'setEnabled': {
          const folder = this.folder();
          if (!folder) {
            void vscode.window.showInformationMessage('Codetune: open a folder to turn adapters on for it.');
            return;
          }
          await this.ctx.setActive(folder, await this.ctx.adapters.toggle(folder, m.id, m.enabled));
          return;
        }
        case 'command': {
          const id = { train: 'codetune.train', cancel: 'codetune.cancelTraining', chooseAdapters: 'codetune.chooseAdapters' }[m.command];
          await vscode.commands.executeCommand(id);
          return;
        }
      }
    } catch (e) {
      void vscode.window.showErrorMessage(`Codetune: ${e instanceof Error ? e.message : String(e)}`);
      // Redraw from the truth, so a toggle that failed flips back.
      await this.post({ type: 'snapshot', snapshot: await this.snapshot() });
    }
  }

  dispose(): void {
    if (Dashboard.current === this) {
      Dashboard.current = undefined;
    }
    this.subs.forEach((s) => s.dispose());
    this.panel.dispose();
  }
}
