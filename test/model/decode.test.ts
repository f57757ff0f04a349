// Incremental decode through the KV cache equals a full recompute; repeated generation
// leaks no tensors; sampling is reproducible with a seed.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../server/model/backend';
import { loadModel } from '../../server/model/checkpoint';
import { generate, step } from '../../server/model/generate';
import { KVCache } from '../../server/model/kvcache';
import { causalMask } from '../../server/model/layers';
import type { CausalLM } from '../../server/model/llama';
import { fixtureDir, relErr } from '../helpers';

for (const name of ['tiny-llama', 'tiny-qwen2']) {
  describe(`decode ${name}`, () => {
    let model: CausalLM;
    before(async () => {
      await initBackend('wasm');
      model = loadModel(fixtureDir(name));
    });

    it('KV-cached incremental decode gives the logits of a full recompute at every step', () => {
      const ids = [5, 17, 42, 8, 99, 3, 61, 7, 250, 31, 12, 77];
      const full = model.logits(ids, true);
      const cache = new KVCache(model.config.numLayers);
      // Prefill 5 tokens as a batch, then one token at a time.
      const rows = [step(model, ids.slice(0, 5), cache)];
      for (let t = 5; t < ids.length; t++) {
        rows.push(step(model, [ids[t]], cache));
      }
      assert.equal(cache.length, ids.length);
      rows.forEach((row, i) => {
        const e = relErr(row, full[4 + i]);
        assert.ok(e < 1e-5, `position ${4 + i}: ${e}`);
      });
      // Truncating the cache and re-feeding reproduces the same logits (prompt reuse).
      cache.truncate(8);
      const again = step(model, ids.slice(8), cache);
      assert.ok(relErr(again, full[ids.length - 1]) < 1e-5);
      cache.dispose();
    });

    it('batched prefill: each row of a batch equals that sequence alone', () => {
      const rows = [[5, 17, 42, 8, 99], [3, 61, 7, 250, 31]];
      const out = tf.tidy(() => model.forward(tf.tensor2d(rows, [2, 5], 'int32')));
      const V = model.config.vocabSize;
      const data = out.dataSync();
      out.dispose();
      rows.forEach((ids, b) => {
        const alone = model.logits(ids, true);
        for (let t = 0; t < 5; t++) {
          assert.ok(relErr(data.slice((b * 5 + t) * V, (b * 5 + t + 1) * V), alone[t]) < 1e-5, `row ${b} position ${t}`);
        }
      });
    });

    it('no tensor leaks: numTensors after 100 generate calls equals that after 1', () => {
      generate(model, [1, 2, 3], { maxNewTokens: 4 });
      const after1 = tf.memory().numTensors;
      for (let i = 0; i < 100; i++) {
        generate(model, [1, 2, 3, i % 50], { maxNewTokens: 4, temperature: 0.8, topP: 0.9, seed: i });
      }
      assert.equal(tf.memory().numTensors, after1);
    });

    it('sampling with a seed is reproducible, and differs across seeds', () => {
      const a = generate(model, [4, 5, 6], { maxNewTokens: 12, temperature: 1.5, topP: 0.95, seed: 1 });
      const b = generate(model, [4, 5, 6], { maxNewTokens: 12, temperature: 1.5, topP: 0.95, seed: 1 });
      const c = generate(model, [4, 5, 6], { maxNewTokens: 12, temperature: 1.5, topP: 0.95, seed: 2 });
      assert.deepEqual(a, b);
      assert.notDeepEqual(a, c);
    });

    it('generation stops at a stop id and at maxNewTokens', () => {
      const free = generate(model, [4, 5, 6], { maxNewTokens: 6 });
      assert.equal(free.length, 6);
      const stopped = generate(model, [4, 5, 6], { maxNewTokens: 6, stopIds: [free[2]] });
      assert.deepEqual(stopped, free.slice(0, free.indexOf(free[2])));
    });
  });
}

describe('causal mask', () => {
  const check = (T: number, past: number, window: number | null, expected: number[][] | null) => {
    const m = causalMask(T, past, window);
    if (expected === null) {
      assert.equal(m, null);
      return;
    }
    assert.deepEqual(m!.arraySync().map((row) => row.map((v) => (v === 0 ? 1 : 0))), expected);
    m!.dispose();
  };
  it('prefill: each query sees itself and earlier keys', () => check(3, 0, null, [[1, 0, 0], [1, 1, 0], [1, 1, 1]]));
  it('continuing after cached positions', () => check(2, 2, null, [[1, 1, 1, 0], [1, 1, 1, 1]]));
  it('a single decode step needs no mask', () => check(1, 9, null, null));
  it('sliding window (mistral): only the last `window` keys', () => check(3, 2, 2, [[0, 1, 1, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 1, 1]]));
  it('a decode step past the window is masked', () => check(1, 3, 2, [[0, 0, 1, 1]]));
});
