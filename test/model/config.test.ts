// config.json → ModelConfig: supported architectures and fields, and a typed error for
// everything else.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { CodetuneError } from '../../server/errors';
import { parameterCount, parseModelConfig, readModelConfig, type ModelConfig } from '../../server/model/config';
import { inverseFrequencies } from '../../server/model/rope';
import { fixtureDir, tempDir } from '../helpers';

const base = { model_type: 'llama', vocab_size: 100, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4 };

function check(input: Record<string, unknown>, expected: Partial<ModelConfig>): void {
  const c = parseModelConfig({ ...base, ...input }, 'config.json');
  for (const [k, v] of Object.entries(expected)) {
    assert.deepEqual(c[k as keyof ModelConfig], v, k);
  }
}

function checkError(input: Record<string, unknown>, code: string, message: RegExp): void {
  assert.throws(() => parseModelConfig({ ...base, ...input }, 'config.json'), (e: unknown) => e instanceof CodetuneError && e.code === code && message.test(e.message) && e.message.startsWith('config.json'));
}

describe('config: supported fields', () => {
  it('llama defaults: MHA, untied, no bias', () => check({}, { modelType: 'llama', numKvHeads: 4, headDim: 16, tieWordEmbeddings: false, qkvBias: false, oBias: false, ropeScaling: { type: 'none' }, slidingWindow: null }));
  it('GQA/MQA from num_key_value_heads', () => check({ num_key_value_heads: 1 }, { numKvHeads: 1 }));
  it('head_dim when present', () => check({ head_dim: 32 }, { headDim: 32 }));
  it('qwen2 has q/k/v bias, no o bias', () => check({ model_type: 'qwen2' }, { qkvBias: true, oBias: false }));
  it('llama attention_bias puts bias on q/k/v/o', () => check({ attention_bias: true }, { qkvBias: true, oBias: true }));
  it('rope_theta, rms_norm_eps, tie_word_embeddings', () => check({ rope_theta: 1e6, rms_norm_eps: 1e-5, tie_word_embeddings: true }, { ropeTheta: 1e6, rmsNormEps: 1e-5, tieWordEmbeddings: true }));
  it('mistral sliding window', () => check({ model_type: 'mistral', sliding_window: 4096 }, { modelType: 'mistral', slidingWindow: 4096 }));
  it('eos ids as a list', () => check({ eos_token_id: [1, 2] }, { eosTokenIds: [1, 2] }));
  it('rope_scaling llama3', () =>
    check({ rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } }, {
      ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
    }));
  it('fixture configs parse', () => {
    assert.equal(readModelConfig(fixtureDir('tiny-llama')).numKvHeads, 2);
    assert.equal(readModelConfig(fixtureDir('tiny-qwen2')).tieWordEmbeddings, true);
  });
});

describe('config: unsupported or invalid input is a typed error', () => {
  it('unknown model_type lists the supported ones', () => checkError({ model_type: 'gpt2' }, 'CONFIG_UNSUPPORTED', /"gpt2" is not supported; supported: llama, qwen2, mistral/));
  it('unsupported rope scaling lists the supported ones', () => checkError({ rope_scaling: { type: 'yarn', factor: 4 } }, 'CONFIG_UNSUPPORTED', /rope_scaling type "yarn".*supported: none, default, linear, llama3/));
  it('unsupported activation', () => checkError({ hidden_act: 'gelu' }, 'CONFIG_UNSUPPORTED', /hidden_act "gelu"/));
  it('missing hidden_size', () => checkError({ hidden_size: undefined }, 'CONFIG_INVALID', /"hidden_size" must be a positive integer/));
  it('heads not a multiple of kv heads', () => checkError({ num_key_value_heads: 3 }, 'CONFIG_INVALID', /multiple of num_key_value_heads/));
  it('odd head dim', () => checkError({ head_dim: 15 }, 'CONFIG_INVALID', /even/));
  it('config.json missing', () => assert.throws(() => readModelConfig(tempDir()), (e: unknown) => e instanceof CodetuneError && e.code === 'CHECKPOINT_MISSING'));
  it('config.json not JSON', () => {
    const d = tempDir();
    fs.writeFileSync(path.join(d, 'config.json'), '{oops');
    assert.throws(() => readModelConfig(d), (e: unknown) => e instanceof CodetuneError && e.code === 'CONFIG_INVALID' && /not valid JSON/.test(e.message));
  });
});

describe('rope frequencies', () => {
  it('llama3 scaling: high frequencies unchanged, low ones divided by factor, smooth between', () => {
    const c = { headDim: 128, ropeTheta: 500000, ropeScaling: { type: 'llama3' as const, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 } };
    const plain = inverseFrequencies({ ...c, ropeScaling: { type: 'none' } });
    const scaled = inverseFrequencies(c);
    assert.equal(scaled[0], plain[0]);
    assert.ok(Math.abs(scaled[63] - plain[63] / 8) < 1e-18);
    const mid = scaled.findIndex((f, i) => f !== plain[i] && Math.abs(f - plain[i] / 8) > 1e-18);
    assert.ok(mid > 0 && scaled[mid] < plain[mid] && scaled[mid] > plain[mid] / 8, 'a smoothly interpolated band exists');
  });
});

describe('parameter count', () => {
  it('bench-small is about 31.6M parameters', () => {
    const c = parseModelConfig({ model_type: 'llama', vocab_size: 8192, hidden_size: 512, intermediate_size: 1376, num_hidden_layers: 8, num_attention_heads: 8, num_key_value_heads: 4 });
    assert.equal(parameterCount(c), 31_597_056);
  });
});
