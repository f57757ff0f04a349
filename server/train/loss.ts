// Masked next-token cross-entropy for training, with its gradient written out:
//   loss = Σ mask·(logsumexp(z) − z[target]) / max(Σ mask, 1)
//   ∂loss/∂z = (softmax(z) − onehot(target)) · mask / max(Σ mask, 1)
// Same value as model/llama.ts nextTokenLoss, but the backward pass is one softmax instead
// of autodiff through max/logsumexp (whose Equal/broadcast kernels dominate a small
// model's step on wasm).
import * as tf from '@tensorflow/tfjs-core';

/** Call inside tf.tidy or tf.variableGrads: the mask and one-hot live until the backward pass. */
export function maskedCrossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
  const [B, T, V] = logits.shape;
  const m = tf.tidy(() => tf.reshape(tf.cast(mask, 'float32'), [B * T, 1])); // [N, 1]
  const onehot = tf.tidy(() => tf.oneHot(tf.reshape(tf.cast(targets, 'int32'), [-1]) as tf.Tensor1D, V)); // [N, V]
  const count = tf.tidy(() => tf.maximum(tf.sum(m), 1));
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const z = args[0] as tf.Tensor; // [B, T, V]
    const save = args[1] as tf.GradSaveFunc;
    const flat = tf.reshape(z, [B * T, V]); // [N, V]
    const lse = tf.logSumExp(flat, 1, true); // [N, 1]
    const picked = tf.sum(tf.mul(flat, onehot), 1, true); // [N, 1]
    const value = tf.div(tf.sum(tf.mul(tf.sub(lse, picked), m)), count) as tf.Scalar;
    save([z, onehot, tf.div(m, count)]); // kept by the tape until the backward pass
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [z0, oh, w] = saved; // logits, one-hot targets [N, V], mask / count [N, 1]
        const p = tf.softmax(tf.reshape(z0, [B * T, V])); // [N, V]
        const g = tf.mul(tf.sub(p, oh), tf.mul(w, dy)); // [N, V]
        return tf.reshape(g, [B, T, V]);
      },
    };
  });
  return f(logits) as tf.Scalar;
}
