// The binary container of the cache's shard files and the workers' replies: records
// and token arrays come back exactly as written (one-byte and wide text, lone
// surrogates, completions in and out of the text), and damage is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeResults, encodeResults, FORMAT, RECORDS, ShardReader, ShardWriter, TOKENS } from '../../server/data/shard';
import { type FileRecord, makeRecord } from '../../server/data/types';
import type { FileJobResult } from '../../server/data/process';

function record(text: string): FileRecord {
  const body = '  return a + b;\n}\n';
  const at = text.indexOf(body);
  return makeRecord({
    bytes: Buffer.byteLength(text),
    language: 'typescript',
    secrets: { aws_key: 1 },
    text,
    normHash: 'abc123',
    sig: Uint32Array.from([1, 2, 3, 0xffffffff]),
    shingles: Uint32Array.from([7, 8]),
    pairs: [
      { name: 'add', prompt: '// path: a.ts\n/** Adds. */\nfunction add(a, b) {', completion: body, at },
      { name: 'dedented', prompt: 'p', completion: 'return 1;\n', at: undefined },
      { name: 'wrong hint', prompt: 'q', completion: 'not in the text\n', at: 0 },
    ],
    comments: [],
    parser: 'tree-sitter',
  });
}

const plain = (r: FileRecord): unknown => ({ ...r, sig: r.sig && [...r.sig], shingles: r.shingles && [...r.shingles], pairs: r.pairs?.map(({ name, prompt, completion }) => ({ name, prompt, completion })) });

test('records round-trip through a shard: latin-1 and UTF-16 strings, pairs in and out of the text', () => {
  const texts = ['function add(a, b) {\n  return a + b;\n}\n', 'const café = "ü";\nfunction add(a, b) {\n  return a + b;\n}\n', '// 漢字 and 😀 and a lone \ud800 surrogate\nfunction add(a, b) {\n  return a + b;\n}\n'];
  for (const text of texts) {
    const w = new ShardWriter();
    const recs = [record(text), makeRecord({ skip: 'minified', bytes: 10 })];
    const metas = recs.map((r) => RECORDS.write(r, w));
    const r = new ShardReader(w.finish({ format: FORMAT, key: 'k', entries: metas }));
    const back = (r.header.entries as unknown[]).map((m) => RECORDS.read(m, r));
    assert.deepEqual(back.map(plain), recs.map(plain), JSON.stringify(text));
    // A completion found in the text is stored as a slice and keeps its offset; the others do not.
    assert.equal(back[0].pairs![0].at, text.indexOf('  return a + b;'));
    assert.equal(back[0].pairs![1].at, undefined);
    assert.equal(back[0].pairs![2].at, undefined);
    assert.equal(back[1].text, undefined);
  }
});

test('token arrays round-trip, and worker results keep skips and records in order', () => {
  const w = new ShardWriter();
  const arrays = [Int32Array.from([1, -2, 151643]), new Int32Array(0), Int32Array.from([5])];
  const metas = arrays.map((a) => TOKENS.write(a, w));
  const r = new ShardReader(w.finish({ entries: metas }));
  assert.deepEqual((r.header.entries as unknown[]).map((m) => [...TOKENS.read(m, r)]), arrays.map((a) => [...a]));

  const results: FileJobResult[] = [{ readSkip: 'deleted' }, { rec: record('function add(a, b) {\n  return a + b;\n}\n') }, { readSkip: 'symlink' }];
  const back = decodeResults(encodeResults(results));
  assert.deepEqual(back.map((x) => ('rec' in x ? plain(x.rec) : x)), results.map((x) => ('rec' in x ? plain(x.rec) : x)));
});

test('damaged containers and references out of bounds are refused', () => {
  const w = new ShardWriter();
  const meta = RECORDS.write(record('function add(a, b) {\n  return a + b;\n}\n'), w);
  const buf = w.finish({ format: FORMAT, key: 'k', entries: [meta] });
  assert.throws(() => new ShardReader(buf.subarray(0, buf.length - 1)), /truncated/);
  assert.throws(() => new ShardReader(Buffer.concat([buf, Buffer.alloc(1)])), /truncated/);
  assert.throws(() => new ShardReader(Buffer.from('{"format":6}')), /not a shard/);
  const r = new ShardReader(buf);
  assert.throws(() => r.str([0, 1e9]), /bad reference/);
  assert.throws(() => r.u32([-1, 1]), /bad reference/);
  assert.throws(() => RECORDS.read({ ...(meta as object), P: [0, 1e6] }, r), /bad reference/);
  // Pair words that point past the record's text, or past the string block.
  const w2 = new ShardWriter();
  const m2 = RECORDS.write(record('function add(a, b) {\n  return a + b;\n}\n'), w2) as Record<string, unknown>;
  const past = w2.u32(Uint32Array.from([0, 1, 0, 1, 0, 0, 1e6]));
  const far = w2.u32(Uint32Array.from([0, 1, 0, 1, 1, 1e8, 5]));
  const r2 = new ShardReader(w2.finish({ entries: [] }));
  assert.throws(() => RECORDS.read({ ...m2, P: past }, r2), /bad pair/);
  assert.throws(() => RECORDS.read({ ...m2, P: far }, r2), /bad reference/);
});
