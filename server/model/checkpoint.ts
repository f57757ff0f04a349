// Load a Hugging Face model folder: config.json + model.safetensors, or shards listed in
// model.safetensors.index.json, read shard by shard so peak memory stays near the final
// float32 weights plus one tensor. Pickled weights (.bin/.pt) are refused.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CodetuneError, fromFsError } from '../errors';
import { requireMemory, type MemoryOptions } from '../hub/memory';
import { readModelConfig, type ModelConfig } from './config';
import { CausalLM, expectedWeights } from './llama';
import { SafetensorsFile } from './safetensors';

const PICKLE = /\.(bin|pt|pth|ckpt|pkl)$/i;

export interface CheckpointFiles {
  /** Safetensors files in load order. */
  shards: string[];
  /** Tensor name → shard file (for an index); null for a single file. */
  index: Map<string, string> | null;
}

/** Find the weight files of a model folder, or a typed error saying what is wrong. */
export function findCheckpointFiles(dir: string): CheckpointFiles {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch (e) {
    throw fromFsError(e, dir);
  }
  const indexFile = path.join(dir, 'model.safetensors.index.json');
  if (entries.includes('model.safetensors.index.json')) {
    let json: { weight_map?: Record<string, string> };
    try {
      json = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as typeof json;
    } catch (e) {
      throw new CodetuneError('SAFETENSORS_JSON', `${indexFile}: not a valid index (${(e as Error).message})`, { file: indexFile });
    }
    const map = json.weight_map;
    if (!map || typeof map !== 'object') {
      throw new CodetuneError('SAFETENSORS_JSON', `${indexFile}: missing "weight_map"`, { file: indexFile });
    }
    const index = new Map<string, string>();
    for (const [name, shard] of Object.entries(map)) {
      if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\') || !shard.endsWith('.safetensors')) {
        throw new CodetuneError('SAFETENSORS_JSON', `${indexFile}: tensor "${name}" maps to an invalid shard ${JSON.stringify(shard)}`, { file: indexFile, tensor: name });
      }
      index.set(name, path.join(dir, shard));
    }
    const shards = [...new Set(index.values())].sort();
    for (const s of shards) {
      if (!fs.existsSync(s)) {
        throw new CodetuneError('CHECKPOINT_MISSING', `${s}: shard listed in model.safetensors.index.json is missing`, { file: s });
      }
    }
    return { shards, index };
  }
  if (entries.includes('model.safetensors')) {
    return { shards: [path.join(dir, 'model.safetensors')], index: null };
  }
  const pickled = entries.filter((e) => PICKLE.test(e));
  if (pickled.length > 0) {
    throw new CodetuneError(
      'PICKLE_WEIGHTS',
      `${dir}: holds only pickled PyTorch weights (${pickled.slice(0, 3).join(', ')}); Codetune never loads pickle files because they can run code. ` +
        'Convert them to safetensors first, e.g. in Python: AutoModelForCausalLM.from_pretrained(dir).save_pretrained(out, safe_serialization=True)',
      { file: path.join(dir, pickled[0]) },
    );
  }
  throw new CodetuneError('CHECKPOINT_MISSING', `${dir}: no model.safetensors or model.safetensors.index.json found`, { file: dir });
}

export interface LoadOptions {
  /** Called after each shard is loaded (progress, memory measurement). */
  onShard?: (file: string, done: number, total: number) => void;
  /** Context the KV cache is sized for in the memory check (default min(max positions, 4096)). */
  contextLength?: number;
  memory?: MemoryOptions;
  /** Called when the model fits, but only just (the check refuses what does not fit). */
  onMemoryWarning?: (message: string) => void;
}

/** Read and check every expected weight; returns float32 tensors keyed by Hugging Face name. */
export function loadWeights(dir: string, config: ModelConfig, opts: LoadOptions = {}): Map<string, tf.Tensor> {
  const files = findCheckpointFiles(dir);
  const expected = expectedWeights(config);
  const weights = new Map<string, tf.Tensor>();
  try {
    files.shards.forEach((file, n) => {
      const st = SafetensorsFile.open(file);
      for (const name of st.names) {
        const shape = expected.get(name);
        if (!shape || weights.has(name) || (files.index && files.index.get(name) !== file)) {
          continue; // not ours (e.g. rotary inv_freq, a tied lm_head) or listed in another shard
        }
        const info = st.info(name);
        if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
          throw new CodetuneError('CONFIG_INVALID', `${file}: tensor "${name}" has shape [${info.shape}] but config.json implies [${shape}]`, { file, tensor: name });
        }
        const host = st.read(name);
        weights.set(name, tf.tensor(host.data, host.shape, host.dtype));
      }
      opts.onShard?.(file, n + 1, files.shards.length);
    });
    for (const name of expected.keys()) {
      if (!weights.has(name)) {
        throw new CodetuneError('SAFETENSORS_MISSING_TENSOR', `${dir}: checkpoint has no tensor "${name}", which config.json requires`, { file: files.shards[0], tensor: name });
      }
    }
  } catch (e) {
    for (const t of weights.values()) {
      t.dispose();
    }
    throw e;
  }
  return weights;
}

/** Load a Hugging Face model folder into a CausalLM, after checking that it fits in memory. */
export function loadModel(dir: string, opts: LoadOptions = {}): CausalLM {
  const config = readModelConfig(dir);
  const mem = requireMemory(config, opts.contextLength ?? Math.min(config.maxPositionEmbeddings, 4096), opts.memory);
  if (mem.verdict === 'warn') {
    opts.onMemoryWarning?.(mem.message);
  }
  return new CausalLM(config, loadWeights(dir, config, opts));
}
