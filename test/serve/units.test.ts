// Units of the serving code: prompts (FIM layout, header, budget), positions, settings,
// the merged-weights LRU; and the one-shot `codetune complete` CLI contract.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { CodetuneError } from '../../server/errors';
import { initBackend } from '../../server/model/backend';
import { CodeTokenizer } from '../../server/model/tokenizer';
import { offsetOf } from '../../server/serve/completion';
import { DEFAULT_COMPLETIONS, resolveSettings } from '../../server/serve/config';
import { buildPrompt } from '../../server/serve/prompt';
import { combinationKey, MergedWeightsCache } from '../../server/serve/weights';
import { runCli, tempDir } from '../helpers';
import { tinyModel } from './lsp';

describe('prompts', () => {
  let tok: CodeTokenizer;
  before(() => {
    tok = CodeTokenizer.fromDir(tinyModel());
  });
  const opts = { ...DEFAULT_COMPLETIONS, maxPromptTokens: 64 };

  it('code after the cursor: PSM fill-in-the-middle with the path header in the prefix', () => {
    const p = buildPrompt(tok, 'def f(x):\n    return ', '\n\nprint(f(1))\n', 'pkg/a.py', opts);
    assert.equal(p.kind, 'fim');
    const f = tok.fim!;
    assert.equal(p.ids[0], f.prefix);
    assert.equal(p.ids[p.ids.length - 1], f.middle);
    const s = p.ids.indexOf(f.suffix);
    assert.equal(tok.decode(p.ids.slice(1, s)), '# path: pkg/a.py\ndef f(x):\n    return ');
    assert.equal(tok.decode(p.ids.slice(s + 1, -1)), '\n\nprint(f(1))\n');
  });

  it('SPM puts the suffix first', () => {
    const p = buildPrompt(tok, 'a = ', '\nb = 2\n', 'x.py', { ...opts, fimMode: 'spm' });
    const f = tok.fim!;
    assert.deepEqual(p.ids.slice(0, 2), [f.prefix, f.suffix]);
    assert.equal(tok.decode(p.ids.slice(p.ids.indexOf(f.middle) + 1)), '# path: x.py\na = ');
  });

  it('nothing (or only whitespace) after the cursor: a plain prefix prompt, as the adapters are trained', () => {
    const p = buildPrompt(tok, '/** Adds. */\nfunction add(a, b) {\n', '\n  \n', 'src/m.js', opts);
    assert.equal(p.kind, 'prefix');
    assert.equal(tok.decode(p.ids), '// path: src/m.js\n/** Adds. */\nfunction add(a, b) {\n');
  });

  it('the budget holds, drops whole lines from the prefix start and gives the suffix its share', () => {
    const lines = Array.from({ length: 200 }, (_, i) => `value_${i} = compute(${i})\n`).join('');
    const p = buildPrompt(tok, lines, lines, 'big.py', opts);
    assert.ok(p.ids.length <= 64, `${p.ids.length} tokens`);
    assert.ok(p.suffixTokens <= Math.floor((64 - 3 - tok.encode('# path: big.py\n').length) * 0.25));
    const f = tok.fim!;
    const prefixText = tok.decode(p.ids.slice(1, p.ids.indexOf(f.suffix)));
    assert.match(prefixText, /^# path: big\.py\nvalue_\d+ = /, 'starts at a line start');
    assert.ok(prefixText.endsWith('value_199 = compute(199)\n'), 'ends at the cursor');
    // Typing at the end keeps the prompt start (whole-line trimming), so the KV cache is reused.
    const q = buildPrompt(tok, lines + 'x', '', 'big.py', opts);
    const r = buildPrompt(tok, lines + 'xy', '', 'big.py', opts);
    let shared = 0;
    while (q.ids[shared] === r.ids[shared]) {
      shared++;
    }
    assert.ok(shared >= q.ids.length - 2, `shared ${shared} of ${q.ids.length}`);
  });
});

describe('positions and settings', () => {
  const check = (text: string, pos: { line: number; character: number }, expected: number | RegExp): void => {
    it(`${JSON.stringify(text)} @ ${pos.line}:${pos.character}`, () => {
      if (typeof expected === 'number') {
        assert.equal(offsetOf(text, pos), expected);
      } else {
        assert.throws(() => offsetOf(text, pos), (e: unknown) => e instanceof CodetuneError && e.code === 'USAGE' && expected.test(e.message));
      }
    });
  };
  check('ab\ncd', { line: 1, character: 2 }, 5);
  check('ab\r\ncd', { line: 1, character: 0 }, 4);
  check('ab\r\ncd', { line: 0, character: 3 }, /line 0 has 2 characters/);
  check('ab\n', { line: 1, character: 0 }, 3);
  check('ab\n', { line: 2, character: 0 }, /the document has 2 lines/);
  check('ab', { line: 0, character: 1.5 }, /invalid position/);

  it('initializationOptions override flags; flags fill in; bad values are refused', () => {
    const s = resolveSettings({ baseModel: '/m1', completions: { maxTokens: 10 } }, { baseModel: '/m2', storagePath: '/s', backend: 'cpu', completions: { debounceMs: 30 } });
    assert.equal(s.baseModel, '/m1');
    assert.equal(s.storagePath, '/s');
    assert.equal(s.backend, 'cpu');
    assert.equal(s.completions.maxTokens, 10);
    assert.equal(s.completions.debounceMs, 30);
    assert.equal(resolveSettings('nonsense', {}).baseModel, null);
    for (const bad of [{ backend: 'gpu' }, { completions: { maxTokens: -1 } }, { completions: { fimMode: 'x' } }, { baseModel: 3 }]) {
      assert.throws(() => resolveSettings(bad, {}), (e: unknown) => e instanceof CodetuneError && e.code === 'USAGE');
    }
  });
});

describe('merged weights cache', () => {
  it('keys ignore order and zero weights; LRU evicts and disposes the oldest', async () => {
    await initBackend('cpu');
    assert.equal(combinationKey([{ id: 'b', weight: 1 }, { id: 'a', weight: 0.5 }, { id: 'c', weight: 0 }]), combinationKey([{ id: 'a', weight: 0.5 }, { id: 'b', weight: 1 }]));
    assert.equal(combinationKey([]), '');
    const n0 = tf.memory().numTensors;
    const cache = new MergedWeightsCache(2);
    const build = () => new Map([['w', tf.ones([2, 2])]]);
    const a = cache.get('a*1', build);
    const aw = a.get('w')!;
    cache.get('b*1', build);
    assert.equal(cache.get('a*1', build), a, 'a hit returns the same tensors');
    cache.get('c*1', build); // evicts b (a was used more recently)
    assert.equal(cache.size, 2);
    assert.equal(aw.isDisposed, false);
    assert.deepEqual([cache.hits, cache.misses], [1, 3]);
    cache.evictAdapter('a');
    assert.equal(aw.isDisposed, true);
    cache.clear();
    assert.equal(tf.memory().numTensors, n0);
  });
});

describe('codetune complete', () => {
  it('prints {"items": [{"insertText", "range"}], "backend"} with --json, the text without', () => {
    const dir = tempDir('codetune-complete-');
    const file = path.join(dir, 'a.ts');
    fs.writeFileSync(file, 'function add(a: number, b: number) {\n');
    const r = runCli(['complete', '--model', tinyModel(), '--file', file, '--line', '1', '--character', '0', '--json', '--max-tokens', '8']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { items: Array<{ insertText: string; range: unknown }>; backend: string };
    assert.equal(out.backend, 'wasm');
    assert.equal(out.items.length, 1);
    assert.notEqual(out.items[0].insertText.trim(), '');
    assert.deepEqual(out.items[0].range, { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } });
    const plain = runCli(['complete', '--model', tinyModel(), '--file', file, '--line', '1', '--character', '0', '--max-tokens', '8']);
    assert.equal(plain.stdout, out.items[0].insertText + '\n');
  });
  it('bad positions and missing flags are one-line errors with exit 2, missing files exit 1', () => {
    const dir = tempDir('codetune-complete-');
    const file = path.join(dir, 'a.ts');
    fs.writeFileSync(file, 'x\n');
    for (const [args, status, msg] of [
      [['--file', file, '--line', '9', '--character', '0'], 2, /out of range/],
      [['--file', file, '--line', '0'], 2, /missing --character/],
      [['--file', path.join(dir, 'nope.ts'), '--line', '0', '--character', '0'], 1, /no such file/],
    ] as const) {
      const r = runCli(['complete', '--model', tinyModel(), ...args]);
      assert.equal(r.status, status, r.stderr);
      assert.match(r.stderr, msg);
      assert.equal(r.stdout, '');
      assert.doesNotMatch(r.stderr, /^\s+at /m);
    }
  });
});
