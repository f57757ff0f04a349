// safetensors: reading (header validated, each tensor from its own byte range) and
// writing (atomic). Format: u64 little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}},
// then the data buffer, which the offsets must cover completely, without holes or overlap.
import * as fs from 'node:fs';
import { CodetuneError, fromFsError } from '../errors';
import { writeFileAtomic } from '../util/atomic';

export type Dtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_SIZE: Record<Dtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
/** Dtypes the engine converts on read: floats become float32, integers int32. */
const READABLE: ReadonlySet<string> = new Set(['F32', 'F16', 'BF16', 'F64', 'I32', 'I64']);

export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorInfo {
  dtype: Dtype;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

export interface HostTensor {
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function fail(code: string, file: string, message: string, tensor?: string): CodetuneError {
  const where = tensor ? `${file}: tensor "${tensor}": ` : `${file}: `;
  return new CodetuneError(code, `${where}${message}`, { file, tensor });
}

/** Validate a parsed header against the spec; returns entries sorted by offset. */
function validateHeader(json: unknown, file: string, dataStart: number, fileSize: number): { tensors: Map<string, TensorInfo>; metadata: Record<string, string> } {
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw fail('SAFETENSORS_JSON', file, 'header is not a JSON object');
  }
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  const spans: Array<[number, number, string]> = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw && typeof raw === 'object' && !Array.isArray(raw) && Object.values(raw).every((v) => typeof v === 'string')) {
        metadata = raw as Record<string, string>;
        continue;
      }
      throw fail('SAFETENSORS_JSON', file, '"__metadata__" must map strings to strings');
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (!e || typeof e !== 'object') {
      throw fail('SAFETENSORS_JSON', file, 'entry is not an object', name);
    }
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_SIZE)) {
      throw fail('SAFETENSORS_DTYPE', file, `unknown dtype ${JSON.stringify(e.dtype)}; known: ${Object.keys(DTYPE_SIZE).join(', ')}`, name);
    }
    const dtype = e.dtype as Dtype;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw fail('SAFETENSORS_JSON', file, `shape must be a list of non-negative integers, got ${JSON.stringify(e.shape)}`, name);
    }
    const shape = e.shape as number[];
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => Number.isSafeInteger(x) && x >= 0)) {
      throw fail('SAFETENSORS_OFFSETS', file, `data_offsets must be two non-negative integers, got ${JSON.stringify(off)}`, name);
    }
    const [b, end] = off as [number, number];
    if (b > end || end > dataSize) {
      throw fail('SAFETENSORS_OFFSETS', file, `data_offsets [${b}, ${end}] are out of range (data is ${dataSize} bytes)`, name);
    }
    const expected = numel(shape) * DTYPE_SIZE[dtype];
    if (end - b !== expected) {
      throw fail('SAFETENSORS_SIZE', file, `byte length ${end - b} ≠ ${numel(shape)} elements × ${DTYPE_SIZE[dtype]} bytes (${dtype}) = ${expected}`, name);
    }
    tensors.set(name, { dtype, shape, begin: dataStart + b, end: dataStart + end });
    spans.push([b, end, name]);
  }
  // The offsets must tile the data buffer exactly: sorted, contiguous, from 0 to its end.
  spans.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let pos = 0;
  for (const [b, end, name] of spans) {
    if (b < pos) {
      throw fail('SAFETENSORS_OFFSETS', file, `data_offsets [${b}, ${end}] overlap the previous tensor (which ends at ${pos})`, name);
    }
    if (b > pos) {
      throw fail('SAFETENSORS_OFFSETS', file, `data_offsets [${b}, ${end}] leave a hole at bytes [${pos}, ${b}); tensors must be contiguous`, name);
    }
    pos = end;
  }
  if (pos !== dataSize) {
    throw fail('SAFETENSORS_OFFSETS', file, `tensors cover ${pos} bytes but the data section is ${dataSize} bytes`);
  }
  return { tensors, metadata };
}

export class SafetensorsFile {
  private constructor(
    readonly path: string,
    readonly tensors: Map<string, TensorInfo>,
    readonly metadata: Record<string, string>,
  ) {}

  /** Read and validate only the header; tensor data stays on disk until `read`. */
  static open(file: string): SafetensorsFile {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      throw fromFsError(e, file);
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < 8) {
        throw fail('SAFETENSORS_HEADER', file, `file is ${size} bytes, too short for a safetensors header`);
      }
      const lenBuf = Buffer.alloc(8);
      fs.readSync(fd, lenBuf, 0, 8, 0);
      const n = lenBuf.readBigUInt64LE(0);
      if (n > BigInt(MAX_HEADER_BYTES)) {
        throw fail('SAFETENSORS_HEADER', file, `header length ${n} exceeds the 100 MB limit; the file is corrupt or not safetensors`);
      }
      const headerLen = Number(n);
      if (8 + headerLen > size) {
        throw fail('SAFETENSORS_HEADER', file, `header length ${headerLen} runs past the end of the file (${size} bytes); the file is truncated or corrupt`);
      }
      const header = Buffer.alloc(headerLen);
      fs.readSync(fd, header, 0, headerLen, 8);
      let json: unknown;
      try {
        json = JSON.parse(header.toString('utf8'));
      } catch (e) {
        throw fail('SAFETENSORS_JSON', file, `header is not valid JSON (${(e as Error).message})`);
      }
      const { tensors, metadata } = validateHeader(json, file, 8 + headerLen, size);
      return new SafetensorsFile(file, tensors, metadata);
    } finally {
      fs.closeSync(fd);
    }
  }

  get names(): string[] {
    return [...this.tensors.keys()];
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) {
      throw fail('SAFETENSORS_MISSING_TENSOR', this.path, 'not in this file', name);
    }
    return t;
  }

  /** Read one tensor from its byte range, converted to float32 (floats) or int32 (ints). */
  read(name: string): HostTensor {
    const t = this.info(name);
    if (!READABLE.has(t.dtype)) {
      throw fail('SAFETENSORS_DTYPE', this.path, `dtype ${t.dtype} is not supported for model weights (supported: ${[...READABLE].join(', ')})`, name);
    }
    const bytes = Buffer.alloc(t.end - t.begin);
    let fd: number;
    try {
      fd = fs.openSync(this.path, 'r');
    } catch (e) {
      throw fromFsError(e, this.path);
    }
    try {
      let off = 0;
      while (off < bytes.length) {
        const got = fs.readSync(fd, bytes, off, bytes.length - off, t.begin + off);
        if (got === 0) {
          throw fail('SAFETENSORS_HEADER', this.path, 'file ended before the tensor data; the file is truncated', name);
        }
        off += got;
      }
    } finally {
      fs.closeSync(fd);
    }
    return { ...decode(bytes, t.dtype, this.path, name), shape: t.shape };
  }
}

function decode(bytes: Buffer, dtype: Dtype, file: string, name: string): Omit<HostTensor, 'shape'> {
  const n = bytes.length / DTYPE_SIZE[dtype];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        out[i] = view.getFloat32(i * 4, true);
      }
      return { dtype: 'float32', data: out };
    }
    case 'F64': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        out[i] = view.getFloat64(i * 8, true);
      }
      return { dtype: 'float32', data: out };
    }
    case 'BF16': {
      // bf16 is the top half of a float32.
      const u32 = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        u32[i] = view.getUint16(i * 2, true) << 16;
      }
      return { dtype: 'float32', data: new Float32Array(u32.buffer) };
    }
    case 'F16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        out[i] = halfToFloat(view.getUint16(i * 2, true));
      }
      return { dtype: 'float32', data: out };
    }
    case 'I32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        out[i] = view.getInt32(i * 4, true);
      }
      return { dtype: 'int32', data: out };
    }
    case 'I64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = view.getBigInt64(i * 8, true);
        if (v > 2147483647n || v < -2147483648n) {
          throw fail('SAFETENSORS_DTYPE', file, `I64 value ${v} at index ${i} does not fit in int32`, name);
        }
        out[i] = Number(v);
      }
      return { dtype: 'int32', data: out };
    }
    default:
      throw fail('SAFETENSORS_DTYPE', file, `dtype ${dtype} is not supported`, name);
  }
}

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) {
    return sign * frac * 2 ** -24;
  }
  if (exp === 0x1f) {
    return frac ? NaN : sign * Infinity;
  }
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

export interface TensorToWrite {
  /** Stored dtype; F16/BF16 are rounded to nearest-even from the float32 data. */
  dtype: 'F32' | 'F16' | 'BF16' | 'I32';
  shape: number[];
  data: Float32Array | Int32Array;
}

/** Serialise tensors (names sorted, 8-byte aligned header) and write the file atomically. */
export function encodeSafetensors(tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): Uint8Array[] {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    header.__metadata__ = metadata;
  }
  let pos = 0;
  for (const name of names) {
    const t = tensors[name];
    if (t.data.length !== numel(t.shape)) {
      throw new CodetuneError('SAFETENSORS_SIZE', `tensor "${name}": ${t.data.length} values for shape [${t.shape}]`, { tensor: name });
    }
    const len = t.data.length * DTYPE_SIZE[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [pos, pos + len] };
    pos += len;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const chunks: Uint8Array[] = [len, Buffer.from(json, 'utf8')];
  for (const name of names) {
    chunks.push(encodeData(tensors[name]));
  }
  return chunks;
}

function encodeData(t: TensorToWrite): Uint8Array {
  const d = t.data;
  if (t.dtype === 'F32' || t.dtype === 'I32') {
    // Little-endian hosts (x86, arm64) hold typed arrays in file order already.
    return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  }
  const out = Buffer.alloc(d.length * 2);
  const f32 = Float32Array.from(d);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < d.length; i++) {
    out.writeUInt16LE(t.dtype === 'BF16' ? floatToBf16(u32[i]) : floatToHalf(f32[i]), i * 2);
  }
  return out;
}

/** float32 bits → bf16 bits, round to nearest even (NaN stays NaN). */
function floatToBf16(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && bits & 0x7fffff) {
    return ((bits >>> 16) | 0x40) & 0xffff;
  }
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 → IEEE half bits, round to nearest even. */
export function floatToHalf(x: number): number {
  const f = new Float32Array([x]);
  const bits = new Uint32Array(f.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) {
    return sign | 0x7c00 | (mant ? 0x200 : 0);
  }
  let e = exp - 127 + 15;
  if (e >= 0x1f) {
    return sign | 0x7c00;
  }
  if (e <= 0) {
    if (e < -10) {
      return sign;
    }
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && m & 1)) {
      m += 1;
    }
    return sign | m;
  }
  let m = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && m & 1)) {
    m += 1;
    if (m === 0x400) {
      m = 0;
      e += 1;
      if (e >= 0x1f) {
        return sign | 0x7c00;
      }
    }
  }
  return sign | (e << 10) | m;
}

export function writeSafetensors(file: string, tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): void {
  writeFileAtomic(file, ...encodeSafetensors(tensors, metadata));
}
