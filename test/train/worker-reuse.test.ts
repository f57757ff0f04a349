// The language server's training thread is kept between jobs: a second job on the same
// repo, after a one-file edit, rebuilds its dataset from the data cache the first job
// left in memory (one file processed, none read from disk), and a failed or crashed
// job does not stop the next one.
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TrainWorkerMessage } from '../../server/protocol';
import { TrainWorker } from '../../server/train/index';
import { tempDir } from '../helpers';
import { quick, smallRepo } from './fixtures';

/** The dataset line a job logs: files processed, files from the cache, and which cache. */
function datasetLine(logs: string[]): { processed: number; cached: number; where: string } {
  const line = logs.find((l) => /^dataset: /.test(l));
  assert.ok(line, `no dataset line in ${JSON.stringify(logs)}`);
  const m = /(\d+) files processed, (\d+) from the (in-memory|on-disk) cache/.exec(line);
  assert.ok(m, line);
  return { processed: Number(m[1]), cached: Number(m[2]), where: m[3] };
}

describe('kept training thread', () => {
  const worker = new TrainWorker();
  after(() => worker.close());

  it('rebuilds the next job\'s dataset from memory after a one-file edit', async () => {
    const repo = smallRepo(8);
    const cacheDir = tempDir();
    const job = async (): Promise<string[]> => {
      const logs: string[] = [];
      const j = worker.run(quick(repo, path.join(tempDir(), 'adapter'), { maxSteps: 2, evalEvery: 0, cacheDir }), (m: TrainWorkerMessage) => {
        if (m.type === 'log') {
          logs.push(m.message);
        }
      });
      assert.equal(worker.busy, true);
      assert.throws(() => worker.run(quick(repo, path.join(tempDir(), 'o')), () => undefined), (e: Error & { code?: string }) => e.code === 'TRAINING_BUSY');
      const done = await j.done;
      assert.ok(fs.existsSync(path.join(done.adapterDir, 'adapter_model.safetensors')));
      assert.equal(worker.busy, false);
      return logs;
    };

    const first = datasetLine(await job());
    assert.deepEqual(first, { processed: 8, cached: 0, where: 'on-disk' });
    fs.appendFileSync(path.join(repo, 'pkg', 'alpha.py'), '\n\ndef alpha_extra(x):\n    """Return x twice, as a list."""\n    a = x\n    b = x\n    return [a, b]\n');
    const second = datasetLine(await job());
    assert.deepEqual(second, { processed: 1, cached: 7, where: 'in-memory' });
    assert.equal(worker.alive, true);
  });

  it('reports a failed job and runs the next one in the same thread', async () => {
    const events: TrainWorkerMessage[] = [];
    const bad = worker.run({ repo: tempDir(), model: path.join(tempDir(), 'nothing'), out: path.join(tempDir(), 'o'), backend: 'wasm' }, (m) => events.push(m));
    await assert.rejects(bad.done, (e: Error & { code?: string }) => ['NOT_FOUND', 'CHECKPOINT_MISSING', 'CONFIG_INVALID'].includes(e.code ?? ''));
    assert.ok(events.some((m) => m.type === 'error'));
    const ok = worker.run(quick(smallRepo(4), path.join(tempDir(), 'adapter'), { maxSteps: 1, evalEvery: 0 }), () => undefined);
    await ok.done;
  });

  it('starts a new thread for the next job when the last one was stopped', async () => {
    const w = new TrainWorker();
    const first = w.run(quick(smallRepo(4), path.join(tempDir(), 'adapter'), { maxSteps: 1000, epochs: 1000, evalEvery: 0 }), () => undefined);
    const rejected = assert.rejects(first.done, (e: Error & { code?: string }) => e.code === 'INTERNAL' && /exited/.test(e.message));
    await w.close(); // the thread stops mid-job: the job fails, not hangs
    await rejected;
    assert.equal(w.alive, false);
    await w.run(quick(smallRepo(4), path.join(tempDir(), 'adapter'), { maxSteps: 1, evalEvery: 0 }), () => undefined).done;
    await w.close();
  });
});
