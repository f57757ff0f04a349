// Merge, don't wrap: serving weights W' = W + Σᵢ wᵢ·sᵢ·Bᵢ Aᵢ for any set of adapters.
// Deltas are summed per adapter (never PEFT's "linear" mix, which adds cross terms).
// Only the changed weights are new tensors; the base stays intact, so switching back
// to the base (or to another set) is exact.
import * as tf from '@tensorflow/tfjs-core';
import type { WeightedAdapter } from './lora';
import type { CausalLM } from './llama';

/** New weight tensors (keyed `<module>.weight`, kernel layout) for the given adapters; the caller owns them. */
export function mergeAdapters(model: CausalLM, adapters: WeightedAdapter[]): Map<string, tf.Tensor> {
  const byModule = new Map<string, Array<{ A: tf.Tensor2D; B: tf.Tensor2D; s: number }>>();
  for (const { adapter, weight } of adapters) {
    for (const m of adapter.modules()) {
      const list = byModule.get(m) ?? [];
      list.push({ A: adapter.A.get(m)!, B: adapter.B.get(m)!, s: weight * adapter.scale(m) });
      byModule.set(m, list);
    }
  }
  const merged = new Map<string, tf.Tensor>();
  for (const [m, terms] of byModule) {
    const name = `${m}.weight`;
    merged.set(
      name,
      tf.tidy(() => {
        let w = model.baseWeight(name); // kernel layout [in, out]
        for (const t of terms) {
          w = tf.add(w, tf.mul(tf.matMul(tf.transpose(t.A), tf.transpose(t.B)), t.s)); // (B A)ᵀ = Aᵀ Bᵀ: [in, r] × [r, out] → [in, out]
        }
        return w;
      }),
    );
  }
  return merged;
}

export function disposeWeights(weights: Map<string, tf.Tensor>): void {
  for (const t of weights.values()) {
    t.dispose();
  }
  weights.clear();
}
