// Merged serving weights by adapter combination, least recently used first out.
// The empty combination is the base itself: nothing merged, nothing cached, and the
// base tensors are never modified, so switching back restores it exactly.
import type * as tf from '@tensorflow/tfjs-core';
import { disposeWeights } from '../model/merge';
import type { ActiveAdapter } from '../protocol';

/** Canonical key of a combination: ids sorted, zero weights dropped. */
export function combinationKey(set: ActiveAdapter[]): string {
  return set
    .filter((a) => a.weight !== 0)
    .map((a) => `${a.id}*${a.weight}`)
    .sort()
    .join('+');
}

export class MergedWeightsCache {
  private readonly entries = new Map<string, Map<string, tf.Tensor>>();
  hits = 0;
  misses = 0;

  constructor(public capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The weights for `key`, merged by `build` on a miss; evicts the least recently used. */
  get(key: string, build: () => Map<string, tf.Tensor>): Map<string, tf.Tensor> {
    const hit = this.entries.get(key);
    if (hit) {
      this.hits += 1;
      this.entries.delete(key);
      this.entries.set(key, hit); // most recent last
      return hit;
    }
    this.misses += 1;
    const built = build();
    this.entries.set(key, built);
    while (this.entries.size > this.capacity) {
      const [oldest, weights] = this.entries.entries().next().value as [string, Map<string, tf.Tensor>];
      this.entries.delete(oldest);
      disposeWeights(weights);
    }
    return built;
  }

  /** Drop every combination that uses adapter `id` (deleted or replaced). */
  evictAdapter(id: string): void {
    for (const [key, weights] of [...this.entries]) {
      if (key.split('+').some((part) => part.slice(0, part.lastIndexOf('*')) === id)) {
        this.entries.delete(key);
        disposeWeights(weights);
      }
    }
  }

  clear(): void {
    for (const w of this.entries.values()) {
      disposeWeights(w);
    }
    this.entries.clear();
  }
}
