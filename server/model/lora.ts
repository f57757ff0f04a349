// LoRA with PEFT semantics: for each targeted linear layer W [out, in],
//   y = W x + s · B (A x),   A [r, in] Kaiming-uniform(a=√5), B [out, r] zero,
//   s = alpha / r, or alpha / √r with rsLoRA.
// A fresh adapter therefore equals the base model exactly.
import * as tf from '@tensorflow/tfjs-core';
import { CodetuneError } from '../errors';
import type { LoraTerm } from './layers';
import { LINEAR_NAMES, type CausalLM } from './llama';

export interface LoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  /** Module names (`q_proj`, …), `all-linear`, or a regular expression over module paths. */
  targetModules: string[] | 'all-linear' | { regex: string };
  useRslora: boolean;
  /** Per-module rank/alpha overrides (PEFT rank_pattern / alpha_pattern). */
  rankPattern?: Record<string, number>;
  alphaPattern?: Record<string, number>;
}

export const DEFAULT_LORA_CONFIG: LoraConfig = { r: 16, alpha: 32, dropout: 0.05, targetModules: 'all-linear', useRslora: false };

export function loraConfig(partial: Partial<LoraConfig> = {}): LoraConfig {
  return { ...DEFAULT_LORA_CONFIG, ...partial };
}

/** PEFT's key matching: a pattern matches a module path when it is the path's last dotted part(s). */
function patternMatches(key: string, module: string): boolean {
  return module === key || module.endsWith(`.${key}`) || new RegExp(`(^|\\.)${key}$`).test(module);
}

/** Does `module` (a linear layer path) belong to the adapter's targets? */
export function isTarget(cfg: LoraConfig, module: string): boolean {
  const t = cfg.targetModules;
  if (t === 'all-linear') {
    return LINEAR_NAMES.some((n) => module.endsWith(`.${n}`));
  }
  if (Array.isArray(t)) {
    return t.some((name) => module === name || module.endsWith(`.${name}`));
  }
  return new RegExp(`^(?:${t.regex})$`).test(module);
}

function patternValue(pattern: Record<string, number> | undefined, module: string): number | undefined {
  for (const [k, v] of Object.entries(pattern ?? {})) {
    if (patternMatches(k, module)) {
      return v;
    }
  }
  return undefined;
}

/** Scale of one module: alpha/r (rsLoRA: alpha/√r), with per-module patterns applied. */
export function moduleScale(cfg: LoraConfig, module: string, r: number): number {
  const alpha = patternValue(cfg.alphaPattern, module) ?? cfg.alpha;
  return cfg.useRslora ? alpha / Math.sqrt(r) : alpha / r;
}

export function moduleRank(cfg: LoraConfig, module: string): number {
  return patternValue(cfg.rankPattern, module) ?? cfg.r;
}

/** A set of LoRA matrices keyed by module path (`model.layers.0.self_attn.q_proj`). */
export class LoraAdapter {
  constructor(
    readonly config: LoraConfig,
    readonly A: Map<string, tf.Tensor2D>,
    readonly B: Map<string, tf.Tensor2D>,
  ) {}

  modules(): string[] {
    return [...this.A.keys()];
  }

  scale(module: string): number {
    return moduleScale(this.config, module, this.A.get(module)!.shape[0]);
  }

  /** Trainable variables in a fixed order (A then B per module), as optimizers need. */
  variables(): tf.Variable[] {
    const out: tf.Variable[] = [];
    for (const m of this.modules()) {
      for (const t of [this.A.get(m), this.B.get(m)]) {
        if (t instanceof tf.Variable) {
          out.push(t);
        }
      }
    }
    return out;
  }

  /** Number of trainable parameters. */
  parameterCount(): number {
    let n = 0;
    for (const m of this.modules()) {
      n += this.A.get(m)!.size + this.B.get(m)!.size;
    }
    return n;
  }

  /** Fresh adapter for `model`: A Kaiming-uniform (a=√5, bound 1/√in), B zero; trainable variables. */
  static create(model: CausalLM, cfg: LoraConfig, seed = 0): LoraAdapter {
    const A = new Map<string, tf.Tensor2D>();
    const B = new Map<string, tf.Tensor2D>();
    const targets = model.linearModules().filter((m) => isTarget(cfg, m));
    if (targets.length === 0) {
      throw new CodetuneError('USAGE', `target_modules ${JSON.stringify(cfg.targetModules)} match no linear layer of this model (have: ${LINEAR_NAMES.join(', ')})`);
    }
    targets.forEach((m, i) => {
      const [out, inp] = model.linearShape(m)!;
      const r = moduleRank(cfg, m);
      // Kaiming-uniform with a=√5: gain √(2/(1+a²)) = √(1/3); bound = gain·√(3/fan_in) = 1/√fan_in.
      const bound = 1 / Math.sqrt(inp);
      A.set(m, tf.variable(tf.randomUniform([r, inp], -bound, bound, 'float32', seed + i), true, `lora_A/${m}`) as tf.Variable<tf.Rank.R2>);
      B.set(m, tf.variable(tf.zeros([out, r]), true, `lora_B/${m}`) as tf.Variable<tf.Rank.R2>);
    });
    return new LoraAdapter(cfg, A, B);
  }

  dispose(): void {
    for (const t of [...this.A.values(), ...this.B.values()]) {
      t.dispose();
    }
  }
}

export interface WeightedAdapter {
  adapter: LoraAdapter;
  weight: number;
}

/** Unmerged terms for CausalLM.setLoraTerms: each module gets w·s·B(A x) per adapter. */
export function loraTerms(adapters: WeightedAdapter[], training = false): Map<string, LoraTerm[]> {
  const terms = new Map<string, LoraTerm[]>();
  for (const { adapter, weight } of adapters) {
    for (const m of adapter.modules()) {
      const list = terms.get(m) ?? [];
      list.push({ A: adapter.A.get(m)!, B: adapter.B.get(m)!, scale: weight * adapter.scale(m), dropout: training ? adapter.config.dropout : 0 });
      terms.set(m, list);
    }
  }
  return terms;
}

/** Check that an adapter fits a base: every module exists and A/B shapes match W. */
export function checkAdapterFits(adapter: LoraAdapter, model: CausalLM, source: string): void {
  for (const m of adapter.modules()) {
    const shape = model.linearShape(m);
    const a = adapter.A.get(m)!;
    const b = adapter.B.get(m)!;
    const key = `base_model.model.${m}`;
    if (!shape) {
      throw new CodetuneError('ADAPTER_MISMATCH', `${source}: tensor "${key}.lora_A.weight" targets module "${m}", which this base model does not have; the adapter was trained for a different base`, { file: source, tensor: `${key}.lora_A.weight` });
    }
    const [out, inp] = shape;
    if (a.shape[1] !== inp) {
      throw new CodetuneError('ADAPTER_MISMATCH', `${source}: tensor "${key}.lora_A.weight" has shape [${a.shape}] but the base's ${m} takes ${inp} inputs (expected [${a.shape[0]},${inp}]); the adapter was trained for a different base`, { file: source, tensor: `${key}.lora_A.weight` });
    }
    if (b.shape[0] !== out || b.shape[1] !== a.shape[0]) {
      throw new CodetuneError('ADAPTER_MISMATCH', `${source}: tensor "${key}.lora_B.weight" has shape [${b.shape}] but expected [${out},${a.shape[0]}] for this base`, { file: source, tensor: `${key}.lora_B.weight` });
    }
  }
}
