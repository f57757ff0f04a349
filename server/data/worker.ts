// Worker thread of the file pool: reads and processes (filters, redaction,
// fingerprints, tree-sitter pairs) each batch of files the main thread sends, one
// batch at a time in arrival order, and posts the results back in the batch's order.
import { parentPort } from 'node:worker_threads';
import { type FileJobResult, processJob } from './process';
import type { BatchReply, BatchRequest } from './pool';

async function runBatch(req: BatchRequest): Promise<void> {
  try {
    const results: FileJobResult[] = [];
    for (const job of req.jobs) {
      results.push(await processJob(req.root, job, req.filters));
    }
    parentPort?.postMessage({ id: req.id, results } satisfies BatchReply);
  } catch (e) {
    parentPort?.postMessage({ id: req.id, error: e instanceof Error ? e.message : String(e) } satisfies BatchReply);
  }
}

let chain: Promise<void> = Promise.resolve();
parentPort?.on('message', (req: BatchRequest) => {
  chain = chain.then(() => runBatch(req));
});
