// Key/value cache for incremental decoding: per layer, keys and values of every
// position seen so far. Keys are kept transposed, [B, nKV, hD, S], so attention
// multiplies q × kᵀ without transposing the whole cache each step; values [B, nKV, S, hD]. Tensors here outlive tf.tidy (kept) and are
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

  /** Append this step's keys kᵀ [B, nKV, hD, T] and values [B, nKV, T, hD]; returns all positions. */
  append(layer: number, kNew: tf.Tensor4D, vNew: tf.Tensor4D): { k: tf.Tensor4D; v: tf.Tensor4D } {
    const oldK = this.k[layer];
    const oldV = this.v[layer];
    const k = tf.keep(oldK ? tf.concat([oldK, kNew], 3) : kNew.clone()); // [B, nKV, hD, S]
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
      const k = this.k[i];
      const v = this.v[i];
      this.k[i] = k && n > 0 ? tf.keep(tf.slice(k, [0, 0, 0, 0], [-1, -1, -1, n])) : null;
      this.v[i] = v && n > 0 ? tf.keep(tf.slice(v, [0, 0, 0, 0], [-1, -1, n, -1])) : null;
      k?.dispose();
      v?.dispose();
    }
    this.length = n;
  }

  dispose(): void {
    this.truncate(0);
  }
}
