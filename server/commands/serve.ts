// `codetune serve` (the language server) and `codetune complete` (one completion, no LSP).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromFsError } from '../errors';
import { CodeTokenizer } from '../model/tokenizer';
import { completeAt, offsetOf } from '../serve/completion';
import { completionConfig } from '../serve/config';
import { CompletionEngine } from '../serve/engine';
import { parseBackendFlag, parseFlags, parseNumber, printJson, required, usageError, type Command } from './args';
import { openModel } from './engine';

const SERVE_USAGE = 'codetune serve (--stdio | --node-ipc) [--model DIR] [--storage DIR] [--backend auto|tensorflow|wasm|cpu] [--debounce MS]';
export const serve: Command = {
  usage: SERVE_USAGE,
  summary: 'Run the language server (LSP 3.18 inline completions + codetune/ requests). initializationOptions override these flags.',
  async run(argv) {
    const f = parseFlags(argv, {
      stdio: { type: 'boolean' }, 'node-ipc': { type: 'boolean' }, model: { type: 'string' }, storage: { type: 'string' }, backend: { type: 'string' }, debounce: { type: 'string' },
      // vscode-languageclient appends this; the server exits with its stream anyway.
      clientProcessId: { type: 'string' },
    }, SERVE_USAGE);
    if (f.stdio === f['node-ipc']) {
      throw usageError('give exactly one of --stdio or --node-ipc', SERVE_USAGE);
    }
    const debounceMs = parseNumber(f.debounce, 'debounce', SERVE_USAGE, { min: 0, max: 5000, fallback: 0 });
    const { startServer } = await import('../server');
    startServer({
      transport: f.stdio ? 'stdio' : 'node-ipc',
      flags: { baseModel: f.model, storagePath: f.storage, backend: parseBackendFlag(f.backend, SERVE_USAGE) ?? 'auto', completions: { debounceMs } },
    });
    // The connection keeps the process alive until the client sends `exit`.
    await new Promise<void>(() => undefined);
  },
};

const COMPLETE_USAGE = 'codetune complete --model DIR [--adapter DIR[:WEIGHT]]... --file PATH --line L --character C [--max-tokens N] [--json] [--backend B]';
export const complete: Command = {
  usage: COMPLETE_USAGE,
  summary: 'Print the inline completion at a position (0-based line and UTF-16 character), as the server would give it. --json: {"items": [{"insertText", "range"}], "backend"}.',
  async run(argv) {
    const f = parseFlags(argv, {
      model: { type: 'string' }, adapter: { type: 'string', multiple: true }, file: { type: 'string' }, line: { type: 'string' }, character: { type: 'string' },
      'max-tokens': { type: 'string' }, json: { type: 'boolean' }, backend: { type: 'string' },
    }, COMPLETE_USAGE);
    const modelDir = required(f.model, 'model', COMPLETE_USAGE);
    const file = required(f.file, 'file', COMPLETE_USAGE);
    const line = parseNumber(f.line, 'line', COMPLETE_USAGE, { integer: true, min: 0 });
    const character = parseNumber(f.character, 'character', COMPLETE_USAGE, { integer: true, min: 0 });
    const maxTokens = parseNumber(f['max-tokens'], 'max-tokens', COMPLETE_USAGE, { integer: true, min: 1, max: 1024, fallback: 64 });
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw fromFsError(e, file);
    }
    const offset = offsetOf(text, { line, character });
    const { model, backend } = await openModel(modelDir, f.adapter ?? [], { backend: parseBackendFlag(f.backend, COMPLETE_USAGE) ?? 'auto', merge: true, usage: COMPLETE_USAGE });
    const engine = new CompletionEngine(model, CodeTokenizer.fromDir(modelDir));
    const cfg = completionConfig({ maxTokens, maxSingleLineTokens: Math.min(maxTokens, 24) });
    const out = await completeAt(engine, cfg, { text, offset, filePath: path.basename(file) }, { isStale: () => false });
    const at = { line, character };
    const items = out.text === null ? [] : [{ insertText: out.text, range: { start: at, end: at } }];
    if (f.json) {
      printJson({ items, backend: backend.backend });
    } else if (out.text !== null) {
      process.stdout.write(out.text + '\n');
    }
  },
};
