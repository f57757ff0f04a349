// Model references, cache locations, and the memory estimate.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CodetuneError } from '../../server/errors';
import { hubCacheDir, hubSettings, repoFolderName, repoFromFolderName } from '../../server/hub/cache';
import { checkMemory, kvCacheBytes, requireMemory } from '../../server/hub/memory';
import { parseModelRef, type ModelRef } from '../../server/hub/ref';
import { readModelConfig } from '../../server/model/config';
import { TINY_LLAMA, tempDir } from './fixtures';

void describe('model references', () => {
  const temp = tempDir('hub-ref');
  fs.mkdirSync(path.join(temp.dir, 'org', 'local'), { recursive: true });
  const check = (input: string, expected: ModelRef | RegExp): void => {
    if (expected instanceof RegExp) {
      assert.throws(() => parseModelRef(input, temp.dir), (e: unknown) => e instanceof CodetuneError && e.code === 'USAGE' && expected.test(e.message));
    } else {
      assert.deepEqual(parseModelRef(input, temp.dir), expected);
    }
  };
  const cases: Array<[string, ModelRef | RegExp]> = [
    ['Qwen/Qwen2.5-Coder-0.5B', { kind: 'hub', repo: 'Qwen/Qwen2.5-Coder-0.5B', revision: 'main' }],
    ['HuggingFaceTB/SmolLM2-135M@v1.0', { kind: 'hub', repo: 'HuggingFaceTB/SmolLM2-135M', revision: 'v1.0' }],
    ['deepseek-ai/deepseek-coder-1.3b-base@refs/pr/7', { kind: 'hub', repo: 'deepseek-ai/deepseek-coder-1.3b-base', revision: 'refs/pr/7' }],
    [`gpt2@${'ab'.repeat(20)}`, { kind: 'hub', repo: 'gpt2', revision: 'ab'.repeat(20) }],
    ['org/local', { kind: 'local', path: path.join(temp.dir, 'org', 'local') }],
    ['./not-there', { kind: 'local', path: path.join(temp.dir, 'not-there') }],
    ['/abs/model', { kind: 'local', path: '/abs/model' }],
    ['~/models/x', { kind: 'local', path: path.join(os.homedir(), 'models/x') }],
    ['', /empty model reference/],
    ['a/b/c', /neither a folder nor a hub id/],
    ['org/bad--name', /neither a folder nor a hub id/],
    ['org/name@', /not a valid revision/],
    ['org/name@../../etc', /not a valid revision/],
  ];
  for (const [input, expected] of cases) {
    void test(JSON.stringify(input), () => check(input, expected));
  }
  after(() => temp.cleanup());
});

void describe('cache location and settings', () => {
  const home = os.homedir();
  const cases: Array<[Record<string, string>, string]> = [
    [{ HF_HUB_CACHE: '/c/hub', HF_HOME: '/h' }, '/c/hub'],
    [{ HF_HOME: '/h' }, '/h/hub'],
    [{ XDG_CACHE_HOME: '/x' }, '/x/huggingface/hub'],
    [{}, path.join(home, '.cache', 'huggingface', 'hub')],
  ];
  for (const [env, expected] of cases) {
    void test(`${JSON.stringify(env)} -> ${expected}`, () => assert.equal(hubCacheDir(env), expected));
  }
  void test('endpoint, token and offline come from the environment', () => {
    assert.deepEqual(hubSettings({}, { HF_ENDPOINT: 'http://127.0.0.1:9/', HF_TOKEN: 'hf_x', HF_HUB_OFFLINE: '1', HF_HUB_CACHE: '/c' }), {
      endpoint: 'http://127.0.0.1:9',
      token: 'hf_x',
      cacheDir: '/c',
      offline: true,
    });
    const d = hubSettings({}, { HF_HUB_OFFLINE: '0' });
    assert.equal(d.endpoint, 'https://huggingface.co');
    assert.equal(d.offline, false);
    assert.equal(d.token, undefined);
  });
  void test('repo folder names round-trip', () => {
    assert.equal(repoFolderName('Qwen/Qwen2.5-Coder-0.5B'), 'models--Qwen--Qwen2.5-Coder-0.5B');
    assert.equal(repoFromFolderName('models--Qwen--Qwen2.5-Coder-0.5B'), 'Qwen/Qwen2.5-Coder-0.5B');
    assert.equal(repoFromFolderName('datasets--x--y'), undefined);
  });
});

void describe('memory check', () => {
  const config = readModelConfig(TINY_LLAMA);
  // Independent parameter count: every tensor in the fixture's safetensors header.
  const buf = fs.readFileSync(path.join(TINY_LLAMA, 'model.safetensors'));
  const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8')) as Record<string, { shape?: number[] }>;
  const params = Object.entries(header).filter(([k]) => k !== '__metadata__').reduce((s, [, v]) => s + (v.shape ?? []).reduce((a, b) => a * b, 1), 0);

  void test('float32 weights are 4 bytes per parameter of the checkpoint', () => {
    const m = checkMemory(config, 256, { availableBytes: 1e12 });
    assert.equal(m.parameters, params);
    assert.equal(m.weightsBytes, params * 4);
  });
  void test('KV cache: K and V, every layer, kv heads x head dim x context x 4 bytes', () => {
    // tiny-llama: 2 layers, 2 KV heads, head dim 64/4 = 16.
    assert.equal(kvCacheBytes(config, 256), 2 * 2 * 2 * 16 * 256 * 4);
    assert.equal(kvCacheBytes(config, 256, 3), 3 * kvCacheBytes(config, 256));
  });
  const total = params * 4 + 2 * 2 * 2 * 16 * 1024 * 4 + 1000;
  const cases: Array<[number, 'ok' | 'warn' | 'refuse', RegExp]> = [
    [total * 10, 'ok', /needs about/],
    [total / 0.9, 'warn', /may start swapping/],
    [total - 1, 'refuse', /does not fit in memory.*float32 weights.*KV cache for 1024 tokens.*largest shard.*is available/],
  ];
  for (const [available, verdict, message] of cases) {
    void test(`${verdict} when ${available.toFixed(0)} bytes are available`, () => {
      const m = checkMemory(config, 1024, { availableBytes: available, largestShardBytes: 1000 });
      assert.equal(m.totalBytes, total);
      assert.equal(m.verdict, verdict);
      assert.match(m.message, message);
    });
  }
  void test('requireMemory throws OUT_OF_MEMORY with the numbers on refuse, returns the estimate otherwise', () => {
    assert.throws(() => requireMemory(config, 1024, { availableBytes: 1000 }), (e: unknown) => e instanceof CodetuneError && e.code === 'OUT_OF_MEMORY' && /0\.000 GiB is available/.test(e.message));
    assert.equal(requireMemory(config, 1024, { availableBytes: total / 0.9, largestShardBytes: 1000 }).verdict, 'warn');
  });
  void test('without an override it measures available memory', () => {
    const m = checkMemory(config, 16);
    assert.ok(m.availableBytes > 0 && m.availableBytes <= os.totalmem());
  });
});
