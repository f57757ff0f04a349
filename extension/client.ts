// The language client: the bundled server (`dist/cli.js serve`) over node IPC,
// inline completions (LSP 3.18 textDocument/inlineCompletion) for the configured
// languages, a client-side debounce, and a crash handler that restarts the server
// and tells the user.
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  TransportKind,
  type CloseHandlerResult,
  type ErrorHandlerResult,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import type { ServerSettings } from '../server/protocol';

export interface ClientOptions {
  cliPath: string;
  languages: string[];
  output: vscode.LogOutputChannel;
  /** Read at every (re)start, so a restart after a crash sends the current settings. */
  initializationOptions: () => ServerSettings;
  /** Read on every completion request. */
  debounceMs: () => number;
  /** The server process ended without being asked to. */
  onCrash: () => { restart: boolean; message: string };
}

function sleep(ms: number, token: vscode.CancellationToken): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      sub.dispose();
      resolve(true);
    }, ms);
    const sub = token.onCancellationRequested(() => {
      clearTimeout(timer);
      sub.dispose();
      resolve(false);
    });
  });
}

export function createClient(o: ClientOptions): LanguageClient {
  // TransportKind.ipc adds --node-ipc (and --clientProcessId) to the arguments.
  const run = { module: o.cliPath, transport: TransportKind.ipc, args: ['serve'] };
  const serverOptions: ServerOptions = { run, debug: run };
  const clientOptions: LanguageClientOptions = {
    documentSelector: o.languages.flatMap((language) => [{ language, scheme: 'file' }, { language, scheme: 'untitled' }]),
    outputChannel: o.output,
    initializationOptions: o.initializationOptions,
    // Errors reach the user through our own notifications; the channel keeps the details.
    revealOutputChannelOn: 4, // RevealOutputChannelOn.Never
    errorHandler: {
      error: (): ErrorHandlerResult => ({ action: ErrorAction.Continue }),
      closed: (): CloseHandlerResult => {
        const r = o.onCrash();
        return { action: r.restart ? CloseAction.Restart : CloseAction.DoNotRestart, message: r.message, handled: true };
      },
    },
    middleware: {
      // Typing produces a request per keystroke; wait a little and drop the ones a newer
      // keystroke cancelled before they reach the server (which also drops stale ones).
      provideInlineCompletionItems: async (document, position, context, token, next) => {
        const ms = o.debounceMs();
        if (ms > 0 && context.triggerKind === vscode.InlineCompletionTriggerKind.Automatic && !(await sleep(ms, token))) {
          return null;
        }
        return next(document, position, context, token);
      },
    },
  };
  return new LanguageClient('codetune', 'Codetune', serverOptions, clientOptions);
}
