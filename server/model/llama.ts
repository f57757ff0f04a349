// Llama-family causal language model (llama, qwen2, mistral): the forward pass over
// Hugging Face weight names and layouts, with batched prefill, KV-cached decode, an
// unmerged LoRA path (training) and merged serving weights (inference).
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config';
import { KVCache } from './kvcache';
import { attention, causalMask, mlp, rmsNorm, type ForwardContext, type Linear, type LoraTerm } from './layers';
import { mmWeight } from './matmul';
import { RopeTables } from './rope';

export const ATTENTION_PROJECTIONS = ['q_proj', 'k_proj', 'v_proj', 'o_proj'] as const;
export const MLP_PROJECTIONS = ['gate_proj', 'up_proj', 'down_proj'] as const;
export const LINEAR_NAMES = [...ATTENTION_PROJECTIONS, ...MLP_PROJECTIONS] as const;
export type LinearName = (typeof LINEAR_NAMES)[number];

/** Hugging Face module path of a linear layer, e.g. `model.layers.0.self_attn.q_proj`. */
export function linearModulePath(layer: number, name: LinearName): string {
  const group = (ATTENTION_PROJECTIONS as readonly string[]).includes(name) ? 'self_attn' : 'mlp';
  return `model.layers.${layer}.${group}.${name}`;
}

/** Every weight a checkpoint must hold for this config, with its shape. */
export function expectedWeights(c: ModelConfig): Map<string, number[]> {
  const H = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const m = new Map<string, number[]>([['model.embed_tokens.weight', [c.vocabSize, H]], ['model.norm.weight', [H]]]);
  if (!c.tieWordEmbeddings) {
    m.set('lm_head.weight', [c.vocabSize, H]);
  }
  const out: Record<LinearName, [number, number]> = {
    q_proj: [q, H], k_proj: [kv, H], v_proj: [kv, H], o_proj: [H, q],
    gate_proj: [c.intermediateSize, H], up_proj: [c.intermediateSize, H], down_proj: [H, c.intermediateSize],
  };
  for (let i = 0; i < c.numLayers; i++) {
    m.set(`model.layers.${i}.input_layernorm.weight`, [H]);
    m.set(`model.layers.${i}.post_attention_layernorm.weight`, [H]);
    for (const n of LINEAR_NAMES) {
      const p = linearModulePath(i, n);
      m.set(`${p}.weight`, out[n]);
      const hasBias = ['q_proj', 'k_proj', 'v_proj'].includes(n) ? c.qkvBias : n === 'o_proj' ? c.oBias : c.mlpBias;
      if (hasBias) {
        m.set(`${p}.bias`, [out[n][0]]);
      }
    }
  }
  return m;
}

export interface ForwardOptions {
  /** Cache to read past positions from and append this step's keys/values to. */
  cache?: KVCache;
  /** Compute logits only at the last position (prefill for generation). */
  lastOnly?: boolean;
  /** Training mode (LoRA dropout on). */
  training?: boolean;
  seed?: number;
}

export class CausalLM {
  private merged = new Map<string, tf.Tensor>();
  private loras = new Map<string, LoraTerm[]>();
  private readonly rope: RopeTables;

  /**
   * `weights` are the base weights by Hugging Face name and layout; the model takes
   * ownership and keeps them intact from then on. Linear weights (and `lm_head`) are
   * stored in kernel layout [in, out], the transpose of Hugging Face's [out, in], so that
   * every product is a plain `x × W` (see matmul.ts). A tied head is stored once, as the
   * kernel; the embedding lookup then gathers its columns.
   */
  constructor(readonly config: ModelConfig, private readonly weights: Map<string, tf.Tensor>) {
    this.rope = new RopeTables(config.headDim, config);
    const toKernel = (from: string, to: string) => {
      const w = weights.get(from)!;
      weights.delete(from);
      weights.set(to, tf.keep(tf.transpose(w)));
      w.dispose();
    };
    for (const name of [...weights.keys()]) {
      if (/\.(q|k|v|o|gate|up|down)_proj\.weight$/.test(name)) {
        toKernel(name, name);
      }
    }
    toKernel(config.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight', 'lm_head.weight'); // [H, V]
  }

  /** Base weight by Hugging Face name (never the merged one); linear weights in kernel layout [in, out]. */
  baseWeight(name: string): tf.Tensor {
    const w = this.weights.get(name);
    if (!w) {
      throw new Error(`internal: no weight ${name}`);
    }
    return w;
  }

  baseWeights(): ReadonlyMap<string, tf.Tensor> {
    return this.weights;
  }

  /**
   * Full fine-tuning: turn every base weight into a trainable variable (same layout) and
   * return them in a fixed order. The previous tensors are disposed.
   */
  makeBaseTrainable(): tf.Variable[] {
    const out: tf.Variable[] = [];
    for (const name of [...this.weights.keys()].sort()) {
      const t = this.weights.get(name)!;
      const v = t instanceof tf.Variable ? t : tf.variable(t, true, `base/${name}`);
      if (v !== t) {
        t.dispose();
        this.weights.set(name, v);
      }
      out.push(v);
    }
    return out;
  }

  /** Every linear module path (the LoRA targets), in layer order. */
  linearModules(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.config.numLayers; i++) {
      for (const n of LINEAR_NAMES) {
        out.push(linearModulePath(i, n));
      }
    }
    return out;
  }

  /** [out, in] of a linear module (its Hugging Face weight shape), or null if there is no such module. */
  linearShape(module: string): [number, number] | null {
    const w = this.weights.get(`${module}.weight`);
    return w && w.rank === 2 && module !== 'lm_head' ? [w.shape[1] as number, w.shape[0] as number] : null;
  }

  /**
   * Serve with these weights in place of the base ones (merged adapters). The caller owns
   * the tensors; pass an empty map to go back to the base, which was never modified.
   */
  setMergedWeights(weights: ReadonlyMap<string, tf.Tensor>): void {
    this.merged = new Map(weights);
  }

  /** Unmerged LoRA terms per module path (training, and the --no-merge path). */
  setLoraTerms(terms: ReadonlyMap<string, LoraTerm[]>): void {
    this.loras = new Map(terms);
  }

  private w(name: string): tf.Tensor {
    return this.merged.get(name) ?? this.baseWeight(name);
  }

  private lin(layer: number, name: LinearName): Linear {
    const p = linearModulePath(layer, name);
    const bias = this.merged.get(`${p}.bias`) ?? this.weights.get(`${p}.bias`) ?? null;
    return { kernel: this.w(`${p}.weight`) as tf.Tensor2D, bias: bias as tf.Tensor1D | null, lora: this.loras.get(p) ?? [] };
  }

  /** Token embeddings: rows of embed_tokens [V, H], or columns of the tied head kernel [H, V]. */
  private embed(ids: tf.Tensor1D): tf.Tensor2D {
    const table = this.weights.get('model.embed_tokens.weight');
    if (table) {
      return tf.gather(table, ids) as tf.Tensor2D; // [N, H]
    }
    return tf.transpose(tf.gather(this.w('lm_head.weight'), ids, 1)) as tf.Tensor2D; // [H, N] → [N, H]
  }

  /** ids [B, T] (int32) → logits [B, T, V] (or [B, 1, V] with lastOnly). */
  forward(ids: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    const c = this.config;
    const B = ids.shape[0];
    const T = ids.shape[1];
    const past = opts.cache?.length ?? 0;
    const ctx: ForwardContext = { training: opts.training ?? false, seed: opts.seed ?? 0 };
    const logits = tf.tidy(() => {
      const rope = this.rope.slice(past, T); // each [T, hD]
      const mask = causalMask(T, past, c.slidingWindow);
      const shape = { B, T, nH: c.numHeads, nKV: c.numKvHeads, hD: c.headDim };
      let x = this.embed(tf.reshape(ids, [-1]) as tf.Tensor1D); // [B·T, H]
      for (let i = 0; i < c.numLayers; i++) {
        const pre = `model.layers.${i}`;
        const h = rmsNorm(x, this.w(`${pre}.input_layernorm.weight`) as tf.Tensor1D, c.rmsNormEps);
        const attnW = { q: this.lin(i, 'q_proj'), k: this.lin(i, 'k_proj'), v: this.lin(i, 'v_proj'), o: this.lin(i, 'o_proj') };
        const kv = (k: tf.Tensor4D, v: tf.Tensor4D) => (opts.cache ? opts.cache.append(i, k, v) : { k, v });
        x = tf.add(x, attention(h, attnW, shape, rope, mask, kv, ctx));
        const h2 = rmsNorm(x, this.w(`${pre}.post_attention_layernorm.weight`) as tf.Tensor1D, c.rmsNormEps);
        x = tf.add(x, mlp(h2, this.lin(i, 'gate_proj'), this.lin(i, 'up_proj'), this.lin(i, 'down_proj'), ctx));
      }
      let last = x;
      let Tout = T;
      if (opts.lastOnly && T > 1) {
        last = tf.reshape(tf.slice(tf.reshape(x, [B, T, c.hiddenSize]), [0, T - 1, 0], [B, 1, -1]), [B, c.hiddenSize]); // [B, H]
        Tout = 1;
      }
      const hn = rmsNorm(last, this.w('model.norm.weight') as tf.Tensor1D, c.rmsNormEps);
      const out = mmWeight(hn, this.w('lm_head.weight') as tf.Tensor2D); // [B·T, H] × [H, V] → [B·T, V]
      return tf.reshape(out, [B, Tout, c.vocabSize]) as tf.Tensor3D;
    });
    opts.cache?.advance(T);
    return logits;
  }

  /** Logits for one sequence of ids: the last position, or every position. */
  logits(ids: number[], all = false): Float32Array[] {
    const out = tf.tidy(() => this.forward(tf.tensor2d([ids], [1, ids.length], 'int32'), { lastOnly: !all }));
    const data = out.dataSync() as Float32Array;
    out.dispose();
    const V = this.config.vocabSize;
    const rows: Float32Array[] = [];
    for (let t = 0; t < data.length / V; t++) {
      rows.push(data.slice(t * V, (t + 1) * V));
    }
    return rows;
  }

  dispose(): void {
    for (const t of this.weights.values()) {
      t.dispose();
    }
    this.weights.clear();
    this.rope.dispose();
  }
}

/**
 * Mean next-token cross-entropy. logits [B, T, V], targets [B, T] (the next ids), mask [B, T]
 * (1 where the position counts):
 *   loss = Σ mask·(logsumexp(z) − z[target]) / max(Σ mask, 1)
 *   ∂loss/∂z = (softmax(z) − onehot(target)) · mask / max(Σ mask, 1)
 * The gradient is written out: one softmax instead of autodiff through max/logsumexp (whose
 * kernels dominated a small model's training step on wasm), and no gather, whose gradient
 * needs UnsortedSegmentSum.
 */
export function nextTokenLoss(logits: tf.Tensor3D, targets: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [B, T, V] = logits.shape;
    const m = tf.reshape(tf.cast(mask, 'float32'), [B * T, 1]); // [N, 1]
    const onehot = tf.oneHot(tf.reshape(tf.cast(targets, 'int32'), [-1]) as tf.Tensor1D, V); // [N, V]
    const count = tf.maximum(tf.sum(m), 1);
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
          return tf.reshape(tf.mul(tf.sub(p, oh), tf.mul(w, dy)), [B, T, V]);
        },
      };
    });
    return f(logits) as tf.Scalar;
  });
}
