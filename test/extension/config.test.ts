// Config: one getter per setting, bad values fall back to defaults; the manifest
// declares exactly the settings Config reads, each with scope, default and description.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Config, DEFAULT_LANGUAGES, SETTING_EFFECT, SETTING_KEYS, restartKeys, type ConfigSource } from '../../extension/config';

const ROOT = join(__dirname, '../..');
interface Prop { scope?: string; default?: unknown; description?: string; markdownDescription?: string }
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, Prop> } } };
const props = manifest.contributes.configuration.properties;

const src = (values: Record<string, unknown>): ConfigSource => ({ get: <T>(k: string) => values[k] as T | undefined });
/** What VS Code gives an extension when the user set nothing: the manifest defaults. */
const manifestDefaults = src(Object.fromEntries(Object.entries(props).map(([k, p]) => [k.replace(/^codetune\./, ''), p.default])));

function check(settings: Record<string, unknown>, read: (c: Config) => unknown, expected: unknown): void {
  assert.deepEqual(read(new Config(src(settings))), expected, `${JSON.stringify(settings)}`);
}

describe('Config', () => {
  it('reads valid values', () => {
    check({ enable: false }, (c) => c.enable, false);
    check({ 'completions.languages': ['python', ' go ', 'python', 3] }, (c) => c.languages, ['python', 'go']);
    check({ 'completions.maxTokens': 128 }, (c) => c.maxTokens, 128);
    check({ 'completions.debounceMs': 0 }, (c) => c.debounceMs, 0);
    check({ baseModel: '  Qwen/Qwen2.5-Coder-0.5B ' }, (c) => c.baseModel, 'Qwen/Qwen2.5-Coder-0.5B');
    check({ backend: 'wasm' }, (c) => c.backend, 'wasm');
    check({ 'training.rank': 8 }, (c) => [c.trainingRank, c.trainingAlpha], [8, 16]);
    check({ 'training.rank': 8, 'training.alpha': 8 }, (c) => c.trainingAlpha, 8);
    check({ 'training.targets': ['q_proj', '', 'v_proj'] }, (c) => c.trainingTargets, ['q_proj', 'v_proj']);
    check({ 'training.epochs': 0.5 }, (c) => c.trainingEpochs, 0.5);
    check({ 'training.maxSteps': 30 }, (c) => c.trainingMaxSteps, 30);
    check({ 'training.learningRate': 0.01 }, (c) => c.trainingLearningRate, 0.01);
    check({ adapterStorage: '/data/adapters' }, (c) => c.adapterStorage, '/data/adapters');
    check({ 'training.advanced': { seqLen: 97, evaluate: false, include: ['src/**'], cacheDir: null } }, (c) => c.trainingAdvanced, { seqLen: 97, evaluate: false, include: ['src/**'], cacheDir: null });
  });

  it('falls back to the default on a bad value', () => {
    check({ enable: 'yes' }, (c) => c.enable, true);
    check({ 'completions.languages': 'python' }, (c) => c.languages, [...DEFAULT_LANGUAGES]);
    check({ 'completions.maxTokens': 0 }, (c) => c.maxTokens, 64);
    check({ 'completions.maxTokens': 2.5 }, (c) => c.maxTokens, 64);
    check({ 'completions.debounceMs': -1 }, (c) => c.debounceMs, 75);
    check({ baseModel: 42 }, (c) => c.baseModel, '');
    check({ backend: 'cuda' }, (c) => c.backend, 'auto');
    check({ 'training.rank': -4 }, (c) => c.trainingRank, 16);
    check({ 'training.alpha': 0 }, (c) => c.trainingAlpha, 32);
    check({ 'training.targets': 'q_proj' }, (c) => c.trainingTargets, []);
    check({ 'training.epochs': Number.NaN }, (c) => c.trainingEpochs, 3);
    check({ 'training.maxSteps': 1.5 }, (c) => c.trainingMaxSteps, 0);
    check({ 'training.learningRate': 1 }, (c) => c.trainingLearningRate, 2e-4);
    check({ 'training.advanced': [1] }, (c) => c.trainingAdvanced, {});
    check({ 'training.advanced': { nested: { a: 1 }, 'bad key': 1, ok: 2 } }, (c) => c.trainingAdvanced, { ok: 2 });
  });

  it('builds initializationOptions and trainer options', () => {
    const c = new Config(src({ backend: 'cpu', 'completions.maxTokens': 32, 'training.rank': 4, 'training.maxSteps': 20, 'training.learningRate': 0.005 }));
    assert.deepEqual(c.serverSettings('/g', '/models/tiny'), {
      storagePath: '/g', baseModel: '/models/tiny', backend: 'cpu', completions: { maxTokens: 32 },
      training: { rank: 4, alpha: 8, targets: 'all-linear', epochs: 3, maxSteps: 20, lr: 0.005 },
    });
    const d = new Config(src({ adapterStorage: '/mine', 'training.targets': ['q_proj'] }));
    const s = d.serverSettings('/g', null);
    assert.equal(s.storagePath, '/mine');
    assert.equal('baseModel' in s, false);
    assert.deepEqual(d.trainOptions(), { rank: 16, alpha: 32, targets: ['q_proj'], epochs: 3, lr: 2e-4 });
    // The named settings win over the same names in training.advanced.
    const e = new Config(src({ 'training.rank': 4, 'training.advanced': { rank: 99, dropout: 0 } }));
    assert.deepEqual(e.trainOptions(), { dropout: 0, rank: 4, alpha: 8, targets: 'all-linear', epochs: 3, lr: 2e-4 });
  });

  it('says which changed settings need a server restart', () => {
    const changed = (keys: string[]) => restartKeys((k) => keys.includes(k));
    assert.deepEqual(changed(['codetune.backend', 'codetune.training.rank']), ['codetune.backend']);
    assert.deepEqual(changed(['codetune.completions.debounceMs', 'codetune.baseModel']), []);
    assert.deepEqual(changed(['codetune.enable', 'codetune.adapterStorage']), ['codetune.enable', 'codetune.adapterStorage']);
  });
});

describe('manifest settings', () => {
  it('declares exactly the settings Config reads', () => {
    assert.deepEqual(Object.keys(props).sort(), SETTING_KEYS.map((k) => `codetune.${k}`).sort());
    assert.deepEqual(Object.keys(SETTING_EFFECT).sort(), [...SETTING_KEYS].sort());
  });

  it('gives every setting a scope, a default and a description', () => {
    for (const [key, p] of Object.entries(props)) {
      assert.ok(p.scope, `${key} has no scope`);
      assert.ok('default' in p, `${key} has no default`);
      assert.ok((p.description ?? p.markdownDescription ?? '').length > 20, `${key} has no description`);
      if (SETTING_EFFECT[key.replace(/^codetune\./, '') as keyof typeof SETTING_EFFECT] === 'restart') {
        assert.match(p.description ?? p.markdownDescription ?? '', /restart/i, `${key} needs a restart but does not say so`);
      }
    }
  });

  it('has the same defaults as Config', () => {
    const fromManifest = new Config(manifestDefaults);
    const fromNothing = new Config(src({}));
    for (const getter of ['enable', 'languages', 'maxTokens', 'debounceMs', 'baseModel', 'backend', 'trainingRank', 'trainingAlpha', 'trainingTargets', 'trainingEpochs', 'trainingMaxSteps', 'trainingLearningRate', 'trainingAdvanced', 'adapterStorage'] as const) {
      assert.deepEqual(fromManifest[getter], fromNothing[getter], getter);
    }
  });
});
