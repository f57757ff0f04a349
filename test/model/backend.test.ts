// Backend details: on wasm, Identity (tf.clone, and every tensor tfjs saves for a
// gradient) shares the buffer instead of copying it, and the data stays valid until the
// last tensor holding it is disposed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../server/model/backend';

describe('wasm backend', () => {
  it('clone shares the buffer; disposing either side keeps the other intact', async () => {
    await initBackend('wasm');
    const a = tf.tensor1d([1, 2, 3]);
    const buffers = tf.memory().numDataBuffers;
    const b = a.clone();
    assert.equal(tf.memory().numDataBuffers, buffers, 'no new buffer');
    a.dispose();
    assert.deepEqual(Array.from(b.dataSync()), [1, 2, 3]);
    const c = tf.add(b, 1);
    b.dispose();
    assert.deepEqual(Array.from(c.dataSync()), [2, 3, 4]);
    c.dispose();
  });

  it('a variable assigned after a clone leaves the clone unchanged', async () => {
    await initBackend('wasm');
    const v = tf.variable(tf.tensor1d([1, 2]));
    const snapshot = v.clone();
    v.assign(tf.tensor1d([5, 6]));
    assert.deepEqual(Array.from(snapshot.dataSync()), [1, 2]);
    assert.deepEqual(Array.from(v.dataSync()), [5, 6]);
    snapshot.dispose();
    v.dispose();
  });
});
