// The CLI contracts scripts depend on: JSON shapes of logits/generate/init-base, exit
// codes (2 usage, 1 runtime with one line on stderr), never a stack trace.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { fixtureDir, reference, relErr, runCli, tempDir } from '../helpers';

const LLAMA = fixtureDir('tiny-llama');
const QWEN = fixtureDir('tiny-qwen2');

function json(args: string[]): Record<string, unknown> {
  const r = runCli(args);
  assert.equal(r.status, 0, `exit ${r.status}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'exactly one JSON object on stdout');
  return JSON.parse(lines[0]) as Record<string, unknown>;
}

function checkFailure(args: string[], status: number, stderr: RegExp): void {
  const r = runCli(args);
  assert.equal(r.status, status, `expected exit ${status}, got ${r.status}: ${r.stderr}`);
  assert.match(r.stderr, stderr);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  assert.equal(r.stdout, '', 'nothing on stdout');
  if (status === 1) {
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line on stderr');
  }
}

describe('codetune logits', () => {
  for (const backend of ['wasm', 'cpu']) {
    it(`base, merged and --no-merge logits match the reference (${backend})`, () => {
      const ref = reference('tiny-qwen2');
      const ids = ref.sequences[1].join(',');
      const base = json(['logits', '--model', QWEN, '--ids', ids, '--backend', backend]);
      assert.equal(base.backend, backend);
      assert.ok(relErr(base.last_logits as number[], ref.base.last_logits[1]) < 1e-4);
      assert.equal(base.all_logits, undefined);
      for (const extra of [[], ['--no-merge']]) {
        const merged = json(['logits', '--model', QWEN, '--adapter', `${QWEN}/adapter`, ...extra, '--ids', ids, '--all', '--backend', backend]);
        const all = merged.all_logits as number[][];
        assert.equal(all.length, 7);
        all.forEach((row, t) => assert.ok(relErr(row, ref.merged.all_logits_seq1[t]) < 1e-4, `${extra} position ${t}`));
        assert.deepEqual(merged.last_logits, all[6]);
      }
    });
  }
  it('auto reports the chosen backend and why the native ones were skipped', () => {
    const out = json(['logits', '--model', LLAMA, '--ids', '1,2']);
    assert.equal(out.backend, 'wasm');
    const skipped = out.backend_skipped as Array<{ name: string; reason: string }>;
    assert.deepEqual(skipped.map((s) => s.name), ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
    assert.ok(skipped.every((s) => s.reason.length > 0));
  });
  it('an adapter weight scales the delta: weight 0 gives the base', () => {
    const ref = reference('tiny-llama');
    const out = json(['logits', '--model', LLAMA, '--adapter', `${LLAMA}/adapter:0`, '--ids', ref.sequences[2].join(',')]);
    assert.ok(relErr(out.last_logits as number[], ref.base.last_logits[2]) < 1e-4);
  });
});

describe('codetune generate', () => {
  it('greedy ids match the reference continuation exactly (base and adapter)', () => {
    const ref = reference('tiny-llama');
    const ids = ref.sequences[1].join(',');
    assert.deepEqual(json(['generate', '--model', LLAMA, '--ids', ids, '--max-new-tokens', '16', '--greedy']).ids, ref.base.greedy_from_seq1);
    const out = json(['generate', '--model', LLAMA, '--adapter', `${LLAMA}/adapter`, '--ids', ids, '--max-new-tokens', '16', '--greedy', '--backend', 'cpu']);
    assert.deepEqual(out.ids, ref.merged.greedy_from_seq1);
    assert.equal(out.backend, 'cpu');
    assert.equal(out.text, undefined, 'no text without a tokenizer');
  });
  it('--prompt on an init-base model returns ids and text; sampling is seeded', () => {
    const dir = path.join(tempDir(), 'tiny');
    const made = json(['init-base', '--out', dir, '--arch', 'qwen2', '--seed', '3']);
    assert.equal(made.model_type, 'qwen2');
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) {
      assert.ok(fs.existsSync(path.join(dir, f)), f);
    }
    const args = ['generate', '--model', dir, '--prompt', 'def add(a, b):', '--max-new-tokens', '5', '--temperature', '1', '--top-p', '0.9', '--seed', '4'];
    const a = json(args);
    assert.ok(Array.isArray(a.ids) && (a.ids as number[]).length <= 5);
    assert.equal(typeof a.text, 'string');
    assert.deepEqual(json(args), a);
  });
});

describe('codetune init-base', () => {
  it('tiny preset: a few MB, reproducible with a seed', () => {
    const d = tempDir();
    const a = json(['init-base', '--out', path.join(d, 'a'), '--seed', '5']);
    json(['init-base', '--out', path.join(d, 'b'), '--seed', '5']);
    assert.ok((a.bytes as number) < 5e6 && (a.bytes as number) > 1e6, `${a.bytes} bytes`);
    assert.deepEqual(fs.readFileSync(path.join(d, 'a', 'model.safetensors')), fs.readFileSync(path.join(d, 'b', 'model.safetensors')));
    const cfg = JSON.parse(fs.readFileSync(path.join(d, 'a', 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(cfg.architectures, ['LlamaForCausalLM']);
    checkFailure(['init-base', '--out', path.join(d, 'a')], 2, /not empty; pass --force/);
  });
});

describe('exit codes and messages', () => {
  const bad = tempDir();
  fs.writeFileSync(path.join(bad, 'config.json'), fs.readFileSync(path.join(LLAMA, 'config.json')));
  const truncated = Buffer.alloc(12);
  truncated.writeBigUInt64LE(1000n);
  fs.writeFileSync(path.join(bad, 'model.safetensors'), truncated);
  const cases: Array<[string, string[], number, RegExp]> = [
    ['no command', [], 2, /usage: codetune/],
    ['unknown command', ['frobnicate'], 2, /unknown command "frobnicate"/],
    ['missing --model', ['logits', '--ids', '1'], 2, /missing --model/],
    ['unknown flag', ['logits', '--model', LLAMA, '--ids', '1', '--bogus'], 2, /bogus/],
    ['bad ids', ['logits', '--model', LLAMA, '--ids', '1,x'], 2, /--ids must be/],
    ['bad backend', ['logits', '--model', LLAMA, '--ids', '1', '--backend', 'tpu'], 2, /--backend must be one of/],
    ['--ids and --prompt', ['generate', '--model', LLAMA, '--ids', '1', '--prompt', 'x', '--max-new-tokens', '2'], 2, /exactly one of --ids or --prompt/],
    ['id out of vocabulary', ['logits', '--model', LLAMA, '--ids', '1,99999'], 2, /out of range/],
    ['missing model folder', ['logits', '--model', '/nonexistent/model', '--ids', '1'], 1, /\/nonexistent\/model/],
    ['corrupt safetensors', ['logits', '--model', bad, '--ids', '1'], 1, /model\.safetensors: header length .* past the end/],
    ['adapter for another base', ['logits', '--model', LLAMA, '--adapter', `${QWEN}/adapter`, '--ids', '1'], 1, /adapter_model\.safetensors: tensor "base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight"/],
    ['explicit backend not installed', ['logits', '--model', LLAMA, '--ids', '1', '--backend', 'tensorflow'], 1, /backend "tensorflow" is not available here.*tfjs-node-gpu: not installed/],
  ];
  for (const [what, args, status, stderr] of cases) {
    it(what, () => checkFailure(args, status, stderr));
  }
});
