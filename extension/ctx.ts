// The one context object, after rust-analyzer's Ctx: it owns the language client,
// the config, the status bar item, the adapter-set store, the current training run
// and every disposable. Commands receive it and ask it for what they need.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { State, type LanguageClient } from 'vscode-languageclient/node';
import {
  ListAdaptersRequest,
  ProgressNotification,
  SetActiveAdaptersRequest,
  StatusRequest,
  TrainingDoneNotification,
  type ActiveAdapter,
  type AdapterInfo,
  type ProgressParams,
  type TrainingDoneParams,
} from '../server/protocol';
import type { RunView } from '../webview/messages';
import { AdapterSetStore } from './adapterSet';
import { createClient } from './client';
import type { CommandEnv } from './commandTable';
import { Config } from './config';
import { resolveBaseModel } from './models';
import { RestartPolicy, addProgress, datasetFromMeta, finishRun, newRun } from './runs';
import { INITIAL, reduce, render, type StatusEvent, type StatusState } from './status';

const LAST_RUN_KEY = 'codetune.lastRun';

/** Thrown by `ctx.client()` when the server is not running; commands show its message. */
export class ServerDown extends Error {}

export class Ctx implements vscode.Disposable {
  readonly output: vscode.LogOutputChannel;
  readonly adapters: AdapterSetStore;
  readonly onRun = new vscode.EventEmitter<RunView>();
  readonly onAdapters = new vscode.EventEmitter<void>();
  readonly onProgress = new vscode.EventEmitter<ProgressParams>();
  state: StatusState = INITIAL;
  run: RunView | null;
  adapterList: AdapterInfo[] = [];
  /** The folder the server loads (the baseModel setting resolved); null when none is set. */
  modelDir: string | null = null;
  private lc: LanguageClient | null = null;
  private readonly item: vscode.StatusBarItem;
  private readonly restarts = new RestartPolicy();
  private readonly waiters = new Map<string, (d: TrainingDoneParams) => void>();
  private readonly early = new Map<string, TrainingDoneParams>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(readonly ext: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('Codetune', { log: true });
    this.adapters = new AdapterSetStore(ext.workspaceState);
    this.run = ext.workspaceState.get<RunView>(LAST_RUN_KEY) ?? null;
    this.item = vscode.window.createStatusBarItem('codetune.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Codetune';
    this.item.command = 'codetune.chooseAdapters';
    this.disposables.push(this.output, this.item, this.onRun, this.onAdapters, this.onProgress,
      vscode.window.onDidChangeActiveTextEditor(() => this.showAdapterNames()));
    this.redraw();
    this.item.show();
  }

  get config(): Config {
    return new Config(vscode.workspace.getConfiguration('codetune'));
  }

  get storagePath(): string {
    return this.config.adapterStorage || this.ext.globalStorageUri.fsPath;
  }

  dispatch(e: StatusEvent): void {
    this.state = reduce(this.state, e);
    this.redraw();
  }

  private redraw(): void {
    const r = render(this.state);
    this.item.text = r.text;
    this.item.tooltip = r.tooltip;
    this.item.accessibilityInformation = { label: r.text.replace(/\$\([^)]*\)\s*/g, ''), role: 'button' };
    this.item.backgroundColor = r.severity === 'normal' ? undefined : new vscode.ThemeColor(`statusBarItem.${r.severity}Background`);
  }

  env(): CommandEnv {
    return {
      enabled: this.config.enable,
      server: this.state.server,
      serverError: this.state.server === 'stopped' ? this.state.error : null,
      trusted: vscode.workspace.isTrusted,
      folders: vscode.workspace.workspaceFolders?.length ?? 0,
      training: this.state.training !== null,
    };
  }

  /** The running client; ServerDown (with a message to show) otherwise. */
  client(): LanguageClient {
    if (!this.lc || this.state.server !== 'running') {
      throw new ServerDown(this.state.server === 'off' ? 'Codetune is turned off (codetune.enable).' : 'The Codetune server is not running. Run "Codetune: Restart server".');
    }
    return this.lc;
  }

  /** The workspace folder of the active editor, else the first one; null without folders. */
  currentFolder(): vscode.WorkspaceFolder | null {
    const doc = vscode.window.activeTextEditor?.document;
    return (doc && vscode.workspace.getWorkspaceFolder(doc.uri)) ?? vscode.workspace.workspaceFolders?.[0] ?? null;
  }

  /** Settles when the last start() has finished (the server is up, or it failed). */
  starting: Promise<void> = Promise.resolve();

  start(): Promise<void> {
    this.starting = this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const config = this.config;
    if (!config.enable) {
      this.dispatch({ type: 'disabled' });
      return;
    }
    this.dispatch({ type: 'serverStarting' });
    if (config.baseModel === '') {
      void vscode.window.showInformationMessage('Codetune: choose a base model to get completions and to train.', 'Select base model…')
        .then((b) => b && vscode.commands.executeCommand('codetune.selectBaseModel'));
    }
    this.modelDir = await resolveBaseModel(this, config.baseModel);
    this.dispatch({ type: 'modelReady', model: config.baseModel || 'not set' });
    const client = createClient({
      cliPath: this.ext.asAbsolutePath(path.join('dist', 'cli.js')),
      languages: config.languages,
      output: this.output,
      initializationOptions: () => this.config.serverSettings(this.storagePath, this.modelDir),
      debounceMs: () => this.config.debounceMs,
      onCrash: () => this.crashed(),
    });
    this.lc = client;
    client.onNotification(ProgressNotification, (p) => {
      this.run = addProgress(this.run && this.run.jobId === p.jobId ? this.run : newRun(p.jobId, ''), p);
      if (!this.state.training) {
        this.dispatch({ type: 'trainStarted', folder: this.run.folder });
      }
      this.dispatch({ type: 'progress', step: p.step, totalSteps: p.totalSteps, loss: p.loss, etaSec: p.etaSec });
      this.onRun.fire(this.run);
      this.onProgress.fire(p);
    });
    client.onNotification(TrainingDoneNotification, (d) => void this.trainingDone(d));
    client.onDidChangeState((e) => {
      if (e.newState === State.Running) {
        void this.serverRunning();
      } else if (e.newState === State.Starting) {
        this.dispatch({ type: 'serverStarting' });
      }
    });
    try {
      await client.start();
    } catch (e) {
      this.lc = null;
      this.dispatch({ type: 'serverStopped', reason: `the server did not start: ${e instanceof Error ? e.message : String(e)}` });
      void vscode.window.showErrorMessage(`Codetune: the server did not start: ${e instanceof Error ? e.message : String(e)}`, 'Show logs')
        .then((b) => b && this.output.show());
    }
  }

  private crashed(): { restart: boolean; message: string } {
    const r = this.restarts.record();
    this.dispatch({ type: 'serverStopped', reason: r.restart ? 'the server stopped unexpectedly; restarting' : 'the server stopped unexpectedly' });
    const show = r.restart ? vscode.window.showWarningMessage : vscode.window.showErrorMessage;
    void show(`Codetune: ${r.message}`, 'Show logs').then((b) => b && this.output.show());
    for (const [jobId, resolve] of this.waiters) {
      resolve({ jobId, adapter: null, metrics: null, error: { code: 'SERVER_STOPPED', message: 'the server stopped during training' } });
    }
    this.waiters.clear();
    return r;
  }

  /** On every (re)start: send the stored adapter sets, then learn the adapters and backend. */
  private async serverRunning(): Promise<void> {
    this.dispatch({ type: 'serverRunning' });
    const client = this.lc;
    if (!client) {
      return;
    }
    try {
      for (const f of vscode.workspace.workspaceFolders ?? []) {
        await client.sendRequest(SetActiveAdaptersRequest, { workspaceFolder: f.uri.toString(), adapters: this.adapters.get(f.uri.toString()) });
      }
      await this.refreshAdapters();
      const st = await client.sendRequest(StatusRequest, null);
      this.dispatch({ type: 'modelReady', model: this.config.baseModel || st.model.dir || 'not set', backend: st.backend?.backend ?? null });
      if (st.training.state === 'running' && st.training.jobId) {
        // A job from before a window reload: follow it (its adapter is turned on when done).
        this.startRun(st.training.jobId, st.training.workspaceFolder ?? '');
      }
    } catch (e) {
      this.output.warn(`after start: ${e instanceof Error ? e.message : String(e)}`);
      // An unknown adapter id in a stored set (deleted elsewhere) is pruned by refreshAdapters.
      await this.refreshAdapters().catch(() => undefined);
    }
  }

  /** Ask the server for the adapter list; drop deleted ids from the stored sets. */
  async refreshAdapters(): Promise<AdapterInfo[]> {
    const { adapters } = await this.client().sendRequest(ListAdaptersRequest, null);
    this.adapterList = adapters;
    for (const folder of await this.adapters.prune(adapters.map((a) => a.id))) {
      await this.client().sendRequest(SetActiveAdaptersRequest, { workspaceFolder: folder, adapters: this.adapters.get(folder) });
    }
    this.showAdapterNames();
    this.onAdapters.fire();
    return adapters;
  }

  /** Store a folder's set, send it to the server, redraw. */
  async setActive(folder: string, list: ActiveAdapter[]): Promise<ActiveAdapter[]> {
    const stored = await this.adapters.set(folder, list);
    await this.client().sendRequest(SetActiveAdaptersRequest, { workspaceFolder: folder, adapters: stored });
    this.showAdapterNames();
    this.onAdapters.fire();
    return stored;
  }

  private showAdapterNames(): void {
    const folder = this.currentFolder()?.uri.toString();
    const set = folder ? this.adapters.get(folder) : [];
    const names = set.map((a) => {
      const name = this.adapterList.find((x) => x.id === a.id)?.name ?? a.id;
      return a.weight === 1 ? name : `${name}×${a.weight}`;
    });
    this.dispatch({ type: 'adapters', names });
  }

  startRun(jobId: string, folder: string): void {
    // Progress may have arrived before the train request's answer.
    this.run = this.run?.jobId === jobId ? { ...this.run, folder } : newRun(jobId, folder);
    if (!this.state.training) {
      const name = folder ? vscode.workspace.getWorkspaceFolder(vscode.Uri.parse(folder))?.name ?? folder : 'the workspace';
      this.dispatch({ type: 'trainStarted', folder: name });
    }
    this.onRun.fire(this.run);
  }

  /** Resolves with the job's `trainingDone` (or a SERVER_STOPPED error if the server dies first). */
  waitForDone(jobId: string): Promise<TrainingDoneParams> {
    const early = this.early.get(jobId);
    if (early) {
      this.early.delete(jobId);
      return Promise.resolve(early);
    }
    return new Promise((resolve) => this.waiters.set(jobId, resolve));
  }

  private async trainingDone(d: TrainingDoneParams): Promise<void> {
    this.dispatch({ type: 'trainEnded' });
    let dataset = null;
    if (d.adapter) {
      try {
        dataset = datasetFromMeta(JSON.parse(fs.readFileSync(path.join(this.storagePath, 'adapters', d.adapter.id, 'codetune.json'), 'utf8')));
      } catch {
        dataset = null;
      }
    }
    const run = this.run && this.run.jobId === d.jobId ? this.run : newRun(d.jobId, '');
    this.run = finishRun(run, d, dataset);
    await this.ext.workspaceState.update(LAST_RUN_KEY, this.run);
    try {
      const all = await this.refreshAdapters();
      if (d.adapter && this.run.folder) {
        const sameRepo = all.filter((a) => a.id !== d.adapter?.id && a.repo !== null && a.repo === d.adapter?.repo).map((a) => a.id);
        const set = await this.adapters.activateNew(this.run.folder, d.adapter.id, sameRepo);
        await this.setActive(this.run.folder, set);
      }
    } catch (e) {
      this.output.error(`after training: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.onRun.fire(this.run);
    const waiter = this.waiters.get(d.jobId);
    if (waiter) {
      this.waiters.delete(d.jobId);
      waiter(d);
    } else {
      this.early.set(d.jobId, d);
    }
  }

  async stop(): Promise<void> {
    const client = this.lc;
    this.lc = null;
    if (client) {
      await client.stop().catch((e: unknown) => this.output.warn(`stopping the server: ${String(e)}`));
      await client.dispose().catch(() => undefined);
    }
    this.dispatch({ type: 'disabled' });
  }

  async restart(): Promise<void> {
    this.restarts.reset();
    await this.stop();
    await this.start();
  }

  dispose(): void {
    void this.stop();
    this.disposables.forEach((d) => d.dispose());
  }
}
