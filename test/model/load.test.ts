// Loading: a hub id resolves through the Hugging Face cache (offline), and a model that
// does not fit in memory is refused with the numbers before any weight is read.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { CodetuneError } from '../../server/errors';
import { initBackend } from '../../server/model/backend';
import { loadModel } from '../../server/model/checkpoint';
import { fixtureDir, reference, relErr, runCli, tempDir } from '../helpers';

describe('loading models', () => {
  before(() => initBackend('wasm'));
  it('--model accepts a hub id served from the cache, offline', () => {
    const cache = tempDir('hf-cache-');
    const commit = 'a'.repeat(40);
    const repo = path.join(cache, 'models--tiny--llama');
    const snap = path.join(repo, 'snapshots', commit);
    fs.mkdirSync(snap, { recursive: true });
    fs.mkdirSync(path.join(repo, 'refs'));
    fs.writeFileSync(path.join(repo, 'refs', 'main'), commit);
    for (const f of ['config.json', 'model.safetensors']) {
      fs.copyFileSync(path.join(fixtureDir('tiny-llama'), f), path.join(snap, f));
    }
    const ref = reference('tiny-llama');
    const r = runCli(['logits', '--model', 'tiny/llama', '--ids', ref.sequences[1].join(',')], { env: { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1', HF_ENDPOINT: 'http://127.0.0.1:9' } });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(relErr((JSON.parse(r.stdout) as { last_logits: number[] }).last_logits, ref.base.last_logits[1]) < 1e-4);
    const miss = runCli(['logits', '--model', 'tiny/absent', '--ids', '1'], { env: { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1' } });
    assert.equal(miss.status, 1);
    assert.match(miss.stderr, /tiny\/absent/);
  });

  it('a model larger than the available memory is refused with the numbers', () => {
    assert.throws(
      () => loadModel(fixtureDir('tiny-llama'), { memory: { availableBytes: 1000 } }),
      (e: unknown) => e instanceof CodetuneError && e.code === 'OUT_OF_MEMORY' && /float32 weights/.test(e.message) && /KV cache/.test(e.message),
    );
  });

  it('close to the limit it loads, with a warning', () => {
    const warnings: string[] = [];
    const m = loadModel(fixtureDir('tiny-llama'), { memory: { availableBytes: 600_000 }, contextLength: 16, onMemoryWarning: (w) => warnings.push(w) });
    m.dispose();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /may start swapping/);
  });
});
