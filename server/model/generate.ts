// Autoregressive generation: one batched prefill of the prompt, then one token per step
// through the KV cache. Every step's tensors are freed; only the cache persists.
import * as tf from '@tensorflow/tfjs-core';
import { KVCache } from './kvcache';
import type { CausalLM } from './llama';
import { sampleToken, seededRandom, type SamplingOptions } from './sampling';

export interface GenerateOptions extends Partial<SamplingOptions> {
  maxNewTokens: number;
  seed?: number;
  /** Ids that end generation (not included in the output). */
  stopIds?: number[];
  /** Called with each new id; return false to stop (cancellation, stop rules). */
  onToken?: (id: number, index: number) => boolean | void;
}

/** Logits at the last position after feeding `ids` through the cache. */
export function step(model: CausalLM, ids: number[], cache: KVCache): Float32Array {
  const out = tf.tidy(() => model.forward(tf.tensor2d([ids], [1, ids.length], 'int32'), { cache, lastOnly: true })); // [1, 1, V]
  const data = out.dataSync() as Float32Array;
  out.dispose();
  return data;
}

/** Generate up to maxNewTokens after `prompt`; returns the new ids only. */
export function generate(model: CausalLM, prompt: number[], opts: GenerateOptions): number[] {
  const sampling: SamplingOptions = { temperature: opts.temperature ?? 0, topP: opts.topP ?? 1 };
  const rand = seededRandom(opts.seed ?? 0);
  const stop = new Set(opts.stopIds ?? []);
  const cache = new KVCache(model.config.numLayers);
  const out: number[] = [];
  try {
    let logits = step(model, prompt, cache);
    while (out.length < opts.maxNewTokens) {
      const id = sampleToken(logits, sampling, rand);
      if (stop.has(id)) {
        break;
      }
      out.push(id);
      if (opts.onToken?.(id, out.length - 1) === false || out.length >= opts.maxNewTokens) {
        break;
      }
      logits = step(model, [id], cache);
    }
  } finally {
    cache.dispose();
  }
  return out;
}
