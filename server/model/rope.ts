// Rotary position embeddings in Hugging Face's rotate-half layout:
//   rope(x) = x * cos + rotate_half(x) * sin,  rotate_half([x1, x2]) = [-x2, x1]
// with cos/sin = [cos(p·f), cos(p·f)] over the head dim, f the (scaled) inverse frequencies.
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config';
import { mmWeight } from './matmul';

/** Inverse frequencies θ^(-2i/d), with Llama-3 or linear scaling applied. */
export function inverseFrequencies(c: Pick<ModelConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>): Float64Array {
  const half = c.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) {
    inv[i] = 1 / Math.pow(c.ropeTheta, (2 * i) / c.headDim);
  }
  const s = c.ropeScaling;
  if (s.type === 'linear') {
    return inv.map((f) => f / s.factor);
  }
  if (s.type === 'llama3') {
    const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
    const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
    return inv.map((f) => {
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < highWavelen) {
        return f; // high frequency: unchanged
      }
      if (wavelen > lowWavelen) {
        return f / s.factor; // low frequency: fully scaled
      }
      const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      return (1 - smooth) * (f / s.factor) + smooth * f;
    });
  }
  return inv;
}

/** cos/sin tables for positions [0, length), grown on demand and kept for the model's life. */
export class RopeTables {
  private cos: tf.Tensor2D | null = null; // [L, hD]
  private sin: tf.Tensor2D | null = null; // [L, hD]
  /** rotate_half as a product: x [N, hD] × R [hD, hD] = [-x2, x1] (one fast kernel instead of split/neg/concat). */
  readonly rotation: tf.Tensor2D;
  private length = 0;
  private readonly inv: Float64Array;

  constructor(private readonly headDim: number, c: Pick<ModelConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>) {
    this.inv = inverseFrequencies(c);
    const half = headDim / 2;
    const r = new Float32Array(headDim * headDim);
    for (let j = 0; j < half; j++) {
      r[(j + half) * headDim + j] = -1; // out[j] = -x[j + half]
      r[j * headDim + j + half] = 1; // out[j + half] = x[j]
    }
    this.rotation = tf.keep(tf.tensor2d(r, [headDim, headDim]));
  }

  private grow(min: number): void {
    const len = Math.max(min, this.length * 2, 256);
    const hD = this.headDim;
    const half = hD / 2;
    const cos = new Float32Array(len * hD);
    const sin = new Float32Array(len * hD);
    for (let p = 0; p < len; p++) {
      for (let i = 0; i < half; i++) {
        // HF computes p·f in float32; round the same way before cos/sin.
        const a = Math.fround(p * Math.fround(this.inv[i]));
        cos[p * hD + i] = cos[p * hD + i + half] = Math.cos(a);
        sin[p * hD + i] = sin[p * hD + i + half] = Math.sin(a);
      }
    }
    this.cos?.dispose();
    this.sin?.dispose();
    this.cos = tf.keep(tf.tensor2d(cos, [len, hD]));
    this.sin = tf.keep(tf.tensor2d(sin, [len, hD]));
    this.length = len;
  }

  /** Tables for positions [start, start + n): each [n, hD], plus the rotation matrix. */
  slice(start: number, n: number): RopeSlice {
    if (start + n > this.length) {
      this.grow(start + n);
    }
    return { cos: tf.slice(this.cos!, [start, 0], [n, -1]), sin: tf.slice(this.sin!, [start, 0], [n, -1]), rotation: this.rotation };
  }

  dispose(): void {
    this.cos?.dispose();
    this.sin?.dispose();
    this.rotation.dispose();
    this.cos = this.sin = null;
    this.length = 0;
  }
}

export interface RopeSlice {
  cos: tf.Tensor2D; // [T, hD]
  sin: tf.Tensor2D; // [T, hD]
  rotation: tf.Tensor2D; // [hD, hD]
}

/** x: [B, H, T, hD]; cos/sin: [T, hD] (broadcast over B, H). */
export function applyRope(x: tf.Tensor4D, rope: RopeSlice): tf.Tensor4D {
  const [B, H, T, hD] = x.shape;
  const rotated = tf.reshape(mmWeight(tf.reshape(x, [B * H * T, hD]), rope.rotation), [B, H, T, hD]); // rotate_half(x): [-x2, x1]
  return tf.add(tf.mul(x, rope.cos), tf.mul(rotated, rope.sin));
}
