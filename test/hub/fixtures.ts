// Test checkpoints for the mock hub: the shared tiny-llama fixture as is, and split
// into shards with an index.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { splitSafetensors } from '../../server/hub/shard';

export const FIXTURES = path.resolve(__dirname, '../../../shared/fixtures');
export const TINY_LLAMA = path.join(FIXTURES, 'tiny-llama');

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
