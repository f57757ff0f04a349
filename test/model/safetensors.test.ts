// safetensors reading/writing: every malformed header the spec rules out is a typed
// error naming the file and the tensor; dtypes convert exactly; writes round-trip.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { CodetuneError } from '../../server/errors';
import { SafetensorsFile, halfToFloat, floatToHalf, writeSafetensors } from '../../server/model/safetensors';
import { findCheckpointFiles } from '../../server/model/checkpoint';
import { tempDir } from '../helpers';

const dir = tempDir();

/** A file from a header object and a data section of `dataBytes` bytes. */
function rawFile(name: string, header: unknown, dataBytes: number, opts: { headerLen?: bigint; headerText?: string } = {}): string {
  const text = opts.headerText ?? JSON.stringify(header);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(opts.headerLen ?? BigInt(Buffer.byteLength(text)));
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.concat([len, Buffer.from(text), Buffer.alloc(dataBytes)]));
  return file;
}

function checkError(file: string, code: string, message: RegExp, tensor?: string): void {
  assert.throws(
    () => SafetensorsFile.open(file).names.forEach((n) => SafetensorsFile.open(file).read(n)),
    (e: unknown) => {
      assert.ok(e instanceof CodetuneError, `expected a CodetuneError, got ${String(e)}`);
      assert.equal(e.code, code);
      assert.match(e.message, message);
      assert.ok(e.message.includes(file), 'the message names the file');
      if (tensor) {
        assert.equal(e.tensor, tensor);
        assert.ok(e.message.includes(tensor), 'the message names the tensor');
      }
      return true;
    },
  );
}

describe('safetensors: bad input is a typed error naming file and tensor', () => {
  const t = (dtype: string, shape: number[], off: [number, number]) => ({ dtype, shape, data_offsets: off });
  const cases: Array<{ what: string; file: () => string; code: string; message: RegExp; tensor?: string }> = [
    { what: 'file shorter than 8 bytes', file: () => { const f = path.join(dir, 'short.safetensors'); fs.writeFileSync(f, Buffer.alloc(3)); return f; }, code: 'SAFETENSORS_HEADER', message: /too short/ },
    { what: 'header length over 100 MB', file: () => rawFile('huge.safetensors', {}, 0, { headerLen: 200n * 1024n * 1024n }), code: 'SAFETENSORS_HEADER', message: /100 MB/ },
    { what: 'header length past the end of the file', file: () => rawFile('past.safetensors', {}, 0, { headerLen: 5000n }), code: 'SAFETENSORS_HEADER', message: /past the end/ },
    { what: 'bad JSON', file: () => rawFile('badjson.safetensors', null, 0, { headerText: '{"a": [1, 2' }), code: 'SAFETENSORS_JSON', message: /not valid JSON/ },
    { what: 'header not an object', file: () => rawFile('array.safetensors', [1, 2], 0), code: 'SAFETENSORS_JSON', message: /not a JSON object/ },
    { what: 'offsets out of range', file: () => rawFile('range.safetensors', { w: t('F32', [4], [0, 16]) }, 8), code: 'SAFETENSORS_OFFSETS', message: /out of range/, tensor: 'w' },
    { what: 'overlapping tensors', file: () => rawFile('overlap.safetensors', { a: t('F32', [2], [0, 8]), b: t('F32', [2], [4, 12]) }, 12), code: 'SAFETENSORS_OFFSETS', message: /overlap/, tensor: 'b' },
    { what: 'a hole between tensors', file: () => rawFile('hole.safetensors', { a: t('F32', [1], [0, 4]), b: t('F32', [1], [8, 12]) }, 12), code: 'SAFETENSORS_OFFSETS', message: /hole/, tensor: 'b' },
    { what: 'byte length ≠ elements × dtype size', file: () => rawFile('size.safetensors', { w: t('F16', [3], [0, 8]) }, 8), code: 'SAFETENSORS_SIZE', message: /byte length 8/, tensor: 'w' },
    { what: 'unknown dtype', file: () => rawFile('dtype.safetensors', { w: t('F8_E9', [2], [0, 2]) }, 2), code: 'SAFETENSORS_DTYPE', message: /unknown dtype/, tensor: 'w' },
    { what: 'dtype the engine cannot use', file: () => rawFile('bool.safetensors', { w: t('BOOL', [2], [0, 2]) }, 2), code: 'SAFETENSORS_DTYPE', message: /not supported/, tensor: 'w' },
    { what: 'bad shape', file: () => rawFile('shape.safetensors', { w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), code: 'SAFETENSORS_JSON', message: /shape/, tensor: 'w' },
    { what: 'missing file', file: () => path.join(dir, 'nope.safetensors'), code: 'NOT_FOUND', message: /no such file/ },
  ];
  for (const c of cases) {
    it(c.what, () => checkError(c.file(), c.code, c.message, c.tensor));
  }
});

describe('safetensors: dtypes and round trip', () => {
  it('F16 and BF16 convert to the float32 values they encode', () => {
    const check = (h: number, v: number) => assert.equal(halfToFloat(h), v);
    check(0x3c00, 1);
    check(0xc000, -2);
    check(0x0001, 2 ** -24);
    check(0x7c00, Infinity);
    // Values exactly representable in half precision survive the round trip.
    for (const v of [0, 1, -1.5, 65504, 2 ** -14, -3.140625, 1000.5]) {
      assert.equal(halfToFloat(floatToHalf(v)), v);
    }
    assert.equal(halfToFloat(floatToHalf(1e6)), Infinity, 'overflow saturates to infinity');
    const data = new Float32Array([1, -2.5, 0.1, 3.3e-3, 1234.5]);
    const file = path.join(dir, 'halves.safetensors');
    writeSafetensors(file, { h: { dtype: 'F16', shape: [5], data }, b: { dtype: 'BF16', shape: [5], data } });
    const st = SafetensorsFile.open(file);
    const h = st.read('h').data;
    const b = st.read('b').data;
    for (let i = 0; i < data.length; i++) {
      assert.ok(Math.abs(h[i] - data[i]) <= Math.abs(data[i]) * 2 ** -11, `F16 ${data[i]} → ${h[i]}`);
      assert.ok(Math.abs(b[i] - data[i]) <= Math.abs(data[i]) * 2 ** -8, `BF16 ${data[i]} → ${b[i]}`);
    }
  });

  it('F32/I32 round-trip bit-identically, header 8-byte aligned, metadata kept', () => {
    const f = new Float32Array([Math.PI, -0, 1e-30, NaN]);
    const i = new Int32Array([1, -2, 2147483647]);
    const file = path.join(dir, 'rt.safetensors');
    writeSafetensors(file, { f: { dtype: 'F32', shape: [2, 2], data: f }, i: { dtype: 'I32', shape: [3], data: i } }, { format: 'pt' });
    const st = SafetensorsFile.open(file);
    assert.deepEqual(st.metadata, { format: 'pt' });
    assert.deepEqual(Buffer.from(st.read('f').data.buffer), Buffer.from(f.buffer));
    assert.deepEqual(Array.from(st.read('i').data), Array.from(i));
    assert.equal(Number(fs.readFileSync(file).readBigUInt64LE(0)) % 8, 0);
  });

  it('I64 reads as int32, and refuses values that do not fit', () => {
    const ok = Buffer.alloc(16);
    ok.writeBigInt64LE(-5n, 0);
    ok.writeBigInt64LE(7n, 8);
    const write = (name: string, data: Buffer) => {
      const header = JSON.stringify({ x: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } });
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(header.length));
      const file = path.join(dir, name);
      fs.writeFileSync(file, Buffer.concat([len, Buffer.from(header), data]));
      return file;
    };
    assert.deepEqual(Array.from(SafetensorsFile.open(write('i64.safetensors', ok)).read('x').data), [-5, 7]);
    const big = Buffer.alloc(16);
    big.writeBigInt64LE(1n << 40n, 0);
    checkError(write('i64big.safetensors', big), 'SAFETENSORS_DTYPE', /does not fit/, 'x');
  });
});

describe('checkpoint folders', () => {
  it('a folder with only pickled weights is refused with a conversion hint', () => {
    const d = tempDir();
    fs.writeFileSync(path.join(d, 'pytorch_model.bin'), 'not really');
    assert.throws(() => findCheckpointFiles(d), (e: unknown) => e instanceof CodetuneError && e.code === 'PICKLE_WEIGHTS' && /pytorch_model\.bin/.test(e.message) && /safetensors/.test(e.message));
  });
  it('an empty folder says no weights were found', () => {
    assert.throws(() => findCheckpointFiles(tempDir()), (e: unknown) => e instanceof CodetuneError && e.code === 'CHECKPOINT_MISSING');
  });
  it('an index naming a missing shard is a clear error', () => {
    const d = tempDir();
    fs.writeFileSync(path.join(d, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: 'model-00001-of-00002.safetensors' } }));
    assert.throws(() => findCheckpointFiles(d), (e: unknown) => e instanceof CodetuneError && e.code === 'CHECKPOINT_MISSING' && /model-00001-of-00002/.test(e.message));
  });
});
