// Hugging Face config.json → typed ModelConfig for the Llama family (llama, qwen2, mistral).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CodetuneError, fromFsError } from '../errors';

export const SUPPORTED_MODEL_TYPES = ['llama', 'qwen2', 'mistral'] as const;
export type ModelType = (typeof SUPPORTED_MODEL_TYPES)[number];
export const SUPPORTED_ROPE_SCALING = ['none', 'default', 'linear', 'llama3'] as const;

export type RopeScaling =
  | { type: 'none' }
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number };

export interface ModelConfig {
  modelType: ModelType;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  /** Key/value heads: equal to numHeads (MHA), fewer (GQA) or 1 (MQA). */
  numKvHeads: number;
  headDim: number;
  ropeTheta: number;
  ropeScaling: RopeScaling;
  rmsNormEps: number;
  tieWordEmbeddings: boolean;
  /** Bias on q/k/v projections (Qwen2 always; Llama with attention_bias). */
  qkvBias: boolean;
  /** Bias on o_proj (Llama with attention_bias). */
  oBias: boolean;
  mlpBias: boolean;
  maxPositionEmbeddings: number;
  /** Mistral-style sliding-window attention; null for full causal attention. */
  slidingWindow: number | null;
  bosTokenId: number | null;
  eosTokenIds: number[];
}

type Raw = Record<string, unknown>;

function invalid(file: string, message: string): CodetuneError {
  return new CodetuneError('CONFIG_INVALID', `${file}: ${message}`, { file });
}

function int(raw: Raw, key: string, file: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw invalid(file, `"${key}" must be a positive integer, got ${JSON.stringify(raw[key])}`);
  }
  return v;
}

function num(raw: Raw, key: string, file: string, fallback: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw invalid(file, `"${key}" must be a positive number, got ${JSON.stringify(raw[key])}`);
  }
  return v;
}

function ids(v: unknown): number[] {
  if (typeof v === 'number') {
    return [v];
  }
  return Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : [];
}

function parseRopeScaling(v: unknown, file: string): RopeScaling {
  if (v === null || v === undefined) {
    return { type: 'none' };
  }
  if (typeof v !== 'object') {
    throw invalid(file, `"rope_scaling" must be an object or null`);
  }
  const r = v as Raw;
  const type = r.rope_type ?? r.type;
  if (type === 'default') {
    return { type: 'none' };
  }
  if (type === 'linear') {
    return { type: 'linear', factor: num(r, 'factor', file, NaN) };
  }
  if (type === 'llama3') {
    return {
      type: 'llama3',
      factor: num(r, 'factor', file, NaN),
      lowFreqFactor: num(r, 'low_freq_factor', file, 1),
      highFreqFactor: num(r, 'high_freq_factor', file, 4),
      originalMaxPositionEmbeddings: int(r, 'original_max_position_embeddings', file, 8192),
    };
  }
  throw new CodetuneError('CONFIG_UNSUPPORTED', `${file}: rope_scaling type ${JSON.stringify(type)} is not supported; supported: ${SUPPORTED_ROPE_SCALING.join(', ')}`, { file });
}

/** Turn a parsed config.json into a ModelConfig, or a typed error naming what is wrong. */
export function parseModelConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw invalid(file, 'not a JSON object');
  }
  const raw = json as Raw;
  const mt = raw.model_type;
  if (typeof mt !== 'string' || !(SUPPORTED_MODEL_TYPES as readonly string[]).includes(mt)) {
    throw new CodetuneError('CONFIG_UNSUPPORTED', `${file}: model_type ${JSON.stringify(mt)} is not supported; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`, { file });
  }
  const modelType = mt as ModelType;
  const act = raw.hidden_act ?? 'silu';
  if (act !== 'silu' && act !== 'swish') {
    throw new CodetuneError('CONFIG_UNSUPPORTED', `${file}: hidden_act ${JSON.stringify(act)} is not supported; supported: silu`, { file });
  }
  const hiddenSize = int(raw, 'hidden_size', file);
  const numHeads = int(raw, 'num_attention_heads', file);
  const numKvHeads = int(raw, 'num_key_value_heads', file, numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw invalid(file, `num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads})`);
  }
  const headDim = raw.head_dim === undefined || raw.head_dim === null ? hiddenSize / numHeads : int(raw, 'head_dim', file);
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw invalid(file, `head dimension ${headDim} must be an even integer (hidden_size / num_attention_heads, or head_dim)`);
  }
  const attentionBias = raw.attention_bias === true;
  const useSliding = modelType === 'mistral' ? raw.sliding_window !== null && raw.sliding_window !== undefined : raw.use_sliding_window === true;
  return {
    modelType,
    vocabSize: int(raw, 'vocab_size', file),
    hiddenSize,
    intermediateSize: int(raw, 'intermediate_size', file),
    numLayers: int(raw, 'num_hidden_layers', file),
    numHeads,
    numKvHeads,
    headDim,
    ropeTheta: num(raw, 'rope_theta', file, 10000),
    ropeScaling: parseRopeScaling(raw.rope_scaling, file),
    rmsNormEps: num(raw, 'rms_norm_eps', file, 1e-6),
    tieWordEmbeddings: raw.tie_word_embeddings === true,
    qkvBias: modelType === 'qwen2' || attentionBias,
    oBias: modelType !== 'qwen2' && attentionBias,
    mlpBias: raw.mlp_bias === true,
    maxPositionEmbeddings: int(raw, 'max_position_embeddings', file, 2048),
    slidingWindow: useSliding ? int(raw, 'sliding_window', file) : null,
    bosTokenId: typeof raw.bos_token_id === 'number' ? raw.bos_token_id : null,
    eosTokenIds: ids(raw.eos_token_id),
  };
}

export function readModelConfig(dir: string): ModelConfig {
  const file = path.join(dir, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const err = fromFsError(e, file);
    if (err.code === 'NOT_FOUND') {
      throw new CodetuneError('CHECKPOINT_MISSING', `${dir}: no config.json; is this a Hugging Face model folder?`, { file });
    }
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw invalid(file, `not valid JSON (${(e as Error).message})`);
  }
  return parseModelConfig(json, file);
}

/** Number of parameters of a model with this config (weights only). */
export function parameterCount(c: ModelConfig): number {
  const h = c.hiddenSize;
  const qOut = c.numHeads * c.headDim;
  const kvOut = c.numKvHeads * c.headDim;
  const attn = h * qOut + 2 * h * kvOut + qOut * h + (c.qkvBias ? qOut + 2 * kvOut : 0) + (c.oBias ? h : 0);
  const mlp = 3 * h * c.intermediateSize + (c.mlpBias ? 2 * c.intermediateSize + h : 0);
  const perLayer = attn + mlp + 2 * h;
  return c.vocabSize * h * (c.tieWordEmbeddings ? 1 : 2) + c.numLayers * perLayer + h;
}
