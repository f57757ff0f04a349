// A 3-shard checkpoint fetched from the mock hub loads shard by shard, and its
// logits equal the unsharded model's (and the independent reference).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CodetuneError } from '../../server/errors';
import { hubSettings, snapshotComplete, type HubSettings } from '../../server/hub/cache';
import { downloadModel } from '../../server/hub/download';
import { resolveModel, resolveModelCached } from '../../server/hub/resolve';
import { initBackend } from '../../server/model/backend';
import { loadModel } from '../../server/model/checkpoint';
import type { CausalLM } from '../../server/model/llama';
import { reference, relErr } from '../helpers';
import { MockHub } from './mock-hub';
import { TINY_LLAMA, shardedTinyLlamaFiles, tempDir } from './fixtures';

let hub: MockHub;
let settings: HubSettings;
const temp = tempDir('hub-shard');
const sharded = shardedTinyLlamaFiles(3);
const shardNames = Object.keys(sharded).filter((f) => /^model-\d{5}-of-00003\.safetensors$/.test(f)).sort();

before(async () => {
  hub = await MockHub.start();
  hub.addRepo({ id: 'test-org/tiny-llama-sharded', files: sharded });
  settings = hubSettings({ endpoint: hub.url, cacheDir: path.join(temp.dir, 'cache'), offline: false }, {});
  await initBackend('wasm');
});

after(async () => {
  await hub.close();
  temp.cleanup();
});

void describe('sharded checkpoint', () => {
  let snapshot = '';
  let shardedModel: CausalLM;
  let plainModel: CausalLM;

  void test('the fixture splits into 3 shards covering every tensor once', () => {
    assert.equal(shardNames.length, 3);
    const index = JSON.parse(sharded['model.safetensors.index.json'].toString('utf8')) as { weight_map: Record<string, string> };
    assert.deepEqual([...new Set(Object.values(index.weight_map))].sort(), shardNames);
    const buf = fs.readFileSync(path.join(TINY_LLAMA, 'model.safetensors'));
    const names = Object.keys(JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8')) as object).filter((k) => k !== '__metadata__');
    assert.deepEqual(Object.keys(index.weight_map).sort(), names.sort());
  });

  void test('resolving the hub id downloads it, then loads shard by shard', async () => {
    const r = await resolveModel('test-org/tiny-llama-sharded', { settings });
    assert.equal(r.downloaded, true);
    snapshot = r.dir;
    const loaded: string[] = [];
    shardedModel = loadModel(snapshot, { onShard: (file, done, total) => loaded.push(`${path.basename(file)} ${done}/${total}`) });
    assert.deepEqual(loaded, shardNames.map((n, i) => `${n} ${i + 1}/3`));
  });

  void test('its logits equal the unsharded model\'s, and the reference', () => {
    plainModel = loadModel(TINY_LLAMA);
    const ref = reference('tiny-llama');
    ref.sequences.forEach((ids, i) => {
      const a = shardedModel.logits(ids)[0];
      const b = plainModel.logits(ids)[0];
      assert.deepEqual(Array.from(a), Array.from(b), `sequence ${i}: sharded and unsharded logits differ`);
      assert.ok(relErr(a, ref.base.last_logits[i]) <= 1e-4, `sequence ${i} vs reference`);
    });
    shardedModel.dispose();
    plainModel.dispose();
  });

  void test('a second resolve uses the cache without a request', async () => {
    const n = hub.requests.length;
    const r = await resolveModel('test-org/tiny-llama-sharded', { settings });
    assert.equal(r.dir, snapshot);
    assert.equal(r.downloaded, false);
    assert.equal(hub.requests.length, n);
    assert.equal(resolveModelCached('test-org/tiny-llama-sharded', { settings }).dir, snapshot);
  });

  void test('a snapshot missing a shard is not complete, and is fetched again', async () => {
    fs.rmSync(path.join(snapshot, shardNames[1]));
    assert.equal(snapshotComplete(snapshot), false);
    assert.throws(() => resolveModelCached('test-org/tiny-llama-sharded', { settings }), (e: unknown) => e instanceof CodetuneError && e.code === 'HUB_OFFLINE' && /codetune download test-org\/tiny-llama-sharded/.test(e.message));
    await assert.rejects(downloadModel({ repo: 'test-org/tiny-llama-sharded', revision: 'main', settings: { ...settings, offline: true } }), (e: unknown) => e instanceof CodetuneError && e.code === 'HUB_OFFLINE');
    // The blob is still in blobs/, so only the link comes back; nothing is fetched.
    const before = hub.bytesServed('test-org/tiny-llama-sharded', shardNames[1]);
    const r = await resolveModel('test-org/tiny-llama-sharded', { settings });
    assert.equal(r.dir, snapshot);
    assert.equal(hub.bytesServed('test-org/tiny-llama-sharded', shardNames[1]), before);
    assert.equal(snapshotComplete(snapshot), true);
  });
});
