// The language server entry: LSP over stdio or node IPC (vscode-languageserver 11,
// protocol 3.18). Completions are `textDocument/inlineCompletion`; everything else is a
// `codetune/` request from protocol.ts. Errors become LSP errors in one place
// (`toResponseError`); every handler is wrapped, so a bad request never ends the server.
import {
  createConnection,
  ErrorCodes,
  IPCMessageReader,
  IPCMessageWriter,
  LSPErrorCodes,
  MessageType,
  ResponseError,
  ShowMessageNotification,
  StreamMessageReader,
  StreamMessageWriter,
  TextDocuments,
  TextDocumentSyncKind,
  type CancellationToken,
  type Connection,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { CodetuneError, describeError, isCodetuneError } from './errors';
import {
  CancelTrainingRequest,
  DeleteAdapterRequest,
  ExportAdapterRequest,
  ImportAdapterRequest,
  ListAdaptersRequest,
  LoadModelRequest,
  ProgressNotification,
  SetActiveAdaptersRequest,
  StatusRequest,
  TrainingDoneNotification,
  TrainRequest,
  type ErrorData,
  type ServerSettings,
} from './protocol';
import { resolveSettings } from './serve/config';
import { StaleRequest } from './serve/engine';
import { CodetuneService } from './serve/service';

/** Codes whose cause is the request itself (bad params, unknown ids, positions). */
const INVALID_PARAMS = new Set(['USAGE', 'NOT_FOUND']);

/** The one place where errors become LSP errors. `data.code` keeps the Codetune code. */
export function toResponseError(e: unknown, log: (m: string) => void): ResponseError<ErrorData> {
  if (e instanceof StaleRequest) {
    return new ResponseError(LSPErrorCodes.RequestCancelled, e.message, { code: 'CANCELLED' });
  }
  if (isCodetuneError(e)) {
    const lspCode = e.code === 'CANCELLED' ? LSPErrorCodes.RequestCancelled : INVALID_PARAMS.has(e.code) ? ErrorCodes.InvalidParams : LSPErrorCodes.RequestFailed;
    return new ResponseError(lspCode, describeError(e), { code: e.code, file: e.file, tensor: e.tensor });
  }
  // A bug: say so briefly to the client, with the stack in the log.
  log(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  return new ResponseError(ErrorCodes.InternalError, `internal error: ${describeError(e)}`, { code: 'INTERNAL' });
}

export interface ServeOptions {
  transport: 'stdio' | 'node-ipc';
  flags: ServerSettings;
}

function connect(transport: ServeOptions['transport']): Connection {
  if (transport === 'stdio') {
    // stdout carries the protocol: anything a library prints goes to stderr instead.
    const toStderr = (...args: unknown[]) => void process.stderr.write(`${args.map(String).join(' ')}\n`);
    console.log = toStderr;
    console.info = toStderr;
    console.debug = toStderr;
  }
  return transport === 'stdio'
    ? createConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout))
    : createConnection(new IPCMessageReader(process), new IPCMessageWriter(process));
}

/** Start the server; it runs until the client sends `exit` (or the stream closes). */
export function startServer(opts: ServeOptions): void {
  const connection = connect(opts.transport);
  const documents = new TextDocuments(TextDocument);
  let service: CodetuneService | null = null;
  let lastShown = '';
  const log = (m: string) => connection.console.log(m);
  /** `window/showMessage` (a notification: nothing to await, nothing that can reject later). */
  const showError = (message: string) => void connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Error, message }).catch(() => undefined);

  const ready = (): CodetuneService => {
    if (!service) {
      throw new CodetuneError('USAGE', 'the server is not initialized');
    }
    return service;
  };
  /** Wrap a handler: anything it throws or rejects with becomes a ResponseError. */
  const handle = <P, R>(fn: (params: P, token: CancellationToken) => Promise<R> | R) => {
    return async (params: P, token: CancellationToken): Promise<R | ResponseError<ErrorData>> => {
      try {
        return await fn(params, token);
      } catch (e) {
        return toResponseError(e, log);
      }
    };
  };
  /** The same for standard requests, whose errors carry no data (the LSP code and message say it). */
  const handlePlain = <P, R>(fn: (params: P, token: CancellationToken) => Promise<R> | R) => {
    return async (params: P, token: CancellationToken): Promise<R | ResponseError> => {
      try {
        return await fn(params, token);
      } catch (e) {
        const err = toResponseError(e, log);
        return new ResponseError(err.code, err.message);
      }
    };
  };

  connection.onInitialize((params): InitializeResult => {
    let settings;
    try {
      settings = resolveSettings(params.initializationOptions, opts.flags);
    } catch (e) {
      showError(`Codetune: ignoring invalid initializationOptions: ${describeError(e)}`);
      settings = resolveSettings(null, opts.flags);
    }
    service = new CodetuneService(settings, {
      log,
      showError: (m) => {
        if (m !== lastShown) {
          lastShown = m;
          showError(m);
        }
      },
      progress: (p) => void connection.sendNotification(ProgressNotification, p).catch(() => undefined),
      trainingDone: (p) => void connection.sendNotification(TrainingDoneNotification, p).catch(() => undefined),
    });
    folderEvents = params.capabilities.workspace?.workspaceFolders === true;
    const folders = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
    service.workspaceFolders = folders.map((f) => f.replace(/\/+$/, ''));
    log(`codetune server: storage ${settings.storagePath}, base model ${settings.baseModel ?? '(none)'}, ${folders.length} workspace folder(s)`);
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        inlineCompletionProvider: true,
        workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
      },
      serverInfo: { name: 'codetune' },
    };
  });

  let folderEvents = false;
  connection.onInitialized(() => {
    if (!folderEvents) {
      return;
    }
    connection.workspace.onDidChangeWorkspaceFolders((e) => {
      const s = ready();
      const removed = new Set(e.removed.map((f) => f.uri.replace(/\/+$/, '')));
      s.workspaceFolders = [...s.workspaceFolders.filter((f) => !removed.has(f)), ...e.added.map((f) => f.uri.replace(/\/+$/, ''))];
    });
  });

  connection.languages.inlineCompletion.on(
    handlePlain(async (params, token) => {
      const doc = documents.get(params.textDocument.uri);
      if (!doc) {
        throw new CodetuneError('NOT_FOUND', `document ${params.textDocument.uri} is not open; send textDocument/didOpen first`);
      }
      const out = await ready().complete(doc.uri, doc.getText(), params.position, token);
      const at = { line: params.position.line, character: params.position.character };
      return { items: out.text === null ? [] : [{ insertText: out.text, range: { start: at, end: at } }] };
    }),
  );

  connection.onRequest(StatusRequest, handle(() => ready().status()));
  connection.onRequest(LoadModelRequest, handle((p) => ready().loadModel(p?.model)));
  connection.onRequest(TrainRequest, handle(async (p) => ({ jobId: await ready().training.start(p?.workspaceFolder, p?.options ?? {}) })));
  connection.onRequest(CancelTrainingRequest, handle((p) => ({ cancelled: ready().training.cancel(p?.jobId) })));
  connection.onRequest(ListAdaptersRequest, handle(() => ({ adapters: ready().listAdapters() })));
  connection.onRequest(SetActiveAdaptersRequest, handle((p) => ready().setActive(p?.workspaceFolder, p?.adapters)));
  connection.onRequest(DeleteAdapterRequest, handle(async (p) => {
    await ready().deleteAdapter(p?.id);
    return { deleted: true };
  }));
  connection.onRequest(ImportAdapterRequest, handle((p) => ready().importAdapter(p?.path, p?.name)));
  connection.onRequest(ExportAdapterRequest, handle((p) => ({ path: ready().exportAdapter(p?.id, p?.path) })));

  connection.onShutdown(() => {
    service?.dispose();
    service = null;
  });

  documents.listen(connection);
  connection.listen();
}
