// PEFT adapter folders: adapter_config.json + adapter_model.safetensors.
// Keys: base_model.model.<module>.lora_A.weight [r, in] and ...lora_B.weight [out, r].
// Loading accepts adapters from PEFT (and the `.default` adapter-name infix some tools
// write); saving writes exactly PEFT's format, atomically (staged folder + rename).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CodetuneError } from '../errors';
import type { CausalLM } from '../model/llama';
import { checkAdapterFits, LoraAdapter, type LoraConfig } from '../model/lora';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../model/safetensors';
import { writeDirAtomic, writeFileAtomic } from '../util/atomic';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
const KEY = /^base_model\.model\.(.+)\.lora_([AB])(?:\.default)?\.weight$/;

type Raw = Record<string, unknown>;

function bad(file: string, message: string): CodetuneError {
  return new CodetuneError('ADAPTER_INVALID', `${file}: ${message}`, { file });
}

/** Parse adapter_config.json into a LoraConfig; refuses what Codetune cannot apply exactly. */
export function parseAdapterConfig(json: unknown, file: string): LoraConfig & { baseModel: string | null } {
  if (!json || typeof json !== 'object') {
    throw bad(file, 'not a JSON object');
  }
  const c = json as Raw;
  if (c.peft_type !== 'LORA') {
    throw bad(file, `peft_type ${JSON.stringify(c.peft_type)} is not supported; Codetune loads LORA adapters`);
  }
  if (typeof c.r !== 'number' || !Number.isInteger(c.r) || c.r <= 0) {
    throw bad(file, `"r" must be a positive integer, got ${JSON.stringify(c.r)}`);
  }
  if (typeof c.lora_alpha !== 'number' || !(c.lora_alpha > 0)) {
    throw bad(file, `"lora_alpha" must be a positive number, got ${JSON.stringify(c.lora_alpha)}`);
  }
  for (const [key, off] of [['use_dora', false], ['fan_in_fan_out', false]] as const) {
    if ((c[key] ?? off) !== off) {
      throw bad(file, `"${key}": true is not supported`);
    }
  }
  if (c.bias !== undefined && c.bias !== 'none') {
    throw bad(file, `"bias": ${JSON.stringify(c.bias)} is not supported; only "none"`);
  }
  const tm = c.target_modules;
  let targetModules: LoraConfig['targetModules'];
  if (tm === 'all-linear') {
    targetModules = 'all-linear';
  } else if (typeof tm === 'string') {
    targetModules = { regex: tm };
  } else if (Array.isArray(tm) && tm.every((x) => typeof x === 'string')) {
    targetModules = tm as string[];
  } else {
    throw bad(file, `"target_modules" must be a list of names, "all-linear" or a regex, got ${JSON.stringify(tm)}`);
  }
  return {
    r: c.r,
    alpha: c.lora_alpha,
    dropout: typeof c.lora_dropout === 'number' ? c.lora_dropout : 0,
    targetModules,
    useRslora: c.use_rslora === true,
    rankPattern: (c.rank_pattern as Record<string, number> | undefined) ?? undefined,
    alphaPattern: (c.alpha_pattern as Record<string, number> | undefined) ?? undefined,
    baseModel: typeof c.base_model_name_or_path === 'string' ? c.base_model_name_or_path : null,
  };
}

/** Load a PEFT adapter folder; with `model`, check that it fits that base. */
export function loadAdapter(dir: string, model?: CausalLM, opts: { trainable?: boolean } = {}): LoraAdapter {
  const cfgFile = path.join(dir, ADAPTER_CONFIG);
  const wFile = path.join(dir, ADAPTER_WEIGHTS);
  if (!fs.existsSync(cfgFile)) {
    throw new CodetuneError('ADAPTER_INVALID', `${dir}: no ${ADAPTER_CONFIG}; is this a PEFT adapter folder?`, { file: cfgFile });
  }
  if (!fs.existsSync(wFile)) {
    const bin = fs.existsSync(path.join(dir, 'adapter_model.bin'));
    throw new CodetuneError(bin ? 'PICKLE_WEIGHTS' : 'ADAPTER_INVALID', bin ? `${dir}: holds only a pickled adapter_model.bin; save it with safe_serialization=True to get ${ADAPTER_WEIGHTS}` : `${dir}: no ${ADAPTER_WEIGHTS}`, { file: wFile });
  }
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
  } catch (e) {
    throw bad(cfgFile, `not valid JSON (${(e as Error).message})`);
  }
  const cfg = parseAdapterConfig(json, cfgFile);
  const st = SafetensorsFile.open(wFile);
  const A = new Map<string, tf.Tensor2D>();
  const B = new Map<string, tf.Tensor2D>();
  const wrap = (t: tf.Tensor2D, name: string): tf.Tensor2D => (opts.trainable ? (tf.variable(t, true, name) as tf.Variable<tf.Rank.R2>) : t);
  try {
    for (const name of st.names) {
      const m = KEY.exec(name);
      if (!m) {
        throw new CodetuneError('ADAPTER_INVALID', `${wFile}: tensor "${name}" is not a LoRA A/B weight (expected base_model.model.<module>.lora_A.weight / lora_B.weight)`, { file: wFile, tensor: name });
      }
      const host = st.read(name);
      if (host.shape.length !== 2) {
        throw new CodetuneError('ADAPTER_INVALID', `${wFile}: tensor "${name}" must be 2-D, has shape [${host.shape}]`, { file: wFile, tensor: name });
      }
      const t = tf.tensor2d(host.data as Float32Array, host.shape as [number, number]);
      (m[2] === 'A' ? A : B).set(m[1], wrap(t, `lora_${m[2]}/${m[1]}`));
    }
    for (const mod of new Set([...A.keys(), ...B.keys()])) {
      if (!A.has(mod) || !B.has(mod)) {
        const missing = `base_model.model.${mod}.lora_${A.has(mod) ? 'B' : 'A'}.weight`;
        throw new CodetuneError('ADAPTER_INVALID', `${wFile}: tensor "${missing}" is missing (each module needs lora_A and lora_B)`, { file: wFile, tensor: missing });
      }
      if (A.get(mod)!.shape[0] !== B.get(mod)!.shape[1]) {
        throw new CodetuneError('ADAPTER_INVALID', `${wFile}: tensor "base_model.model.${mod}.lora_B.weight" rank ${B.get(mod)!.shape[1]} ≠ lora_A rank ${A.get(mod)!.shape[0]}`, { file: wFile, tensor: `base_model.model.${mod}.lora_B.weight` });
      }
    }
    if (A.size === 0) {
      throw new CodetuneError('ADAPTER_INVALID', `${wFile}: no LoRA tensors`, { file: wFile });
    }
    const adapter = new LoraAdapter(cfg, A, B);
    if (model) {
      checkAdapterFits(adapter, model, wFile);
    }
    return adapter;
  } catch (e) {
    for (const t of [...A.values(), ...B.values()]) {
      t.dispose();
    }
    throw e;
  }
}

/** adapter_config.json exactly as PEFT writes it for a LoRA causal-LM adapter. */
export function peftConfigJson(cfg: LoraConfig, baseModel: string): Record<string, unknown> {
  return {
    alpha_pattern: cfg.alphaPattern ?? {},
    auto_mapping: null,
    base_model_name_or_path: baseModel,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: cfg.alpha,
    lora_dropout: cfg.dropout,
    modules_to_save: null,
    peft_type: 'LORA',
    r: cfg.r,
    rank_pattern: cfg.rankPattern ?? {},
    revision: null,
    target_modules: cfg.targetModules === 'all-linear' ? 'all-linear' : Array.isArray(cfg.targetModules) ? cfg.targetModules : cfg.targetModules.regex,
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: cfg.useRslora,
  };
}

/**
 * Save in PEFT format. The folder is written beside the target and renamed into place,
 * so a crash never leaves a partial adapter where a complete one is expected.
 * `extraFiles` (e.g. codetune.json) are written into the same staged folder.
 */
export function saveAdapter(adapter: LoraAdapter, dir: string, baseModel: string, extraFiles: Record<string, string> = {}): void {
  writeDirAtomic(dir, (staged) => {
    const tensors: Record<string, TensorToWrite> = {};
    for (const m of adapter.modules()) {
      for (const [which, t] of [['A', adapter.A.get(m)!], ['B', adapter.B.get(m)!]] as const) {
        tensors[`base_model.model.${m}.lora_${which}.weight`] = { dtype: 'F32', shape: t.shape, data: t.dataSync() as Float32Array };
      }
    }
    writeSafetensors(path.join(staged, ADAPTER_WEIGHTS), tensors);
    writeFileAtomic(path.join(staged, ADAPTER_CONFIG), JSON.stringify(peftConfigJson(adapter.config, baseModel), null, 2) + '\n');
    for (const [name, text] of Object.entries(extraFiles)) {
      writeFileAtomic(path.join(staged, name), text);
    }
  });
}
