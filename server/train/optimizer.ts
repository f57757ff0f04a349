// AdamW (Loshchilov & Hutter) over a fixed, ordered variable list, with state that can be
// saved and restored exactly; global-norm gradient clipping; warmup + cosine schedule.
//   m ← β1 m + (1−β1) g        v ← β2 v + (1−β2) g²
//   p ← p − lr·λ·p − lr · m̂ / (√v̂ + ε),   m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ)
// Weight decay is decoupled (applied to p, not folded into g) and skipped for 1-D
// tensors (norm gains, biases), as is usual.
import * as tf from '@tensorflow/tfjs-core';

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface AdamWState {
  step: number;
  /** First and second moments, in variable order. */
  m: Float32Array[];
  v: Float32Array[];
}

export class AdamW {
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  /** Number of updates applied (t in the bias corrections). */
  step = 0;

  constructor(
    readonly vars: readonly tf.Variable[],
    readonly cfg: AdamWConfig,
  ) {
    this.m = vars.map((p) => tf.variable(tf.zerosLike(p), false));
    this.v = vars.map((p) => tf.variable(tf.zerosLike(p), false));
  }

  /** Apply one update with `grads` (same order as the variables) at learning rate `lr`. */
  apply(grads: readonly tf.Tensor[], lr: number): void {
    const { beta1: b1, beta2: b2, eps, weightDecay: wd } = this.cfg;
    this.step += 1;
    const c1 = 1 - b1 ** this.step;
    const c2 = 1 - b2 ** this.step;
    tf.tidy(() => {
      this.vars.forEach((p, i) => {
        const g = grads[i];
        const m = tf.add(tf.mul(this.m[i], b1), tf.mul(g, 1 - b1));
        const v = tf.add(tf.mul(this.v[i], b2), tf.mul(tf.square(g), 1 - b2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), eps));
        const decayed = wd > 0 && p.rank > 1 ? tf.mul(p, 1 - lr * wd) : p;
        p.assign(tf.sub(decayed, tf.mul(update, lr)));
      });
    });
  }

  state(): AdamWState {
    return { step: this.step, m: this.m.map((t) => t.dataSync() as Float32Array), v: this.v.map((t) => t.dataSync() as Float32Array) };
  }

  load(s: AdamWState): void {
    this.step = s.step;
    this.vars.forEach((p, i) => {
      tf.tidy(() => {
        this.m[i].assign(tf.tensor(s.m[i], p.shape));
        this.v[i].assign(tf.tensor(s.v[i], p.shape));
      });
    });
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) {
      t.dispose();
    }
  }
}

/** Scale `grads` so their global L2 norm is at most maxNorm; returns the new tensors and the norm before clipping. */
export function clipByGlobalNorm(grads: readonly tf.Tensor[], maxNorm: number): { grads: tf.Tensor[]; norm: number } {
  const normT = tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))));
  const norm = (normT.dataSync() as Float32Array)[0];
  normT.dispose();
  const scale = maxNorm > 0 && norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
  return { grads: grads.map((g) => (scale === 1 ? g.clone() : tf.mul(g, scale))), norm };
}

/** Linear warmup to `lr` over `warmup` steps, then cosine decay to lr·minRatio at `total`. Steps are 1-based. */
export function learningRate(step: number, total: number, lr: number, warmup: number, minRatio: number): number {
  if (warmup > 0 && step <= warmup) {
    return (lr * step) / warmup;
  }
  const span = Math.max(1, total - warmup);
  const progress = Math.min(1, Math.max(0, (step - warmup) / span));
  return lr * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
