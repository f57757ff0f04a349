// Test checkpoints for the mock hub: the shared tiny-llama fixture as is, split
// into shards with an index, and variants that must be refused.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const FIXTURES = path.resolve(__dirname, '../../../shared/fixtures');
export const TINY_LLAMA = path.join(FIXTURES, 'tiny-llama');

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/**
 * Split a .safetensors file into `n` shards by copying tensor bytes unchanged,
 * and build the `model.safetensors.index.json` that maps each tensor to its shard.
 */
export function splitSafetensors(file: Uint8Array, n: number): { shards: Record<string, Buffer>; index: Buffer } {
  const buf = Buffer.from(file);
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, HeaderEntry | Record<string, string>>;
  const dataStart = 8 + headerLen;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const totalBytes = names.reduce((s, k) => s + sizeOf(header[k] as HeaderEntry), 0);
  // Contiguous groups of about equal byte size.
  const groups: string[][] = Array.from({ length: n }, () => []);
  let acc = 0;
  for (const name of names) {
    const g = Math.min(n - 1, Math.floor((acc / totalBytes) * n));
    groups[g].push(name);
    acc += sizeOf(header[name] as HeaderEntry);
  }
  if (groups.some((g) => g.length === 0)) {
    throw new Error(`cannot split ${names.length} tensors into ${n} non-empty shards`);
  }
  const shards: Record<string, Buffer> = {};
  const weightMap: Record<string, string> = {};
  groups.forEach((group, i) => {
    const shardName = `model-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
    const newHeader: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    const parts: Buffer[] = [];
    let offset = 0;
    for (const name of group) {
      const e = header[name] as HeaderEntry;
      const bytes = buf.subarray(dataStart + e.data_offsets[0], dataStart + e.data_offsets[1]);
      newHeader[name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + bytes.byteLength] };
      parts.push(bytes);
      offset += bytes.byteLength;
      weightMap[name] = shardName;
    }
    let json = JSON.stringify(newHeader);
    json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    shards[shardName] = Buffer.concat([len, Buffer.from(json), ...parts]);
  });
  const index = Buffer.from(JSON.stringify({ metadata: { total_size: totalBytes }, weight_map: weightMap }, null, 2));
  return { shards, index };
}

function sizeOf(e: HeaderEntry): number {
  return e.data_offsets[1] - e.data_offsets[0];
}

/** The files of the tiny-llama fixture plus a generation config, keyed by repo path. */
export function tinyLlamaFiles(): Record<string, Buffer> {
  return {
    'config.json': fs.readFileSync(path.join(TINY_LLAMA, 'config.json')),
    'model.safetensors': fs.readFileSync(path.join(TINY_LLAMA, 'model.safetensors')),
    'generation_config.json': Buffer.from(JSON.stringify({ bos_token_id: 1, eos_token_id: 2 })),
  };
}

/** tiny-llama as 3 shards with an index. */
export function shardedTinyLlamaFiles(n = 3): Record<string, Buffer> {
  const base = tinyLlamaFiles();
  const { shards, index } = splitSafetensors(base['model.safetensors'], n);
  return { 'config.json': base['config.json'], 'generation_config.json': base['generation_config.json'], 'model.safetensors.index.json': index, ...shards };
}

/** A temporary folder removed by the returned function. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `codetune-${prefix}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Write files into a folder (a local checkpoint). */
export function writeFolder(dir: string, files: Record<string, Uint8Array>): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, data] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, name), data);
  }
  return dir;
}
