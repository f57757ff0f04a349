// The worker API the language server uses: startTraining runs in a worker thread, so the
// caller's timers keep firing on time while a step runs; cancel stops at a step
// boundary, rejects with CANCELLED and keeps a loadable checkpoint.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadAdapter } from '../../server/adapters/peft';
import { initBackend } from '../../server/model/backend';
import { loadModel } from '../../server/model/checkpoint';
import type { TrainProgress, TrainWorkerMessage } from '../../server/protocol';
import { checkpointDir, startTraining } from '../../server/train/index';
import type { TrainState } from '../../server/train/state';
import { tempDir } from '../helpers';
import { quick, smallRepo, tinyBase } from './fixtures';

describe('training worker', () => {
  it('keeps the caller\'s event loop free, and cancel keeps the last checkpoint', async () => {
    const repo = smallRepo();
    const out = path.join(tempDir(), 'adapter');
    const progress: TrainProgress[] = [];
    const logs: string[] = [];
    let cancelledAt = 0;
    // Steps long enough (hundreds of ms) that a blocked loop would show as large gaps.
    const job = startTraining(quick(repo, out, { maxSteps: 1000, epochs: 1000, seqLen: 256, batchSize: 4, evalEvery: 0 }), (m: TrainWorkerMessage) => {
      if (m.type === 'log') {
        logs.push(m.message);
      } else if (m.type === 'progress') {
        progress.push(m.progress);
        if (progress.length === 4) {
          cancelledAt = m.progress.step;
          job.cancel();
        }
      }
    });
    assert.match(job.jobId, /^[0-9a-f-]{36}$/);
    const gaps: number[] = [];
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      gaps.push(now - last);
      last = now;
    }, 20);
    let stepsStarted = Infinity;
    const watch = setInterval(() => {
      if (progress.length > 0 && stepsStarted === Infinity) {
        stepsStarted = gaps.length; // count gaps only while steps run
      }
    }, 5);
    try {
      await assert.rejects(job.done, (e: Error & { code?: string }) => e.code === 'CANCELLED' && /checkpoint kept/.test(e.message));
    } finally {
      clearInterval(timer);
      clearInterval(watch);
    }

    const during = gaps.slice(stepsStarted);
    const stepMs = (1000 * 256 * 4) / progress[1].tokensPerSec;
    assert.ok(during.length >= 5, `timer fired ${during.length} times during training`);
    const sorted = [...during].sort((x, y) => x - y);
    const median = sorted[Math.floor(sorted.length / 2)];
    // A loop blocked by training would show gaps of a whole step; a free one fires every ~20 ms.
    assert.ok(median < 40, `median timer gap ${median.toFixed(0)} ms`);
    assert.ok(sorted.at(-1)! < Math.min(1000, stepMs / 2), `largest timer gap ${sorted.at(-1)!.toFixed(0)} ms while a step takes ${stepMs.toFixed(0)} ms`);
    assert.ok(logs.some((l) => /backend wasm/.test(l)));

    // Stopped at a step boundary within a step of the request, with the checkpoint there.
    const ck = checkpointDir(out);
    const state = JSON.parse(fs.readFileSync(path.join(ck, 'state.json'), 'utf8')) as TrainState;
    assert.ok(state.step >= cancelledAt && state.step <= cancelledAt + 1, `checkpoint at ${state.step}, cancel at ${cancelledAt}`);
    assert.equal(progress.at(-1)!.step, state.step);
    assert.equal(state.cursor, state.step * 4);
    assert.deepEqual(state.history.map((h) => h.loss), progress.map((p) => p.loss));
    for (const f of ['trainable.safetensors', 'optimizer.safetensors', 'adapter']) {
      assert.ok(fs.existsSync(path.join(ck, f)), f);
    }
    await initBackend('wasm');
    const model = loadModel(tinyBase());
    loadAdapter(path.join(ck, 'adapter'), model).dispose();
    model.dispose();
    assert.ok(!fs.existsSync(out), 'no adapter is written before the run finishes or validates');
  });

  it('reports a bad model folder as a typed error event', async () => {
    const events: TrainWorkerMessage[] = [];
    const job = startTraining({ repo: tempDir(), model: path.join(tempDir(), 'nothing'), out: path.join(tempDir(), 'o'), backend: 'wasm' }, (m) => events.push(m));
    await assert.rejects(job.done, (e: Error & { code?: string }) => e.code === 'NOT_FOUND' || e.code === 'CHECKPOINT_MISSING' || e.code === 'CONFIG_INVALID');
    const err = events.find((m) => m.type === 'error');
    assert.ok(err && err.type === 'error' && err.error.message.length > 0);
  });
});
