// Downloads against the mock hub: fresh download, cache layout, offline, resume,
// corruption, errors, shards, concurrency, cancel. Nothing leaves 127.0.0.1.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CodetuneError } from '../../server/errors';
import { hubSettings, type HubSettings } from '../../server/hub/cache';
import { downloadModel, type DownloadResult } from '../../server/hub/download';
import type { DownloadProgress } from '../../server/hub/progress';
import { MockHub, gitBlobId, sha256 } from './mock-hub';
import { shardedTinyLlamaFiles, tempDir, tinyLlamaFiles } from './fixtures';

let hub: MockHub;
const temp = tempDir('hub-dl');
const tiny = tinyLlamaFiles();
const sharded = shardedTinyLlamaFiles(3);
let tinyCommit = '';
let cacheN = 0;

before(async () => {
  hub = await MockHub.start();
  // Belt and braces: nothing in this process may fall back to the real hub or ~/.cache.
  process.env.HF_ENDPOINT = hub.url;
  process.env.HF_HUB_CACHE = path.join(temp.dir, 'env-cache');
  delete process.env.HF_TOKEN;
  const junk = { 'pytorch_model.bin': Buffer.alloc(4096, 7), 'README.md': Buffer.from('# tiny'), 'onnx/model.onnx': Buffer.alloc(2048, 1) };
  tinyCommit = hub.addRepo({ id: 'test-org/tiny-llama', files: { ...tiny, ...junk } }).commit;
  hub.addRepo({ id: 'test-org/tiny-llama-sharded', files: { ...sharded, 'consolidated.safetensors': tiny['model.safetensors'] } });
  for (const name of ['resume', 'corrupt', 'corrupt-config', 'cancel']) {
    hub.addRepo({ id: `test-org/${name}`, files: tiny });
  }
  hub.addRepo({ id: 'test-org/gated', files: tiny, gated: true });
  hub.addRepo({ id: 'test-org/bin-only', files: { 'config.json': tiny['config.json'], 'pytorch_model.bin': Buffer.alloc(4096, 7) } });
  const gpt2 = Buffer.from(JSON.stringify({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], n_embd: 64 }));
  hub.addRepo({ id: 'test-org/gpt2-arch', files: { 'config.json': gpt2, 'model.safetensors': tiny['model.safetensors'] } });
});

after(async () => {
  await hub.close();
  temp.cleanup();
});

/** Settings that point at the mock hub and a fresh cache, ignoring the environment. */
function settings(over: Partial<HubSettings> = {}): HubSettings {
  cacheN += 1;
  return hubSettings({ endpoint: hub.url, cacheDir: path.join(temp.dir, `cache-${cacheN}`), offline: false, ...over }, {});
}

async function fails(p: Promise<unknown>, code: string, message: RegExp): Promise<CodetuneError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof CodetuneError, `expected a CodetuneError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

function servedFor(repo: string): number {
  return hub.requests.filter((r) => r.path.includes(`/${repo}/`) && (r.path.includes('/resolve/') || r.path.startsWith('/_cdn/'))).length;
}

void describe('download', () => {
  let first: DownloadResult;
  let s: HubSettings;
  const events: DownloadProgress[] = [];

  void test('a fresh download writes the Python cache layout with only the needed files', async () => {
    s = settings();
    first = await downloadModel({ repo: 'test-org/tiny-llama', revision: 'main', settings: s, onProgress: (p) => events.push(p) });
    const repoDir = path.join(s.cacheDir, 'models--test-org--tiny-llama');
    assert.equal(first.commit, tinyCommit);
    assert.equal(first.snapshot, path.join(repoDir, 'snapshots', tinyCommit));
    assert.equal(fs.readFileSync(path.join(repoDir, 'refs', 'main'), 'utf8'), tinyCommit);
    assert.deepEqual(fs.readdirSync(first.snapshot).sort(), ['config.json', 'generation_config.json', 'model.safetensors']);
    const expectBlob: Record<string, string> = {
      'config.json': gitBlobId(tiny['config.json']),
      'generation_config.json': gitBlobId(tiny['generation_config.json']),
      'model.safetensors': sha256(tiny['model.safetensors']),
    };
    for (const [name, blob] of Object.entries(expectBlob)) {
      const link = path.join(first.snapshot, name);
      assert.ok(fs.lstatSync(link).isSymbolicLink(), `${name} is a symlink`);
      assert.equal(fs.readlinkSync(link), path.join('..', '..', 'blobs', blob));
      assert.deepEqual(fs.readFileSync(link), tiny[name]);
    }
    assert.deepEqual(fs.readdirSync(path.join(repoDir, 'blobs')).sort(), Object.values(expectBlob).sort());
    // Pickled weights, READMEs and subfolders are never requested.
    assert.equal(hub.bytesServed('test-org/tiny-llama', 'pytorch_model.bin'), 0);
    assert.ok(!hub.requests.some((r) => /pytorch_model|README|onnx/.test(r.path)));
    assert.equal(first.fetched, tiny['config.json'].length + tiny['generation_config.json'].length + tiny['model.safetensors'].length);
  });

  void test('config.json is fetched before anything else', () => {
    const files = hub.requests.filter((r) => r.path.includes('/resolve/'));
    assert.match(files[0].path, /\/resolve\/[0-9a-f]{40}\/config\.json$/);
  });

  void test('progress reports bytes per file and in total, ending at the total', () => {
    const done = events.filter((e) => e.state === 'done').map((e) => e.file).sort();
    assert.deepEqual(done, ['config.json', 'generation_config.json', 'model.safetensors']);
    const last = events[events.length - 1];
    assert.equal(last.bytes, last.total);
    assert.equal(last.total, first.fetched);
    assert.equal(last.etaSeconds, 0);
    assert.ok(last.rate > 0);
    const weights = events.filter((e) => e.file === 'model.safetensors' && e.state === 'done')[0];
    assert.equal(weights.fileBytes, tiny['model.safetensors'].length);
    assert.equal(weights.fileSize, tiny['model.safetensors'].length);
    for (const e of events) {
      assert.ok(e.bytes <= e.total && e.fileBytes <= e.fileSize, JSON.stringify(e));
      assert.ok(e.etaSeconds === null || e.etaSeconds >= 0);
    }
  });

  void test('a second download uses the cache and fetches nothing', async () => {
    const before = servedFor('test-org/tiny-llama');
    const again = await downloadModel({ repo: 'test-org/tiny-llama', revision: 'main', settings: s });
    assert.equal(again.snapshot, first.snapshot);
    assert.equal(again.fetched, 0);
    assert.equal(again.fromCache, true);
    assert.equal(servedFor('test-org/tiny-llama'), before);
  });

  void test('offline mode resolves from the cache without any request', async () => {
    const n = hub.requests.length;
    const offline = await downloadModel({ repo: 'test-org/tiny-llama', revision: 'main', settings: { ...s, offline: true } });
    assert.equal(offline.snapshot, first.snapshot);
    assert.equal(offline.commit, tinyCommit);
    assert.equal(hub.requests.length, n);
    await fails(downloadModel({ repo: 'test-org/other', revision: 'main', settings: { ...s, offline: true } }), 'HUB_OFFLINE', /not in the cache.*HF_HUB_OFFLINE/);
    assert.equal(hub.requests.length, n);
  });

  void test('a download by commit writes no ref', async () => {
    const s2 = settings();
    const r = await downloadModel({ repo: 'test-org/tiny-llama', revision: tinyCommit, settings: s2 });
    assert.equal(r.commit, tinyCommit);
    assert.equal(fs.existsSync(path.join(s2.cacheDir, 'models--test-org--tiny-llama', 'refs')), false);
  });
});

void describe('resume and corruption', () => {
  void test('a download cut mid-file resumes with a Range request and does not start over', async () => {
    const s = settings();
    const size = tiny['model.safetensors'].length;
    const cut = 100_000;
    hub.cutAfter('test-org/resume', 'model.safetensors', cut);
    await fails(downloadModel({ repo: 'test-org/resume', revision: 'main', settings: s }), 'HUB_HTTP', /dropped.*resume/);
    const blob = path.join(s.cacheDir, 'models--test-org--resume', 'blobs', sha256(tiny['model.safetensors']));
    assert.equal(fs.statSync(`${blob}.incomplete`).size, cut);
    assert.equal(hub.bytesServed('test-org/resume', 'model.safetensors'), cut);
    const r = await downloadModel({ repo: 'test-org/resume', revision: 'main', settings: s });
    assert.equal(hub.bytesServed('test-org/resume', 'model.safetensors'), size, 'every byte served exactly once');
    const ranged = hub.requests.filter((q) => q.path.startsWith('/_cdn/test-org/resume/') && q.range);
    assert.deepEqual(ranged.map((q) => [q.range, q.status]), [[`bytes=${cut}-`, 206]]);
    assert.deepEqual(fs.readFileSync(path.join(r.snapshot, 'model.safetensors')), tiny['model.safetensors']);
    assert.equal(fs.existsSync(`${blob}.incomplete`), false);
  });

  const corruptCases: Array<[string, string, RegExp]> = [
    ['test-org/corrupt', 'model.safetensors', /model\.safetensors.*corrupt.*sha256/],
    ['test-org/corrupt-config', 'config.json', /config\.json.*corrupt.*git hash/],
  ];
  for (const [repo, file, message] of corruptCases) {
    void test(`a corrupted ${file} is caught by its hash and not left in the cache`, async () => {
      const s = settings();
      hub.corrupt(repo, file);
      await fails(downloadModel({ repo, revision: 'main', settings: s }), 'HUB_HASH_MISMATCH', message);
      const repoDir = path.join(s.cacheDir, `models--${repo.replace('/', '--')}`);
      const snapshots = path.join(repoDir, 'snapshots');
      const inSnapshots = fs.existsSync(snapshots) ? fs.readdirSync(snapshots, { recursive: true }).map(String) : [];
      assert.ok(!inSnapshots.some((f) => f.endsWith(file)), `${file} is not in the snapshot: ${inSnapshots.join(', ')}`);
      const blobs = fs.existsSync(path.join(repoDir, 'blobs')) ? fs.readdirSync(path.join(repoDir, 'blobs')) : [];
      const bad = file === 'config.json' ? gitBlobId(tiny[file]) : sha256(tiny[file]);
      assert.ok(!blobs.some((b) => b.startsWith(bad)), 'no blob or partial blob of the bad file');
      assert.equal(fs.existsSync(path.join(repoDir, 'refs', 'main')), false, 'no ref to an incomplete snapshot');
    });
  }
});

void describe('errors', () => {
  const cases: Array<{ name: string; repo: string; revision?: string; token?: string; code: string; message: RegExp }> = [
    { name: 'unknown model (404)', repo: 'test-org/nope', code: 'HUB_NOT_FOUND', message: /model test-org\/nope was not found/ },
    { name: 'unknown revision', repo: 'test-org/tiny-llama', revision: 'v9', code: 'HUB_NOT_FOUND', message: /revision "v9"/ },
    { name: 'gated without a token (401)', repo: 'test-org/gated', code: 'HUB_GATED', message: /gated or private \(HTTP 401\).*set HF_TOKEN/ },
    { name: 'gated with a refused token (403)', repo: 'test-org/gated', token: 'hf_wrong', code: 'HUB_GATED', message: /HTTP 403.*HF_TOKEN was refused/ },
    { name: 'pickled weights only', repo: 'test-org/bin-only', code: 'PICKLE_WEIGHTS', message: /only pickled weights \(pytorch_model\.bin\)/ },
    { name: 'unsupported architecture', repo: 'test-org/gpt2-arch', code: 'CONFIG_UNSUPPORTED', message: /"gpt2" is not supported; supported: llama, qwen2, mistral/ },
  ];
  for (const c of cases) {
    void test(c.name, async () => {
      await fails(downloadModel({ repo: c.repo, revision: c.revision ?? 'main', settings: settings({ token: c.token }) }), c.code, c.message);
    });
  }

  void test('no weights are requested for a refused repo', () => {
    assert.equal(hub.bytesServed('test-org/bin-only', 'pytorch_model.bin'), 0);
    assert.equal(hub.bytesServed('test-org/gpt2-arch', 'model.safetensors'), 0);
    assert.ok(hub.bytesServed('test-org/gpt2-arch', 'config.json') > 0, 'the config was read');
  });

  void test('a 401 that the hub marks RepoNotFound says not found, not gated', async () => {
    hub.missingAs401 = true;
    try {
      await fails(downloadModel({ repo: 'test-org/nope', revision: 'main', settings: settings() }), 'HUB_NOT_FOUND', /was not found.*set HF_TOKEN/);
    } finally {
      hub.missingAs401 = false;
    }
  });

  void test('the right token opens a gated model', async () => {
    const r = await downloadModel({ repo: 'test-org/gated', revision: 'main', settings: settings({ token: hub.token }) });
    assert.ok(fs.existsSync(path.join(r.snapshot, 'model.safetensors')));
    const sent = hub.requests.filter((q) => q.path.startsWith('/test-org/gated/resolve/') && q.status === 200);
    assert.ok(sent.length > 0 && sent.every((q) => q.auth === `Bearer ${hub.token}`));
  });

  void test('an unreachable endpoint says so', async () => {
    const closed = await MockHub.start();
    const url = closed.url;
    await closed.close();
    await fails(downloadModel({ repo: 'test-org/tiny-llama', revision: 'main', settings: settings({ endpoint: url }) }), 'HUB_HTTP', /cannot reach .*HF_HUB_OFFLINE=1/);
  });
});

void describe('shards, concurrency, cancel', () => {
  void test('a sharded model fetches the index and exactly the shards it names', async () => {
    hub.latencyMs = 50;
    hub.maxInFlight = 0;
    try {
      const r = await downloadModel({ repo: 'test-org/tiny-llama-sharded', revision: 'main', settings: settings(), concurrency: 2 });
      const want = Object.keys(sharded).sort();
      assert.deepEqual(fs.readdirSync(r.snapshot).sort(), want);
      for (const f of want) {
        assert.deepEqual(fs.readFileSync(path.join(r.snapshot, f)), sharded[f]);
      }
      assert.equal(hub.bytesServed('test-org/tiny-llama-sharded', 'consolidated.safetensors'), 0);
      assert.equal(hub.maxInFlight, 2, 'two transfers at once, never more');
    } finally {
      hub.latencyMs = 0;
    }
  });

  void test('cancelling stops the download with CANCELLED; a rerun completes it', async () => {
    const s = settings();
    const ac = new AbortController();
    const p = downloadModel({
      repo: 'test-org/cancel', revision: 'main', settings: s, signal: ac.signal,
      onProgress: (e) => {
        if (e.file === 'model.safetensors' && e.state === 'start') {
          ac.abort();
        }
      },
    });
    await fails(p, 'CANCELLED', /cancelled/);
    assert.equal(fs.existsSync(path.join(s.cacheDir, 'models--test-org--cancel', 'refs', 'main')), false);
    const r = await downloadModel({ repo: 'test-org/cancel', revision: 'main', settings: s });
    assert.deepEqual(fs.readFileSync(path.join(r.snapshot, 'model.safetensors')), tiny['model.safetensors']);
  });
});
