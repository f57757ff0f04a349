// `codetune download` and `codetune models` as a user runs them, against the mock hub.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MockHub } from './mock-hub';
import { tempDir, tinyLlamaFiles } from './fixtures';

const ROOT = path.resolve(__dirname, '../..');
// Resolved here, so the CLI can run with a temp folder as its working directory.
const TSX = pathToFileURL(require.resolve('tsx')).href;
const temp = tempDir('hub-cli');
const cache = path.join(temp.dir, 'cache');
let hub: MockHub;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the CLI from source with the mock hub and a temp cache; no HF_* from the outer environment. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HF_') && !k.startsWith('HUGGINGFACE_')));
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', TSX, path.join(ROOT, 'server/cli.ts'), ...args], { cwd: temp.dir, env: { ...clean, HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

before(async () => {
  hub = await MockHub.start();
  const tiny = tinyLlamaFiles();
  hub.addRepo({ id: 'test-org/tiny-llama', files: tiny });
  hub.addRepo({ id: 'test-org/slow', files: tiny });
  hub.addRepo({ id: 'test-org/gpt2-arch', files: { 'config.json': Buffer.from(JSON.stringify({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'] })), 'model.safetensors': tiny['model.safetensors'] } });
  fs.mkdirSync(path.join(temp.dir, 'local-model'));
});

after(async () => {
  await hub.close();
  temp.cleanup();
});

void describe('codetune download / models', () => {
  let snapshot = '';

  void test('download prints progress on stderr and the snapshot folder on stdout', async () => {
    const r = await cli(['download', 'test-org/tiny-llama']);
    assert.equal(r.code, 0, r.stderr);
    snapshot = r.stdout.trim();
    assert.match(snapshot, /models--test-org--tiny-llama\/snapshots\/[0-9a-f]{40}$/);
    assert.ok(fs.existsSync(path.join(snapshot, 'model.safetensors')));
    assert.match(r.stderr, /^model\.safetensors done {2}\S+ \S+\/\S+ \S+ {2}total .* ETA \S+$/m);
  });

  void test('--json prints progress events and a final result', async () => {
    const r = await cli(['download', 'test-org/tiny-llama@main', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const done = events[events.length - 1];
    assert.equal(done.event, 'done');
    assert.equal(done.snapshot, snapshot);
    assert.equal(done.from_cache, true);
    assert.ok(events.slice(0, -1).every((e) => e.event === 'progress' && e.state === 'cached'));
  });

  void test('HF_HUB_OFFLINE=1 resolves from the cache without a request', async () => {
    const n = hub.requests.length;
    const r = await cli(['download', 'test-org/tiny-llama'], { HF_HUB_OFFLINE: '1' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), snapshot);
    assert.equal(hub.requests.length, n);
  });

  void test('models lists the cache with size, architecture and support', async () => {
    // A model of another architecture put into the cache by hand (as Python would).
    const other = path.join(cache, 'models--test-org--gpt2-arch');
    const commit = 'a'.repeat(40);
    fs.mkdirSync(path.join(other, 'snapshots', commit), { recursive: true });
    fs.mkdirSync(path.join(other, 'refs'), { recursive: true });
    fs.writeFileSync(path.join(other, 'refs', 'main'), commit);
    fs.writeFileSync(path.join(other, 'snapshots', commit, 'config.json'), JSON.stringify({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'] }));
    fs.writeFileSync(path.join(other, 'snapshots', commit, 'pytorch_model.bin'), Buffer.alloc(100));
    const r = await cli(['models', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { cache: string; models: Array<Record<string, unknown>> };
    assert.equal(out.cache, cache);
    const tiny = tinyLlamaFiles();
    const size = Object.values(tiny).reduce((s, b) => s + b.length, 0);
    assert.deepEqual(
      out.models.map((m) => [m.id, m.refs, m.sizeBytes, m.architecture, m.supported]),
      [
        ['test-org/gpt2-arch', ['main'], 100 + fs.statSync(path.join(other, 'snapshots', commit, 'config.json')).size, 'GPT2LMHeadModel', false],
        ['test-org/tiny-llama', ['main'], size, 'LlamaForCausalLM', true],
      ],
    );
    assert.match(String(out.models[0].reason), /"gpt2" is not supported; supported: llama, qwen2, mistral/);
    const table = await cli(['models']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^test-org\/tiny-llama@main\s+[0-9a-f]{10}\s+\S+ KB\s+LlamaForCausalLM\s+yes$/m);
    assert.match(table.stdout, /^test-org\/gpt2-arch@main\s.*GPT2LMHeadModel\s+no: /m);
  });

  void test('Ctrl-C cancels with one line; the next run completes', async () => {
    hub.latencyMs = 5000;
    try {
      const child = spawn(process.execPath, ['--import', TSX, path.join(ROOT, 'server/cli.ts'), 'download', 'test-org/slow'], {
        cwd: temp.dir,
        env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HF_'))), HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache },
      });
      let stderr = '';
      let sent = false;
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (!sent && /^config\.json {2}/m.test(stderr)) {
          sent = true; // once: a second Ctrl-C kills the process, as it should
          child.kill('SIGINT');
        }
      });
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      assert.equal(code, 1, stderr);
      assert.match(stderr.trim().split('\n').pop() ?? '', /^codetune: download cancelled; run it again to resume$/);
    } finally {
      hub.latencyMs = 0;
    }
    const r = await cli(['download', 'test-org/slow']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.existsSync(path.join(r.stdout.trim(), 'model.safetensors')));
  });

  const failures: Array<[string, string[], number, RegExp]> = [
    ['an unknown model', ['download', 'test-org/nope'], 1, /^codetune: model test-org\/nope was not found on http:\/\/127\.0\.0\.1:\d+/],
    ['an unsupported architecture', ['download', 'test-org/gpt2-arch'], 1, /^codetune: test-org\/gpt2-arch\/config\.json: model_type "gpt2" is not supported; supported: llama, qwen2, mistral$/],
    ['no id', ['download'], 2, /missing model id/],
    ['a local folder', ['download', './local-model'], 2, /is a local folder, not a hub id/],
    ['a bad flag', ['models', '--nope'], 2, /Unknown option '--nope'/],
  ];
  for (const [name, args, code, message] of failures) {
    void test(`${name} exits ${code} with one line, no stack`, async () => {
      const r = await cli(args);
      assert.equal(r.code, code, r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
      const lines = r.stderr.trim().split('\n');
      const last = lines[lines.length - 1];
      assert.match(code === 1 ? last : r.stderr, message);
      if (code === 1) {
        // Progress lines may come first; the error is the one last line.
        assert.equal(lines.filter((l) => l.startsWith('codetune:')).length, 1, r.stderr);
      }
    });
  }
});
