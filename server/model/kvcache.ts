// Key/value cache for incremental decoding: per layer, keys and values of every
// position seen so far, [B, nKV, S, hD]. Tensors here outlive tf.tidy (kept) and are
// disposed when replaced, truncated or when the cache is disposed.
import * as tf from '@tensorflow/tfjs-core';

export class KVCache {
  private readonly k: Array<tf.Tensor4D | null>;
  private readonly v: Array<tf.Tensor4D | null>;
  /** Positions cached (the next token's position). */
  length = 0;

  constructor(readonly numLayers: number) {
    this.k = new Array<tf.Tensor4D | null>(numLayers).fill(null);
    this.v = new Array<tf.Tensor4D | null>(numLayers).fill(null);
  }

  /** Append this step's keys/values for `layer`; returns the full keys/values [B, nKV, S, hD]. */
  append(layer: number, kNew: tf.Tensor4D, vNew: tf.Tensor4D): { k: tf.Tensor4D; v: tf.Tensor4D } {
    const oldK = this.k[layer];
    const oldV = this.v[layer];
    const k = tf.keep(oldK ? tf.concat([oldK, kNew], 2) : kNew.clone()); // [B, nKV, S, hD]
    const v = tf.keep(oldV ? tf.concat([oldV, vNew], 2) : vNew.clone());
    oldK?.dispose();
    oldV?.dispose();
    this.k[layer] = k;
    this.v[layer] = v;
    return { k, v };
  }

  /** Called once per forward, after every layer appended `n` positions. */
  advance(n: number): void {
    this.length += n;
  }

  /** Keep only the first `n` positions (prompt reuse when the new prompt shares a prefix). */
  truncate(n: number): void {
    if (n >= this.length) {
      return;
    }
    for (let i = 0; i < this.numLayers; i++) {
      for (const store of [this.k, this.v]) {
        const t = store[i];
        if (t) {
          store[i] = n === 0 ? null : tf.keep(tf.slice(t, [0, 0, 0, 0], [-1, -1, n, -1]));
          t.dispose();
        }
      }
    }
    this.length = n;
  }

  dispose(): void {
    this.truncate(0);
  }
}
