// Matrix products on the fast path of every backend. The wasm backend runs a plain 2-D
// `a × b` through XNNPACK (~25 GFLOP/s here) but falls back to naive loops for a
// transposed operand or a batch of matrices (~1.8 GFLOP/s). So the engine stores linear
// weights in kernel layout [in, out], multiplies 2-D matrices only, and gives those
// products a custom gradient whose transposes are explicit (a cheap copy) instead of
// flags on the product.
import * as tf from '@tensorflow/tfjs-core';

/** a [M, K] × b [K, N] → [M, N], with gradients da = dy·bᵀ, db = aᵀ·dy on the fast path. */
export const mm = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as tf.Tensor2D[];
      return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy as tf.Tensor2D)];
    },
  };
}) as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/**
 * x [M, K] × w [K, N] for a weight: a frozen one (any tensor but a trainable variable, e.g.
 * the base under LoRA) gets only dx = dy·wᵀ, never the [K, N] weight gradient nobody uses.
 */
export function mmWeight(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  if (w instanceof tf.Variable && w.trainable) {
    return mm(x, w);
  }
  const frozen = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
    value: tf.matMul(args[0] as tf.Tensor2D, w),
    gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, tf.transpose(w)),
  }));
  return frozen(x) as tf.Tensor2D;
}

/**
 * Batched a [n, M, K] × b [n, K, N] → [n, M, N]. Few rows per product (decode: M = query
 * heads per KV head) go through one batched call, whose loop beats n separate calls and
 * the slicing they need; many rows (prefill, training) as n 2-D products on the fast path.
 */
export function bmm(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const [n, M, K] = a.shape;
  const N = b.shape[2];
  if (n === 1) {
    return tf.reshape(mm(tf.reshape(a, [M, K]), tf.reshape(b, [K, N])), [1, M, N]);
  }
  if (M < 64) {
    return tf.matMul(a, b);
  }
  const as = tf.split(a, n, 0).map((x) => tf.reshape(x, [M, K]) as tf.Tensor2D);
  const bs = tf.split(b, n, 0).map((x) => tf.reshape(x, [K, N]) as tf.Tensor2D);
  return tf.reshape(tf.concat(as.map((x, i) => mm(x, bs[i]))), [n, M, N]) as tf.Tensor3D;
}
