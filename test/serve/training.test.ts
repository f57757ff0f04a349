// Training over LSP: codetune/train starts a job in the trainer's worker thread,
// codetune/progress and codetune/trainingDone arrive, the adapter lands in the store,
// a second job is refused while one runs, cancelTraining ends it, and completions keep
// being answered while it trains (their latency is printed, not asserted).
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LSPErrorCodes } from 'vscode-languageserver-protocol';
import { CancelTrainingRequest, ListAdaptersRequest, SetActiveAdaptersRequest, TrainRequest } from '../../server/protocol';
import { makeRepo } from '../data/helpers';
import { dataCode, fileUri, responseError, TestServer, tinyModel } from './lsp';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pythonRepo(): string {
  const files: Record<string, string> = {};
  for (const [i, name] of ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'].entries()) {
    files[`pkg/${name}.py`] = `def ${name}_scale(values, factor=${i + 2}):\n    """Multiply every value by the ${name} factor."""\n    return [v * factor for v in values]\n\n\ndef ${name}_total(items):\n    """Sum the ${name} items."""\n    total = 0\n    for item in items:\n        total += item\n    return total\n`;
  }
  return makeRepo(files);
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(50);
  }
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

describe('training over LSP', () => {
  let server: TestServer;
  let repo: string;
  const training = { seqLen: 48, batchSize: 2, lr: 5e-3, warmupSteps: 2, evalEvery: 0, checkpointEvery: 0, valFraction: 0.4, maxEvalPairs: 2, cacheDir: null, evaluate: false };

  before(async () => {
    repo = pythonRepo();
    server = await TestServer.start({ init: { baseModel: tinyModel(), training }, workspaceFolders: [repo] });
  });
  after(async () => {
    await server.stop();
  });

  it('trains a workspace folder: progress, then trainingDone with the stored adapter', async () => {
    const { jobId } = await server.conn.sendRequest(TrainRequest, { workspaceFolder: fileUri(repo), options: { maxSteps: 6 } });
    assert.match(jobId, /^[0-9a-f-]{36}$/);
    await waitFor('trainingDone', () => server.done.length === 1);
    const done = server.done[0];
    assert.equal(done.jobId, jobId);
    assert.equal(done.error, null, JSON.stringify(done.error));
    const p = server.progress.filter((x) => x.jobId === jobId);
    assert.ok(p.length >= 1, 'progress notifications');
    assert.equal(p[p.length - 1].totalSteps, 6);
    assert.ok(Number.isFinite(p[p.length - 1].loss));
    const listed = (await server.conn.sendRequest(ListAdaptersRequest, {})).adapters;
    assert.deepEqual(listed.map((a) => a.id), [done.adapter!.id]);
    assert.equal(listed[0].base, tinyModel());
    assert.match(listed[0].commit ?? '', /^[0-9a-f]{40}$/);
    await server.conn.sendRequest(SetActiveAdaptersRequest, { workspaceFolder: fileUri(repo), adapters: [{ id: listed[0].id, weight: 1 }] });
    assert.equal((await server.status()).training.state, 'idle');
  });

  it('completions keep being served while a job runs; a second job is refused; cancelTraining ends it', async () => {
    const uri = fileUri(path.join(repo, 'pkg', 'new.py'));
    await server.open(uri, 'def scale_all(values):\n    """Scale the values."""\n', 'python');
    await server.items(uri, { line: 2, character: 0 }); // warm
    const { jobId } = await server.conn.sendRequest(TrainRequest, { workspaceFolder: fileUri(repo), options: { maxSteps: 5000, epochs: 1000 } });
    const busy = await responseError(server.conn.sendRequest(TrainRequest, { workspaceFolder: fileUri(repo) }));
    assert.equal(busy.code, LSPErrorCodes.RequestFailed);
    assert.equal(dataCode(busy), 'TRAINING_BUSY');
    await waitFor('the first progress event', () => server.progress.some((x) => x.jobId === jobId));
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      await server.complete(uri, { line: 2, character: 0 });
      latencies.push(performance.now() - t0);
      assert.equal((await server.status()).training.state, 'running', 'the job was still running');
    }
    process.stdout.write(`# completions while training: p50 ${percentile(latencies, 50).toFixed(1)} ms, p95 ${percentile(latencies, 95).toFixed(1)} ms (n=${latencies.length})\n`);
    const st = await server.status();
    assert.equal(st.training.jobId, jobId);
    assert.ok(st.training.progress && st.training.progress.step >= 1);
    assert.deepEqual(await server.conn.sendRequest(CancelTrainingRequest, { jobId }), { cancelled: true });
    await waitFor('trainingDone after cancel', () => server.done.some((d) => d.jobId === jobId));
    const done = server.done.find((d) => d.jobId === jobId)!;
    assert.equal(done.adapter, null);
    assert.equal(done.error?.code, 'CANCELLED');
    assert.deepEqual(await server.conn.sendRequest(CancelTrainingRequest, {}), { cancelled: false });
    assert.equal((await server.status()).training.state, 'idle');
  });
});
