// The built CLI: `codetune train` killed with SIGKILL at a random step resumes with
// --resume and matches the uninterrupted loss curve; bad input fails with a clear error
// and leaves the previous adapter intact; `codetune eval` scores base vs adapter.
// Needs `node scripts/build.mjs` first (npm test builds).
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../../server/model/backend';
import { loadModel } from '../../server/model/checkpoint';
import { loadAdapter } from '../../server/adapters/peft';
import { qwenTokenizerDir } from '../../server/model/tokenizer';
import type { TrainProgress } from '../../server/protocol';
import { CLI, runCli, tempDir } from '../helpers';
import { makeRepo } from '../data/helpers';
import { smallRepo, tinyBase } from './fixtures';

const COMMON = ['--seq-len', '64', '--batch-size', '2', '--lr', '5e-3', '--warmup', '2', '--max-steps', '14', '--eval-every', '4', '--checkpoint-every', '3', '--seed', '5', '--val-fraction', '0.4', '--no-cache', '--backend', 'wasm'];

function progressOf(stdout: string): TrainProgress[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; progress?: TrainProgress })
    .filter((m) => m.type === 'progress')
    .map((m) => m.progress!);
}

function summaryOf(stdout: string): Record<string, unknown> {
  const last = stdout.trim().split('\n').at(-1)!;
  return JSON.parse(last) as Record<string, unknown>;
}

/** Hash of every file in a folder, to prove it was left untouched. */
function folderHash(dir: string): string {
  const h = crypto.createHash('sha256');
  for (const f of fs.readdirSync(dir).sort()) {
    h.update(f).update(fs.readFileSync(path.join(dir, f)));
  }
  return h.digest('hex');
}

/** Run `train` and SIGKILL it once it reports step `killAt`. */
function trainAndKill(args: string[], killAt: number): Promise<TrainProgress[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'train', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    const seen: TrainProgress[] = [];
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = JSON.parse(line) as { type: string; progress?: TrainProgress };
        if (m.type === 'progress') {
          seen.push(m.progress!);
          if (m.progress!.step === killAt) {
            child.kill('SIGKILL');
          }
        }
      }
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(seen) : reject(new Error(`train exited ${code} before step ${killAt}`))));
  });
}

describe('codetune train / eval (built CLI)', () => {
  let repo: string;
  let out: string;
  let full: TrainProgress[];
  let summary: Record<string, unknown>;
  before(() => {
    repo = smallRepo();
    out = path.join(tempDir(), 'adapter');
    const r = runCli(['train', '--repo', repo, '--model', tinyBase(), '--out', out, ...COMMON, '--json']);
    assert.equal(r.status, 0, r.stderr);
    full = progressOf(r.stdout);
    summary = summaryOf(r.stdout);
  });

  it('--json prints one progress event per step and ends with a JSON summary line', () => {
    assert.deepEqual(full.map((p) => p.step), Array.from({ length: 14 }, (_, i) => i + 1));
    assert.equal(summary.type, 'summary');
    assert.equal(summary.adapterDir, out);
    const metrics = summary.metrics as { base: { valLoss: number }; adapter: { valLoss: number } };
    assert.ok(metrics.adapter.valLoss < metrics.base.valLoss);
  });

  it('resumes after SIGKILL at a random step and matches the uninterrupted loss curve within 1e-4', async () => {
    const killAt = 4 + Math.floor(Math.random() * 8); // 4..11
    const out2 = path.join(tempDir(), 'adapter');
    const args = ['--repo', repo, '--model', tinyBase(), '--out', out2, ...COMMON, '--json'];
    const before = await trainAndKill(args, killAt);
    assert.ok(before.length >= killAt);
    // Whatever is at out2 now is a complete adapter (the best so far) or nothing.
    await initBackend('wasm');
    const model = loadModel(tinyBase());
    if (fs.existsSync(out2)) {
      loadAdapter(out2, model).dispose();
    }
    const r = runCli(['train', ...args, '--resume']);
    assert.equal(r.status, 0, r.stderr);
    const after = progressOf(r.stdout);
    assert.equal(after.at(-1)!.step, 14);
    assert.ok(after[0].step <= killAt + 1 && after[0].step > 1, `resumed at step ${after[0].step} after a kill at step ${killAt}`);
    for (const p of [...before, ...after]) {
      const ref = full[p.step - 1];
      assert.ok(Math.abs(p.loss - ref.loss) < 1e-4, `killed at ${killAt}: step ${p.step} loss ${p.loss} vs uninterrupted ${ref.loss}`);
    }
    loadAdapter(out2, model).dispose();
    model.dispose();
    assert.ok(!fs.existsSync(`${out2}.checkpoint`), 'a finished run removes its checkpoint');
  });

  it('eval scores base and adapter on the same held-out split the trainer used', () => {
    const r = runCli(['eval', '--repo', repo, '--model', tinyBase(), '--adapter', out, '--no-cache', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { backend: string; base: { valLoss: number; pairs: number }; adapter: { valLoss: number; exactMatch: number; editSimilarity: number } };
    const meta = JSON.parse(fs.readFileSync(path.join(out, 'codetune.json'), 'utf8')) as { metrics: { adapter: { valLoss: number }; base: { valLoss: number } } };
    assert.ok(Math.abs(res.adapter.valLoss - meta.metrics.adapter.valLoss) < 1e-5, `${res.adapter.valLoss} vs ${meta.metrics.adapter.valLoss}`);
    assert.ok(Math.abs(res.base.valLoss - meta.metrics.base.valLoss) < 1e-5);
    assert.ok(res.base.pairs > 0 && res.adapter.editSimilarity >= 0 && res.adapter.editSimilarity <= 1);
    const human = runCli(['eval', '--repo', repo, '--model', tinyBase(), '--adapter', out, '--no-cache']);
    assert.match(human.stdout, /held-out loss\s+\d+\.\d+\s+\d+\.\d+/);
    assert.match(human.stdout, /edit similarity/);
  });

  describe('bad input: a clear error, and the previous adapter stays intact', () => {
    const check = (name: string, setup: (prev: string) => { args: string[]; cleanup?: () => void } | null, message: RegExp): void => {
      it(name, (t) => {
        const prev = path.join(tempDir(), 'prev');
        fs.cpSync(out, prev, { recursive: true });
        const hash = folderHash(prev);
        const s = setup(prev);
        if (!s) {
          t.skip('cannot make a read-only folder here');
          return;
        }
        try {
          const r = runCli(['train', '--out', prev, ...s.args, '--seq-len', '64', '--max-steps', '2', '--no-cache', '--backend', 'wasm']);
          assert.equal(r.status, 1, r.stdout + r.stderr);
          assert.match(r.stderr, message);
          assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
        } finally {
          s.cleanup?.();
        }
        assert.equal(folderHash(prev), hash);
        assert.deepEqual(fs.readdirSync(path.dirname(prev)), ['prev']);
      });
    };
    check('an empty dataset', () => ({ args: ['--repo', makeRepo({ 'logo.png': new Uint8Array([137, 80, 78, 71, 0, 0, 0, 13, 0, 255]), 'package-lock.json': '{}' }), '--model', tinyBase()] }), /no training examples/);
    check('a tokenizer that does not match the model', () => {
      const model = path.join(tempDir(), 'mismatch');
      fs.cpSync(tinyBase(), model, { recursive: true });
      fs.copyFileSync(path.join(qwenTokenizerDir(), 'tokenizer.json'), path.join(model, 'tokenizer.json'));
      return { args: ['--repo', repo, '--model', model] };
    }, /tokenizer\.json has \d+ ids but the model's vocab_size is 8192/);
    check('a read-only output folder', (prev) => {
      const lock = readOnly(path.dirname(prev));
      return lock && { args: ['--repo', repo, '--model', tinyBase()], cleanup: lock };
    }, /cannot write the adapter .*permission denied/);
  });
});

/** Make `dir` read-only; returns the undo, or null when that is impossible here. Root ignores mode bits, so root uses the immutable flag. */
function readOnly(dir: string): (() => void) | null {
  if (process.getuid?.() !== 0) {
    fs.chmodSync(dir, 0o555);
    return () => fs.chmodSync(dir, 0o755);
  }
  const r = spawnSync('chattr', ['+i', dir]);
  return r.status === 0 ? () => void spawnSync('chattr', ['-i', dir]) : null;
}
