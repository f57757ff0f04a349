// `codetune init-base`: a random-initialised checkpoint in full Hugging Face format
// (config.json, model.safetensors, tokenizer.json, tokenizer_config.json,
// generation_config.json), for tests, demos and benchmarks.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CodetuneError, fromFsError } from '../errors';
import { writeDirAtomic, writeFileAtomic } from '../util/atomic';
import { parseModelConfig, parameterCount, type ModelConfig } from './config';
import { expectedWeights } from './llama';
import { writeSafetensors, type TensorToWrite } from './safetensors';
import { seededRandom } from './sampling';
import { qwenTokenizerDir } from './tokenizer';
import { truncateTokenizer } from './vocab';

export interface BaseSpec {
  arch: 'llama' | 'qwen2';
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  intermediate: number;
  tie: boolean;
  ropeTheta: number;
  maxPositions: number;
}

export const PRESETS: Record<'tiny' | 'bench-small', BaseSpec> = {
  // ~0.6M parameters, ~2.5 MB: fast enough for every test.
  tiny: { arch: 'llama', vocab: 8192, hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 192, tie: true, ropeTheta: 10000, maxPositions: 2048 },
  // ~31.6M parameters: the benchmark model.
  'bench-small': { arch: 'llama', vocab: 8192, hidden: 512, layers: 8, heads: 8, kvHeads: 4, intermediate: 1376, tie: false, ropeTheta: 10000, maxPositions: 4096 },
};

/** config.json as transformers writes it for this spec. */
export function configJson(spec: BaseSpec, eosId: number): Record<string, unknown> {
  const common = {
    architectures: [spec.arch === 'llama' ? 'LlamaForCausalLM' : 'Qwen2ForCausalLM'],
    model_type: spec.arch,
    vocab_size: spec.vocab,
    hidden_size: spec.hidden,
    intermediate_size: spec.intermediate,
    num_hidden_layers: spec.layers,
    num_attention_heads: spec.heads,
    num_key_value_heads: spec.kvHeads,
    hidden_act: 'silu',
    max_position_embeddings: spec.maxPositions,
    initializer_range: 0.02,
    rms_norm_eps: 1e-6,
    rope_theta: spec.ropeTheta,
    rope_scaling: null,
    tie_word_embeddings: spec.tie,
    torch_dtype: 'float32',
    use_cache: true,
    bos_token_id: eosId,
    eos_token_id: eosId,
  };
  return spec.arch === 'llama'
    ? { ...common, attention_bias: false, attention_dropout: 0, mlp_bias: false, pretraining_tp: 1 }
    : { ...common, attention_dropout: 0, use_sliding_window: false, sliding_window: null, max_window_layers: spec.layers };
}

/** Normal(0, std) values from a seeded generator (Box–Muller), so checkpoints are reproducible. */
function normal(n: number, std: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - rand();
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) {
      out[i + 1] = r * Math.sin(2 * Math.PI * v);
    }
  }
  return out;
}

/** Random weights: N(0, 0.02) for matrices (transformers' initializer_range), ones for norms, zero biases. */
export function randomWeights(config: ModelConfig, seed: number): Record<string, TensorToWrite> {
  const rand = seededRandom(seed);
  const out: Record<string, TensorToWrite> = {};
  for (const [name, shape] of expectedWeights(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = name.endsWith('norm.weight') ? new Float32Array(n).fill(1) : name.endsWith('.bias') ? new Float32Array(n) : normal(n, 0.02, rand);
    out[name] = { dtype: 'F32', shape, data };
  }
  return out;
}

export interface InitResult {
  dir: string;
  config: ModelConfig;
  parameters: number;
  bytes: number;
}

/** Write a complete checkpoint folder atomically (staged, then renamed into place). */
export function initBase(outDir: string, spec: BaseSpec, opts: { seed?: number; tokenizerFile?: string; force?: boolean } = {}): InitResult {
  if (fs.existsSync(outDir) && fs.readdirSync(outDir).length > 0 && !opts.force) {
    throw new CodetuneError('USAGE', `${outDir} exists and is not empty; pass --force to replace it`);
  }
  const tokFile = opts.tokenizerFile ?? path.join(qwenTokenizerDir(), 'tokenizer.json');
  let tokJson: Record<string, unknown>;
  try {
    tokJson = JSON.parse(fs.readFileSync(tokFile, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw e instanceof SyntaxError ? new CodetuneError('TOKENIZER_INVALID', `${tokFile}: not valid JSON`, { file: tokFile }) : fromFsError(e, tokFile);
  }
  const tok = truncateTokenizer(tokJson, spec.vocab);
  const cfgJson = configJson({ ...spec, vocab: tok.vocabSize }, tok.eosId);
  const config = parseModelConfig(cfgJson, 'config.json');
  writeDirAtomic(outDir, (staged) => {
    writeSafetensors(path.join(staged, 'model.safetensors'), randomWeights(config, opts.seed ?? 0), { format: 'pt' });
    writeFileAtomic(path.join(staged, 'config.json'), JSON.stringify(cfgJson, null, 2) + '\n');
    writeFileAtomic(path.join(staged, 'generation_config.json'), JSON.stringify({ bos_token_id: tok.eosId, eos_token_id: tok.eosId }, null, 2) + '\n');
    writeFileAtomic(path.join(staged, 'tokenizer.json'), JSON.stringify(tok.tokenizerJson));
    writeFileAtomic(path.join(staged, 'tokenizer_config.json'), JSON.stringify(tok.tokenizerConfig, null, 2) + '\n');
  });
  return { dir: outDir, config, parameters: parameterCount(config), bytes: fs.statSync(path.join(outDir, 'model.safetensors')).size };
}
