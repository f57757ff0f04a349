// PEFT adapters: save/load round trip in PEFT's exact format, mismatch and invalid-input
// errors, merged vs unmerged equivalence, exact combination, exact switch back to base.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { loadAdapter, saveAdapter } from '../../server/adapters/peft';
import { CodetuneError } from '../../server/errors';
import { initBackend } from '../../server/model/backend';
import { loadModel } from '../../server/model/checkpoint';
import type { CausalLM } from '../../server/model/llama';
import { LoraAdapter, loraConfig, loraTerms, type WeightedAdapter } from '../../server/model/lora';
import { disposeWeights, mergeAdapters } from '../../server/model/merge';
import { SafetensorsFile, writeSafetensors } from '../../server/model/safetensors';
import { fixtureDir, relErr, tempDir } from '../helpers';

const LLAMA = fixtureDir('tiny-llama');
const QWEN = fixtureDir('tiny-qwen2');
const SEQ = [34, 258, 111, 323, 71, 35, 54];

let model: CausalLM;
before(async () => {
  await initBackend('wasm');
  model = loadModel(LLAMA);
});

function servedLogits(m: CausalLM, adapters: WeightedAdapter[], merged: boolean): Float32Array {
  if (merged) {
    const w = mergeAdapters(m, adapters);
    m.setMergedWeights(w);
    const out = m.logits(SEQ)[0];
    m.setMergedWeights(new Map());
    disposeWeights(w);
    return out;
  }
  m.setLoraTerms(loraTerms(adapters));
  const out = m.logits(SEQ)[0];
  m.setLoraTerms(new Map());
  return out;
}

/** Copy an adapter folder, letting `edit` change its tensors or config. */
function editedAdapter(src: string, edit: (tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }>, cfg: Record<string, unknown>) => void): string {
  const dir = tempDir('adapter-');
  const st = SafetensorsFile.open(path.join(src, 'adapter_model.safetensors'));
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const n of st.names) {
    const t = st.read(n);
    tensors[n] = { dtype: 'F32', shape: t.shape, data: t.data as Float32Array };
  }
  const cfg = JSON.parse(fs.readFileSync(path.join(src, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  edit(tensors, cfg);
  writeSafetensors(path.join(dir, 'adapter_model.safetensors'), tensors);
  fs.writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify(cfg));
  return dir;
}

function checkError(dir: string, code: string, message: RegExp, tensor?: string): void {
  assert.throws(() => loadAdapter(dir, model), (e: unknown) => {
    assert.ok(e instanceof CodetuneError, String(e));
    assert.equal(e.code, code);
    assert.match(e.message, message);
    if (tensor) {
      assert.equal(e.tensor, tensor);
      assert.ok(e.message.includes(tensor));
    }
    return true;
  });
}

describe('adapter save/load', () => {
  it('a saved adapter reloads bit-identical, with PEFT keys, shapes and config', () => {
    const a = loadAdapter(`${LLAMA}/adapter`, model);
    const out = path.join(tempDir(), 'saved');
    saveAdapter(a, out, 'tiny-llama');
    const fixture = SafetensorsFile.open(`${LLAMA}/adapter/adapter_model.safetensors`);
    const saved = SafetensorsFile.open(path.join(out, 'adapter_model.safetensors'));
    assert.deepEqual(saved.names.sort(), fixture.names.sort(), 'same key names as the PEFT fixture');
    for (const n of fixture.names) {
      assert.deepEqual(saved.info(n).shape, fixture.info(n).shape, `${n} shape`);
      assert.deepEqual(Buffer.from(saved.read(n).data.buffer), Buffer.from(fixture.read(n).data.buffer), `${n} bits`);
    }
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    for (const [k, v] of Object.entries({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 4, lora_alpha: 8, base_model_name_or_path: 'tiny-llama' })) {
      assert.deepEqual(cfg[k], v, k);
    }
    assert.deepEqual([...(cfg.target_modules as string[])].sort(), ['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj']);
    const again = loadAdapter(out, model);
    for (const m of a.modules()) {
      assert.deepEqual(Buffer.from(again.A.get(m)!.dataSync().buffer), Buffer.from(a.A.get(m)!.dataSync().buffer));
      assert.deepEqual(Buffer.from(again.B.get(m)!.dataSync().buffer), Buffer.from(a.B.get(m)!.dataSync().buffer));
    }
    assert.deepEqual(fs.readdirSync(path.dirname(out)), ['saved'], 'no temp folder left behind');
  });

  it('a fresh adapter (B = 0, A Kaiming-uniform) leaves the model exactly equal to the base', () => {
    const fresh = LoraAdapter.create(model, loraConfig({ r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj'] }), 7);
    const a = fresh.A.get('model.layers.0.self_attn.q_proj')!;
    assert.deepEqual(a.shape, [4, 64]);
    const bound = 1 / Math.sqrt(64);
    const vals = a.dataSync();
    assert.ok(vals.every((v) => Math.abs(v) <= bound) && vals.some((v) => v !== 0), 'A within ±1/√in');
    assert.ok(fresh.B.get('model.layers.0.self_attn.q_proj')!.dataSync().every((v) => v === 0), 'B zero');
    assert.equal(fresh.modules().length, 4, 'q and v in 2 layers');
    const baseLogits = model.logits(SEQ)[0];
    assert.deepEqual(servedLogits(model, [{ adapter: fresh, weight: 1 }], true), baseLogits);
    fresh.dispose();
  });
});

describe('merged serving', () => {
  it('merged and unmerged give the same logits, with adapter weights', () => {
    const a = loadAdapter(`${LLAMA}/adapter`, model);
    for (const w of [1, 0.5, -2]) {
      const e = relErr(servedLogits(model, [{ adapter: a, weight: w }], true), servedLogits(model, [{ adapter: a, weight: w }], false));
      assert.ok(e < 1e-5, `weight ${w}: ${e}`);
    }
  });

  it('two adapters combine exactly as the sum of their deltas (no cross terms)', () => {
    const a = loadAdapter(`${LLAMA}/adapter`, model);
    const b = LoraAdapter.create(model, loraConfig({ r: 2, alpha: 4, targetModules: 'all-linear' }), 3);
    for (const m of b.modules()) {
      (b.B.get(m) as tf.Variable).assign(tf.randomNormal(b.B.get(m)!.shape, 0, 0.5, 'float32', 11));
    }
    const set = [{ adapter: a, weight: 0.7 }, { adapter: b, weight: 0.4 }];
    const merged = mergeAdapters(model, set);
    const name = 'model.layers.1.mlp.down_proj.weight';
    const module = 'model.layers.1.mlp.down_proj';
    const expected = tf.tidy(() =>
      // W + 0.7·s_a·B_a A_a + 0.4·s_b·B_b A_b, in kernel layout (transposed).
      tf.add(tf.add(model.baseWeight(name), tf.transpose(tf.mul(tf.matMul(a.B.get(module)!, a.A.get(module)!), 0.7 * a.scale(module)))), tf.transpose(tf.mul(tf.matMul(b.B.get(module)!, b.A.get(module)!), 0.4 * b.scale(module)))),
    );
    assert.ok(relErr(merged.get(name)!.dataSync(), expected.dataSync()) < 1e-6);
    expected.dispose();
    disposeWeights(merged);
    const e = relErr(servedLogits(model, set, true), servedLogits(model, set, false));
    assert.ok(e < 1e-5, `combined merged vs unmerged: ${e}`);
    b.dispose();
  });

  it('switching back to the base is exact: the base weights were never modified', () => {
    const before = model.logits(SEQ)[0];
    const snapshot = Buffer.from(model.baseWeight('model.layers.0.self_attn.q_proj.weight').dataSync().buffer);
    const a = loadAdapter(`${LLAMA}/adapter`, model);
    const w = mergeAdapters(model, [{ adapter: a, weight: 1 }]);
    model.setMergedWeights(w);
    assert.notDeepEqual(model.logits(SEQ)[0], before);
    model.setMergedWeights(new Map());
    disposeWeights(w);
    assert.deepEqual(model.logits(SEQ)[0], before);
    assert.deepEqual(Buffer.from(model.baseWeight('model.layers.0.self_attn.q_proj.weight').dataSync().buffer), snapshot);
  });
});

describe('adapter errors', () => {
  it('an adapter for another base names the first mismatching tensor', () =>
    checkError(`${QWEN}/adapter`, 'ADAPTER_MISMATCH', /lora_A\.weight" has shape \[8,48\].*different base/, 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'));
  it('a wrong lora_B shape', () =>
    checkError(
      editedAdapter(`${LLAMA}/adapter`, (t) => {
        const k = 'base_model.model.model.layers.1.mlp.up_proj.lora_B.weight';
        t[k] = { dtype: 'F32', shape: [100, 4], data: new Float32Array(400) };
      }),
      'ADAPTER_MISMATCH', /expected \[176,4\]/, 'base_model.model.model.layers.1.mlp.up_proj.lora_B.weight'));
  it('a module the base does not have', () =>
    checkError(
      editedAdapter(`${LLAMA}/adapter`, (t) => {
        t['base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight'] = { dtype: 'F32', shape: [4, 64], data: new Float32Array(256) };
        t['base_model.model.model.layers.9.self_attn.q_proj.lora_B.weight'] = { dtype: 'F32', shape: [64, 4], data: new Float32Array(256) };
      }),
      'ADAPTER_MISMATCH', /does not have/, 'base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight'));
  it('a missing lora_B', () =>
    checkError(editedAdapter(`${LLAMA}/adapter`, (t) => delete t['base_model.model.model.layers.0.mlp.gate_proj.lora_B.weight']), 'ADAPTER_INVALID', /is missing/, 'base_model.model.model.layers.0.mlp.gate_proj.lora_B.weight'));
  it('a tensor that is not a LoRA weight', () =>
    checkError(editedAdapter(`${LLAMA}/adapter`, (t) => (t['base_model.model.lm_head.weight'] = { dtype: 'F32', shape: [1], data: new Float32Array(1) })), 'ADAPTER_INVALID', /not a LoRA A\/B weight/, 'base_model.model.lm_head.weight'));
  it('DoRA is refused', () => checkError(editedAdapter(`${LLAMA}/adapter`, (_t, c) => (c.use_dora = true)), 'ADAPTER_INVALID', /use_dora/));
  it('a non-LoRA PEFT type is refused', () => checkError(editedAdapter(`${LLAMA}/adapter`, (_t, c) => (c.peft_type = 'IA3')), 'ADAPTER_INVALID', /peft_type "IA3"/));
  it('a bad r', () => checkError(editedAdapter(`${LLAMA}/adapter`, (_t, c) => (c.r = 0)), 'ADAPTER_INVALID', /"r" must be a positive integer/));
  it('a folder without adapter_config.json', () => checkError(tempDir(), 'ADAPTER_INVALID', /no adapter_config\.json/));
  it('a pickled adapter_model.bin only', () => {
    const d = tempDir();
    fs.copyFileSync(`${LLAMA}/adapter/adapter_config.json`, path.join(d, 'adapter_config.json'));
    fs.writeFileSync(path.join(d, 'adapter_model.bin'), 'x');
    checkError(d, 'PICKLE_WEIGHTS', /safe_serialization/);
  });
});
