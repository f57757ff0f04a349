// The training data stream. Packed sequences are visited in a seeded shuffled order per
// epoch; the stream position (the data cursor) is one integer, the number of sequences
// consumed, so a checkpoint restores the exact next batch. Dropout seeds are derived from
// (seed, step, micro-batch): the whole random state is counter-based and checkpointable.
import * as tf from '@tensorflow/tfjs-core';
import type { PackedSequence } from '../data/index';
import { seededRandom } from '../model/sampling';

export interface Batch {
  ids: tf.Tensor2D; // [B, T] inputs
  targets: tf.Tensor2D; // [B, T] next ids
  mask: tf.Tensor2D; // [B, T] 1 where the target counts
  tokens: number; // tokens with loss
}

function permutation(n: number, seed: number, epoch: number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  const r = seededRandom((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b)) >>> 0);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

export class BatchStream {
  private perms = new Map<number, Int32Array>();

  constructor(
    readonly seqs: readonly PackedSequence[],
    readonly batchSize: number,
    readonly seed: number,
    /** Sequences consumed so far (the data cursor). */
    public cursor = 0,
  ) {}

  get epoch(): number {
    return this.cursor / this.seqs.length;
  }

  private at(i: number): PackedSequence {
    const n = this.seqs.length;
    const e = Math.floor(i / n);
    let p = this.perms.get(e);
    if (!p) {
      this.perms.clear();
      p = permutation(n, this.seed, e);
      this.perms.set(e, p);
    }
    return this.seqs[p[i % n]];
  }

  /** The next batch (crossing into the next epoch when one runs out). */
  next(): Batch {
    const rows: PackedSequence[] = [];
    for (let b = 0; b < this.batchSize; b++) {
      rows.push(this.at(this.cursor + b));
    }
    this.cursor += this.batchSize;
    return toBatch(rows);
  }
}

/** Shift packed rows into (inputs, next-token targets, target mask). */
export function toBatch(rows: readonly PackedSequence[]): Batch {
  const B = rows.length;
  const T = rows[0].ids.length - 1;
  const ids = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  const mask = new Float32Array(B * T);
  let tokens = 0;
  rows.forEach((r, b) => {
    ids.set(r.ids.subarray(0, T), b * T);
    targets.set(r.ids.subarray(1, T + 1), b * T);
    for (let t = 0; t < T; t++) {
      mask[b * T + t] = r.lossMask[t + 1];
      tokens += r.lossMask[t + 1];
    }
  });
  return { ids: tf.tensor2d(ids, [B, T], 'int32'), targets: tf.tensor2d(targets, [B, T], 'int32'), mask: tf.tensor2d(mask, [B, T]), tokens };
}

export function disposeBatch(b: Batch): void {
  b.ids.dispose();
  b.targets.dispose();
  b.mask.dispose();
}

/** Seed of the dropout masks of one micro-batch. */
export function dropoutSeed(seed: number, step: number, micro: number): number {
  return (Math.imul(seed + 7, 1000003) + Math.imul(step, 8191) + micro * 131) >>> 0;
}
