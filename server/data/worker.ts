// Worker thread of the file pool: runs processFile (filters, redaction, fingerprints,
// tree-sitter pairs) for the files the main thread sends, and posts records back.
import { parentPort } from 'node:worker_threads';
import { processFile } from './process';
import type { FileJob, FileJobResult } from './pool';

parentPort?.on('message', (job: FileJob) => {
  processFile(job.path, job.bytes, job.info, job.filters).then(
    (rec) => parentPort?.postMessage({ id: job.id, rec } satisfies FileJobResult),
    (e: unknown) => parentPort?.postMessage({ id: job.id, error: e instanceof Error ? e.message : String(e) } satisfies FileJobResult),
  );
});
