// Unit tests of the trainer's parts against values computed by hand: AdamW (decoupled
// decay, bias correction, state round trip), clipping, the schedule, the loss and its
// gradient, the data stream and the edit similarity.
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../server/model/backend';
import { nextTokenLoss } from '../../server/model/llama';
import { AdamW, clipByGlobalNorm, learningRate } from '../../server/train/optimizer';
import { BatchStream, disposeBatch, toBatch } from '../../server/train/batches';
import { editSimilarity } from '../../server/train/evaluate';
import { parseTargets, resolveOptions } from '../../server/train/options';
import { registerTrainingKernels } from '../../server/train/kernels';
import { relErr } from '../helpers';

before(async () => {
  await initBackend('wasm');
});

/** Plain-number AdamW, written independently of the tensor version. */
function refAdamW(p: number[], grads: number[][], lr: number, wd: number, decay: boolean): number[] {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const x = [...p];
  grads.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < x.length; i++) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const mh = m[i] / (1 - b1 ** t);
      const vh = v[i] / (1 - b2 ** t);
      x[i] = x[i] * (decay ? 1 - lr * wd : 1) - (lr * mh) / (Math.sqrt(vh) + eps);
    }
  });
  return x;
}

describe('AdamW', () => {
  const grads = [[0.5, -1, 2, 0], [0.1, 0.3, -0.2, 1], [-0.4, 0.2, 0.1, 0.05]];
  const check = (shape: number[], wd: number, decay: boolean): void => {
    const p = tf.variable(tf.tensor([1, -2, 0.5, 3], shape));
    const opt = new AdamW([p], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: wd });
    for (const g of grads) {
      const gt = tf.tensor(g, shape);
      opt.apply([gt], 0.1);
      gt.dispose();
    }
    assert.ok(relErr(p.dataSync(), refAdamW([1, -2, 0.5, 3], grads, 0.1, wd, decay)) < 1e-6);
    opt.dispose();
    p.dispose();
  };
  it('matches the reference update on a matrix, with decoupled weight decay', () => check([2, 2], 0.1, true));
  it('does not decay 1-D tensors (norm gains, biases)', () => check([4], 0.1, false));
  it('without gradient, decay alone shrinks weights by lr·wd per step', () => {
    const p = tf.variable(tf.tensor2d([[2, -4]]));
    const opt = new AdamW([p], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.5 });
    const g = tf.zeros([1, 2]);
    opt.apply([g], 0.1);
    assert.ok(relErr(p.dataSync(), [2 * 0.95, -4 * 0.95]) < 1e-7);
    tf.dispose([g, p]);
    opt.dispose();
  });
  it('restored state continues exactly like the original optimizer', () => {
    const mk = (): { p: tf.Variable; o: AdamW } => {
      const p = tf.variable(tf.tensor2d([[1, 2], [3, 4]]));
      return { p, o: new AdamW([p], { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01 }) };
    };
    const a = mk();
    const g1 = tf.tensor2d([[0.1, -0.2], [0.3, 0.4]]);
    const g2 = tf.tensor2d([[-0.5, 0.2], [0.1, 0.0]]);
    a.o.apply([g1], 0.01);
    const b = mk();
    b.p.assign(a.p);
    b.o.load(a.o.state());
    a.o.apply([g2], 0.01);
    b.o.apply([g2], 0.01);
    assert.deepEqual(Array.from(b.p.dataSync()), Array.from(a.p.dataSync()));
    assert.equal(b.o.step, 2);
    tf.dispose([g1, g2, a.p, b.p]);
    a.o.dispose();
    b.o.dispose();
  });
});

describe('clipping and schedule', () => {
  it('clips by the global norm across tensors', () => {
    const gs = [tf.tensor1d([3, 0]), tf.tensor1d([0, 4])]; // norm 5
    const { grads, norm } = clipByGlobalNorm(gs, 1);
    assert.ok(Math.abs(norm - 5) < 1e-6);
    assert.ok(relErr([...grads[0].dataSync(), ...grads[1].dataSync()], [0.6, 0, 0, 0.8]) < 1e-5);
    const same = clipByGlobalNorm(gs, 10);
    assert.deepEqual(Array.from(same.grads[1].dataSync()), [0, 4]);
    tf.dispose([...gs, ...grads, ...same.grads]);
  });
  it('warms up linearly, then decays by cosine to the floor', () => {
    const lr = (s: number): number => learningRate(s, 110, 1e-3, 10, 0.1);
    assert.equal(lr(5), 5e-4);
    assert.equal(lr(10), 1e-3);
    assert.ok(Math.abs(lr(60) - 1e-3 * (0.1 + 0.9 * 0.5)) < 1e-12); // half way: cos = 0
    assert.ok(Math.abs(lr(110) - 1e-4) < 1e-12);
    assert.ok(lr(30) > lr(80));
  });
});

describe('loss', () => {
  /** The same loss by plain autodiff: logsumexp − picked logit, averaged over the mask. */
  const autodiffLoss = (z: tf.Tensor3D, t: tf.Tensor2D, m: tf.Tensor2D): tf.Scalar => {
    const [B, T, V] = z.shape;
    const flat = tf.reshape(z, [B * T, V]);
    const picked = tf.sum(tf.mul(flat, tf.oneHot(tf.reshape(t, [-1]) as tf.Tensor1D, V)), 1);
    const mf = tf.reshape(m, [-1]);
    return tf.div(tf.sum(tf.mul(tf.sub(tf.logSumExp(flat, 1), picked), mf)), tf.maximum(tf.sum(mf), 1)) as tf.Scalar;
  };

  it('masked cross-entropy equals the engine loss, and its written-out gradient equals autodiff', () => {
    const z = tf.variable(tf.randomNormal([2, 4, 9], 0, 2, 'float32', 5));
    const t = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8]], [2, 4], 'int32');
    const m = tf.tensor2d([[1, 0, 1, 1], [0, 1, 1, 0]]);
    const a = tf.variableGrads(() => autodiffLoss(z as unknown as tf.Tensor3D, t, m), [z]);
    const b = tf.variableGrads(() => nextTokenLoss(z as unknown as tf.Tensor3D, t, m), [z]);
    assert.ok(Math.abs(a.value.dataSync()[0] - b.value.dataSync()[0]) < 1e-5);
    assert.ok(relErr(b.grads[z.name].dataSync(), a.grads[z.name].dataSync()) < 1e-5);
    tf.dispose([z, t, m, a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);
  });
});

describe('embedding gradient on wasm', () => {
  it('sums the upstream rows of each looked-up id (UnsortedSegmentSum)', () => {
    registerTrainingKernels();
    const E = tf.variable(tf.randomNormal([5, 3], 0, 1, 'float32', 2));
    const W = tf.tensor2d([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
    const ids = tf.tensor1d([1, 3, 1], 'int32');
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.gather(E, ids), W)), [E]);
    assert.deepEqual(Array.from(grads[E.name].dataSync()), [0, 0, 0, 8, 10, 12, 0, 0, 0, 4, 5, 6, 0, 0, 0]);
    tf.dispose([E, W, ids, value, ...Object.values(grads)]);
  });
});

describe('data stream', () => {
  const seqs = Array.from({ length: 5 }, (_, i) => ({ ids: Int32Array.from([i, i + 10, i + 20, i + 30]), lossMask: Uint8Array.from([0, 0, 1, 1]) }));
  const firstIds = (s: BatchStream): number[] => {
    const b = s.next();
    const ids = Array.from(b.ids.dataSync()).filter((_, k) => k % 3 === 0);
    disposeBatch(b);
    return ids;
  };
  it('shifts rows into inputs, next-token targets and the targets\' mask', () => {
    const b = toBatch([seqs[1]]);
    assert.deepEqual(Array.from(b.ids.dataSync()), [1, 11, 21]);
    assert.deepEqual(Array.from(b.targets.dataSync()), [11, 21, 31]);
    assert.deepEqual(Array.from(b.mask.dataSync()), [0, 1, 1]);
    assert.equal(b.tokens, 2);
    disposeBatch(b);
  });
  it('visits every sequence once per epoch, and a stream restored at its cursor continues identically', () => {
    const s = new BatchStream(seqs, 1, 7);
    const epoch1 = [0, 1, 2, 3, 4].map(() => firstIds(s)[0]);
    assert.deepEqual([...epoch1].sort(), [0, 1, 2, 3, 4]);
    const cont = new BatchStream(seqs, 2, 7, 3);
    const orig = new BatchStream(seqs, 2, 7);
    firstIds(orig);
    orig.cursor = 3;
    for (let k = 0; k < 6; k++) {
      assert.deepEqual(firstIds(cont), firstIds(orig));
    }
    assert.notDeepEqual(epoch1, [0, 1, 2, 3, 4].map(() => firstIds(new BatchStream(seqs, 1, 8))[0]));
  });
});

describe('options and metrics', () => {
  it('alpha defaults to 2r and bad values are usage errors', () => {
    assert.equal(resolveOptions({ repo: 'r', model: 'm', out: 'o', rank: 8 }).alpha, 16);
    assert.deepEqual(parseTargets('q_proj, v_proj'), ['q_proj', 'v_proj']);
    for (const bad of [{ rank: 0 }, { lr: 2 }, { batchSize: 1.5 }, { seqLen: 4 }, { targets: [] as string[] }]) {
      assert.throws(() => resolveOptions({ repo: 'r', model: 'm', out: 'o', ...bad }), { code: 'USAGE' });
    }
  });
  it('edit similarity is 1 − Levenshtein / max length', () => {
    assert.equal(editSimilarity('abc', 'abc'), 1);
    assert.equal(editSimilarity('', ''), 1);
    assert.equal(editSimilarity('kitten', 'sitting'), 1 - 3 / 7);
    assert.equal(editSimilarity('abc', ''), 0);
  });
});
