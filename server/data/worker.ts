// Worker thread of the file pool: reads and processes (filters, redaction,
// fingerprints, tree-sitter pairs) each batch of files the main thread sends, or
// tokenizes a batch of texts, one batch at a time in arrival order, and posts the
// results back in the batch's order.
import { parentPort } from 'node:worker_threads';
import { type FileJobResult, processJob } from './process';
import { encodeResults } from './shard';
import { CodeTokenizer } from '../model/tokenizer';
import type { BatchReply, BatchRequest } from './pool';

/** The tokenizer of the last tokenize request (building one costs a second). */
let tokenizer: { key: string; tok: CodeTokenizer } | null = null;

function tokenizeBatch(req: Extract<BatchRequest, { kind: 'tokenize' }>): void {
  try {
    if (tokenizer?.key !== req.key) {
      tokenizer = { key: req.key, tok: CodeTokenizer.fromSource(req.tokenizer) };
    }
    const tok = tokenizer.tok;
    const ids = req.texts.map((t) => Int32Array.from(tok.encode(t, { addBos: false })));
    parentPort?.postMessage({ id: req.id, ids } satisfies BatchReply, ids.map((a) => a.buffer as ArrayBuffer));
  } catch (e) {
    parentPort?.postMessage({ id: req.id, error: e instanceof Error ? e.message : String(e) } satisfies BatchReply);
  }
}

async function runBatch(req: BatchRequest): Promise<void> {
  if (req.kind === 'tokenize') {
    tokenizeBatch(req);
    return;
  }
  try {
    const results: FileJobResult[] = [];
    for (const job of req.jobs) {
      results.push(await processJob(req.root, job, req.filters));
    }
    // One buffer, moved to the main thread (see shard.ts): completions travel as offsets into the text.
    const buf = encodeResults(results);
    parentPort?.postMessage({ id: req.id, buf } satisfies BatchReply, [buf.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort?.postMessage({ id: req.id, error: e instanceof Error ? e.message : String(e) } satisfies BatchReply);
  }
}

let chain: Promise<void> = Promise.resolve();
parentPort?.on('message', (req: BatchRequest) => {
  chain = chain.then(() => runBatch(req));
});
