// The building blocks of a Llama-family decoder, written as the math.
// Notation: B batch, T new tokens, S cached+new positions, H hidden, nH query heads,
// nKV key/value heads, g = nH/nKV, hD head dim, I intermediate, V vocab.
import * as tf from '@tensorflow/tfjs-core';
import { bmm, mm, mmWeight } from './matmul';
import { applyRope, type RopeSlice } from './rope';

/** A low-rank update on one linear layer: y += scale · B(A·dropout(x)). */
export interface LoraTerm {
  A: tf.Tensor2D; // [r, in]
  B: tf.Tensor2D; // [out, r]
  scale: number;
  dropout: number;
}

export interface Linear {
  kernel: tf.Tensor2D; // [in, out]: the transpose of Hugging Face's [out, in] weight
  bias: tf.Tensor1D | null; // [out]
  lora: LoraTerm[];
}

export interface ForwardContext {
  /** Training mode: LoRA dropout is applied. */
  training: boolean;
  /** Seed for dropout masks; advanced per use so masks differ between layers. */
  seed: number;
}

/** y = x Wᵀ + b + Σ s·(dropout(x) Aᵀ) Bᵀ  for x [N, in] → [N, out]. */
export function linear(x: tf.Tensor2D, l: Linear, ctx: ForwardContext): tf.Tensor2D {
  let y: tf.Tensor = mmWeight(x, l.kernel); // [N, in] × [in, out] → [N, out]
  if (l.bias) {
    y = tf.add(y, l.bias);
  }
  for (const t of l.lora) {
    const xd = (ctx.training && t.dropout > 0 ? tf.dropout(x, t.dropout, undefined, ctx.seed++) : x) as tf.Tensor2D;
    const down = mm(xd, tf.transpose(t.A)); // [N, in] × [in, r] → [N, r]
    const up = mm(down, tf.transpose(t.B)); // [N, r] × [r, out] → [N, out]
    y = tf.add(y, tf.mul(up, t.scale));
  }
  return y as tf.Tensor2D;
}

/** RMSNorm: x / sqrt(mean(x²) + eps) · w, over the last axis. */
export function rmsNorm<R extends tf.Rank>(x: tf.Tensor<R>, w: tf.Tensor1D, eps: number): tf.Tensor<R> {
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), w);
}

/** SwiGLU MLP: down(silu(gate(x)) ⊙ up(x)), x [N, H] → [N, H]. */
export function mlp(x: tf.Tensor2D, gate: Linear, up: Linear, down: Linear, ctx: ForwardContext): tf.Tensor2D {
  const g = linear(x, gate, ctx); // [N, I]
  const u = linear(x, up, ctx); // [N, I]
  const silu = tf.mul(g, tf.sigmoid(g));
  return linear(tf.mul(silu, u), down, ctx); // [N, I] → [N, H]
}

/**
 * Additive causal mask [T, S] for queries at positions past..past+T-1 over keys 0..S-1:
 * 0 where key ≤ query (and within the sliding window), a large negative elsewhere.
 * Returns null when nothing is masked (a single decode step without a window).
 */
export function causalMask(T: number, past: number, window: number | null): tf.Tensor2D | null {
  const S = past + T;
  if (T === 1 && (window === null || S <= window)) {
    return null;
  }
  const m = new Float32Array(T * S);
  for (let t = 0; t < T; t++) {
    const q = past + t;
    for (let s = 0; s < S; s++) {
      const visible = s <= q && (window === null || q - s < window);
      m[t * S + s] = visible ? 0 : -1e9;
    }
  }
  return tf.tensor2d(m, [T, S]);
}

export interface AttentionWeights {
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
}

export interface AttentionShape {
  B: number;
  T: number;
  nH: number;
  nKV: number;
  hD: number;
}

/**
 * Grouped-query attention. x [B·T, H] → [B·T, H].
 * `kv` receives this step's rotated keys (transposed, [B, nKV, hD, T]) and values and
 * returns those of all positions (the KV cache),
 * so prefill and incremental decode share this code.
 */
export function attention(
  x: tf.Tensor2D,
  w: AttentionWeights,
  s: AttentionShape,
  rope: RopeSlice,
  mask: tf.Tensor2D | null,
  kv: (k: tf.Tensor4D, v: tf.Tensor4D) => { k: tf.Tensor4D; v: tf.Tensor4D },
  ctx: ForwardContext,
): tf.Tensor2D {
  const { B, T, nH, nKV, hD } = s;
  const g = nH / nKV;
  const heads = (y: tf.Tensor2D, n: number): tf.Tensor4D =>
    tf.transpose(tf.reshape(y, [B, T, n, hD]), [0, 2, 1, 3]); // [B·T, n·hD] → [B, T, n, hD] → [B, n, T, hD]
  const q = applyRope(heads(linear(x, w.q, ctx), nH), rope); // [B, nH, T, hD]
  const kNew = applyRope(heads(linear(x, w.k, ctx), nKV), rope); // [B, nKV, T, hD]
  const vNew = heads(linear(x, w.v, ctx), nKV); // [B, nKV, T, hD]
  const { k, v } = kv(tf.transpose(kNew, [0, 1, 3, 2]), vNew); // kᵀ [B, nKV, hD, S], v [B, nKV, S, hD]
  const S = k.shape[3];
  // Query heads kv·g … kv·g+g-1 share key/value head kv: group them without copying K/V.
  const qg = tf.reshape(q, [B * nKV, g * T, hD]) as tf.Tensor3D; // [B·nKV, g·T, hD]
  const kT = tf.reshape(k, [B * nKV, hD, S]) as tf.Tensor3D; // [B·nKV, hD, S]
  let scores: tf.Tensor = tf.mul(bmm(qg, kT), 1 / Math.sqrt(hD)); // [B·nKV, g·T, hD] × [B·nKV, hD, S] → [B·nKV, g·T, S]
  if (mask) {
    scores = tf.add(tf.reshape(scores, [B * nKV, g, T, S]), mask); // mask [T, S] broadcast
  }
  const probs = tf.reshape(tf.softmax(scores), [B * nKV, g * T, S]); // [B·nKV, g·T, S]
  const out = bmm(probs as tf.Tensor3D, tf.reshape(v, [B * nKV, S, hD])); // [B·nKV, g·T, S] × [B·nKV, S, hD] → [B·nKV, g·T, hD]
  const merged = tf.reshape(tf.transpose(tf.reshape(out, [B, nH, T, hD]), [0, 2, 1, 3]), [B * T, nH * hD]) as tf.Tensor2D; // → [B, T, nH, hD] → [B·T, nH·hD]
  return linear(merged, w.o, ctx); // [B·T, H]
}
