// Token choice from logits: greedy argmax, or temperature + nucleus (top-p) sampling
// with a seeded generator so runs are reproducible.

/** mulberry32: a small, fast, seedable PRNG returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) {
    if (x[i] > x[best]) {
      best = i;
    }
  }
  return best;
}

export interface SamplingOptions {
  /** 0 (or greedy) picks the argmax. */
  temperature: number;
  topP: number;
}

/** Sample an id: softmax(logits / T), keep the smallest set with mass ≥ topP, draw. */
export function sampleToken(logits: ArrayLike<number>, opts: SamplingOptions, rand: () => number): number {
  if (opts.temperature <= 0) {
    return argmax(logits);
  }
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    max = Math.max(max, logits[i]);
  }
  const probs = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    probs[i] = Math.exp((logits[i] - max) / opts.temperature);
    sum += probs[i];
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
  const keep: number[] = [];
  let mass = 0;
  for (const i of order) {
    keep.push(i);
    mass += probs[i] / sum;
    if (mass >= opts.topP) {
      break;
    }
  }
  let r = rand() * mass * sum;
  for (const i of keep) {
    r -= probs[i];
    if (r <= 0) {
      return i;
    }
  }
  return keep[keep.length - 1];
}
