// A test client for the built language server: spawns `node dist/cli.js serve --stdio`
// and talks JSON-RPC through vscode-languageserver-protocol, as an editor would.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CancellationTokenSource,
  createProtocolConnection,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  InlineCompletionRequest,
  InlineCompletionTriggerKind,
  LogMessageNotification,
  ResponseError,
  ShowMessageNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type InlineCompletionItem,
  type InlineCompletionList,
  type Position,
  type ProtocolConnection,
  type ServerCapabilities,
  type ShowMessageParams,
} from 'vscode-languageserver-protocol/node';
import { initBase, PRESETS } from '../../server/model/init';
import type { ServerSettings, ProgressParams, TrainingDoneParams } from '../../server/protocol';
import { ProgressNotification, StatusRequest, TrainingDoneNotification } from '../../server/protocol';
import { ROOT, tempDir } from '../helpers';

export const DIST_CLI = path.join(ROOT, 'dist', 'cli.js');

/** A tiny random base model (shared by the tests of one process). */
let tinyDir: string | null = null;
export function tinyModel(): string {
  if (!tinyDir) {
    tinyDir = path.join(tempDir('codetune-serve-model-'), 'tiny');
    initBase(tinyDir, PRESETS.tiny, { seed: 1 });
  }
  return tinyDir;
}

export function fileUri(p: string): string {
  return `file://${p}`;
}

export class TestServer {
  readonly messages: ShowMessageParams[] = [];
  readonly logs: string[] = [];
  readonly progress: ProgressParams[] = [];
  readonly done: TrainingDoneParams[] = [];
  readonly stderr: string[] = [];
  /** What `initialize` answered. */
  capabilities: ServerCapabilities = {};
  private versions = new Map<string, number>();
  private exited = false;
  private stopping = false;

  private constructor(readonly conn: ProtocolConnection, readonly proc: ChildProcess, readonly storage: string) {
    conn.onNotification(ShowMessageNotification.type, (m) => {
      this.messages.push(m);
    });
    conn.onNotification(LogMessageNotification.type, (m) => {
      this.logs.push(m.message);
    });
    conn.onNotification(ProgressNotification, (p) => {
      this.progress.push(p);
    });
    conn.onNotification(TrainingDoneNotification, (p) => {
      this.done.push(p);
    });
    proc.on('exit', (code, signal) => {
      this.exited = true;
      if (!this.stopping) {
        process.stdout.write(`# server exited unexpectedly (code ${code}, signal ${signal}): ${this.stderr.join('')}\n`);
      }
    });
  }

  /** Spawn and initialize. `init` are the initializationOptions; `args` extra CLI flags. */
  static async start(opts: { init?: ServerSettings; args?: string[]; workspaceFolders?: string[] } = {}): Promise<TestServer> {
    if (!fs.existsSync(DIST_CLI)) {
      throw new Error('dist/cli.js is missing: run `node scripts/build.mjs` first');
    }
    const storage = opts.init?.storagePath ?? tempDir('codetune-serve-store-');
    const proc = spawn(process.execPath, [DIST_CLI, 'serve', '--stdio', ...(opts.args ?? [])], { stdio: ['pipe', 'pipe', 'pipe'] });
    const conn = createProtocolConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
    const server = new TestServer(conn, proc, storage);
    proc.stderr!.on('data', (d: Buffer) => server.stderr.push(d.toString()));
    conn.listen();
    const folders = opts.workspaceFolders ?? [];
    const init = await conn.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: null,
      capabilities: {},
      workspaceFolders: folders.map((f) => ({ uri: fileUri(f), name: path.basename(f) })),
      initializationOptions: { storagePath: storage, ...opts.init },
    });
    server.capabilities = init.capabilities;
    await conn.sendNotification(InitializedNotification.type, {});
    return server;
  }

  get alive(): boolean {
    return !this.exited;
  }

  async open(uri: string, text: string, languageId = 'typescript'): Promise<void> {
    this.versions.set(uri, 1);
    await this.conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId, version: 1, text } });
  }

  /** Insert `text` at `at` (an incremental change). */
  async insert(uri: string, at: Position, text: string): Promise<void> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.conn.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: [{ range: { start: at, end: at }, text }] });
  }

  complete(uri: string, position: Position, token?: CancellationTokenSource): Promise<InlineCompletionList | InlineCompletionItem[] | null> {
    return this.conn.sendRequest(InlineCompletionRequest.type, { textDocument: { uri }, position, context: { triggerKind: InlineCompletionTriggerKind.Automatic } }, token?.token);
  }

  /** The items of a completion (the server answers with a list). */
  async items(uri: string, position: Position): Promise<InlineCompletionItem[]> {
    const r = await this.complete(uri, position);
    return r === null ? [] : Array.isArray(r) ? r : r.items;
  }

  status() {
    return this.conn.sendRequest(StatusRequest, {});
  }

  async stop(): Promise<void> {
    if (this.exited) {
      return;
    }
    this.stopping = true;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    try {
      await Promise.race([this.conn.sendRequest(ShutdownRequest.type), new Promise((r) => setTimeout(r, 5000))]);
      await this.conn.sendNotification(ExitNotification.type);
    } catch {
      // already closing
    }
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
    this.conn.dispose();
  }
}

/** The rejection of `p` as a ResponseError (fails when `p` resolves). */
export async function responseError(p: Promise<unknown>): Promise<ResponseError<unknown>> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ResponseError) {
      return e;
    }
    throw e;
  }
  throw new Error('expected an error response');
}

/** The Codetune error code in a ResponseError's data (ErrorData.code). */
export function dataCode(e: ResponseError<unknown>): string | undefined {
  const d: unknown = e.data;
  return d !== null && typeof d === 'object' && 'code' in d && typeof d.code === 'string' ? d.code : undefined;
}

export { CancellationTokenSource };
