// Parity with the reference fixtures (../shared/fixtures): logits, greedy continuations
// and LoRA gradients computed by an independent implementation, on wasm and cpu.
import assert from 'node:assert/strict';
import { describe, it, before, after } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { loadAdapter } from '../../server/adapters/peft';
import { initBackend } from '../../server/model/backend';
import { loadModel } from '../../server/model/checkpoint';
import { generate } from '../../server/model/generate';
import { nextTokenLoss, type CausalLM } from '../../server/model/llama';
import { loraTerms, type LoraAdapter } from '../../server/model/lora';
import { disposeWeights, mergeAdapters } from '../../server/model/merge';
import { fixtureDir, reference, relErr } from '../helpers';

const TOL = 1e-4;

function checkLogits(label: string, got: ArrayLike<number>, exp: number[]): void {
  const e = relErr(got, exp);
  assert.ok(e <= TOL, `${label}: relative error ${e.toExponential(2)} > ${TOL}`);
}

type Mode = 'base' | 'merged' | 'unmerged';

for (const backend of ['wasm', 'cpu'] as const) {
  for (const name of ['tiny-llama', 'tiny-qwen2']) {
    describe(`parity ${name} on ${backend}`, () => {
      const ref = reference(name);
      let model: CausalLM;
      let adapter: LoraAdapter;
      let merged: Map<string, tf.Tensor>;

      function use(mode: Mode): void {
        model.setMergedWeights(mode === 'merged' ? merged : new Map());
        model.setLoraTerms(mode === 'unmerged' ? loraTerms([{ adapter, weight: 1 }]) : new Map());
      }

      before(async () => {
        const r = await initBackend(backend);
        assert.equal(r.backend, backend);
        model = loadModel(fixtureDir(name));
        adapter = loadAdapter(`${fixtureDir(name)}/adapter`, model);
        merged = mergeAdapters(model, [{ adapter, weight: 1 }]);
      });
      after(() => {
        disposeWeights(merged);
        adapter.dispose();
        model.dispose();
      });

      for (const mode of ['base', 'merged', 'unmerged'] as const) {
        const exp = mode === 'base' ? ref.base : ref.merged;
        it(`${mode}: last-position logits of every sequence`, () => {
          use(mode);
          ref.sequences.forEach((seq, i) => checkLogits(`${mode} seq ${i}`, model.logits(seq)[0], exp.last_logits[i]));
        });
        it(`${mode}: logits at every position of sequence 1`, () => {
          use(mode);
          const rows = model.logits(ref.sequences[1], true);
          assert.equal(rows.length, exp.all_logits_seq1.length);
          rows.forEach((row, t) => checkLogits(`${mode} position ${t}`, row, exp.all_logits_seq1[t]));
        });
        it(`${mode}: 16 greedy tokens after sequence 1, exactly`, () => {
          use(mode);
          assert.deepEqual(generate(model, ref.sequences[1], { maxNewTokens: 16 }), exp.greedy_from_seq1);
        });
      }

      it('base and adapter loss match the reference', () => {
        for (const mode of ['base', 'merged'] as const) {
          use(mode);
          const seq = ref.sequences[2];
          const loss = tf.tidy(() => {
            const logits = model.forward(tf.tensor2d([seq.slice(0, -1)], [1, seq.length - 1], 'int32'));
            return nextTokenLoss(logits, tf.tensor2d([seq.slice(1)], [1, seq.length - 1], 'int32'), tf.ones([1, seq.length - 1]));
          });
          const got = loss.dataSync()[0];
          loss.dispose();
          assert.ok(Math.abs(got - ref[mode].loss[2]!) < 1e-4 * Math.abs(ref[mode].loss[2]!), `${mode} loss ${got} vs ${ref[mode].loss[2]}`);
        }
      });

      it('LoRA gradients from tf.variableGrads match lora_grad', () => {
        const trainable = loadAdapter(`${fixtureDir(name)}/adapter`, model, { trainable: true });
        try {
          model.setMergedWeights(new Map());
          model.setLoraTerms(loraTerms([{ adapter: trainable, weight: 1 }]));
          const seq = ref.sequences[ref.lora_grad.sequence_index];
          const T = seq.length - 1;
          const { value, grads } = tf.variableGrads(() => {
            const logits = model.forward(tf.tensor2d([seq.slice(0, -1)], [1, T], 'int32'), { training: true });
            return nextTokenLoss(logits, tf.tensor2d([seq.slice(1)], [1, T], 'int32'), tf.ones([1, T]));
          }, trainable.variables());
          assert.ok(Math.abs(value.dataSync()[0] - ref.lora_grad.loss) < 1e-4 * ref.lora_grad.loss);
          const keys = Object.keys(ref.lora_grad.grads);
          assert.equal(Object.keys(grads).length, keys.length, 'one gradient per LoRA tensor');
          for (const key of keys) {
            const m = /^base_model\.model\.(.+)\.lora_([AB])\.weight$/.exec(key)!;
            const v = (m[2] === 'A' ? trainable.A : trainable.B).get(m[1]) as tf.Variable;
            const g = grads[v.name];
            assert.ok(g, `gradient for ${key}`);
            const e = relErr(g.dataSync(), ref.lora_grad.grads[key].flat());
            assert.ok(e <= TOL, `${key}: gradient relative error ${e.toExponential(2)} > ${TOL}`);
          }
          value.dispose();
          Object.values(grads).forEach((g) => g.dispose());
        } finally {
          trainable.dispose();
        }
      });
    });
  }
}
