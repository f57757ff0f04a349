// Split a model.safetensors into N shards plus model.safetensors.index.json, the way
// large hub checkpoints are stored. Tensor bytes are copied unchanged (any dtype).
// Used to build sharded test and benchmark checkpoints.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CodetuneError } from '../errors';
import { writeFileAtomic } from '../util/atomic';

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export interface ShardedFiles {
  /** Shard file name -> bytes, in order. */
  shards: Record<string, Buffer>;
  /** model.safetensors.index.json contents. */
  index: Buffer;
}

export function shardName(i: number, n: number): string {
  return `model-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
}

/** Split the bytes of a .safetensors file into `n` contiguous shards of about equal size. */
export function splitSafetensors(file: Uint8Array, n: number, label = 'model.safetensors'): ShardedFiles {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  const headerLen = Number(buf.readBigUInt64LE(0));
  let header: Record<string, HeaderEntry | Record<string, string>>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as typeof header;
  } catch {
    throw new CodetuneError('SAFETENSORS_JSON', `${label}: the header is not valid JSON`, { file: label });
  }
  const dataStart = 8 + headerLen;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const bytesOf = (name: string): number => {
    const e = header[name] as HeaderEntry;
    return e.data_offsets[1] - e.data_offsets[0];
  };
  const totalBytes = names.reduce((s, k) => s + bytesOf(k), 0);
  const groups: string[][] = Array.from({ length: n }, () => []);
  let acc = 0;
  for (const name of names) {
    groups[Math.min(n - 1, Math.floor((acc / Math.max(1, totalBytes)) * n))].push(name);
    acc += bytesOf(name);
  }
  if (n < 1 || groups.some((g) => g.length === 0)) {
    throw new CodetuneError('USAGE', `${label}: cannot split ${names.length} tensors into ${n} non-empty shards`);
  }
  const shards: Record<string, Buffer> = {};
  const weightMap: Record<string, string> = {};
  groups.forEach((group, i) => {
    const name = shardName(i, n);
    const newHeader: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    const parts: Buffer[] = [];
    let offset = 0;
    for (const tensor of group) {
      const e = header[tensor] as HeaderEntry;
      const bytes = buf.subarray(dataStart + e.data_offsets[0], dataStart + e.data_offsets[1]);
      newHeader[tensor] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + bytes.byteLength] };
      parts.push(bytes);
      offset += bytes.byteLength;
      weightMap[tensor] = name;
    }
    let json = JSON.stringify(newHeader);
    json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // data starts 8-byte aligned
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    shards[name] = Buffer.concat([len, Buffer.from(json), ...parts]);
  });
  const index = Buffer.from(JSON.stringify({ metadata: { total_size: totalBytes }, weight_map: weightMap }, null, 2) + '\n');
  return { shards, index };
}

/** Copy the model folder `src` to `out` with its weights split into `n` shards. */
export function shardCheckpoint(src: string, out: string, n: number): string[] {
  const weights = path.join(src, 'model.safetensors');
  const { shards, index } = splitSafetensors(fs.readFileSync(weights), n, weights);
  fs.mkdirSync(out, { recursive: true });
  for (const f of fs.readdirSync(src)) {
    if (f !== 'model.safetensors' && fs.statSync(path.join(src, f)).isFile()) {
      fs.copyFileSync(path.join(src, f), path.join(out, f));
    }
  }
  for (const [name, bytes] of Object.entries(shards)) {
    writeFileAtomic(path.join(out, name), bytes);
  }
  writeFileAtomic(path.join(out, 'model.safetensors.index.json'), index);
  return Object.keys(shards);
}
