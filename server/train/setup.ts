// Everything a run needs before its first step: the backend, the dataset (built with the
// model's own tokenizer and checked against the model), the model, and the trainable
// tensors: a fresh LoRA adapter, or with --full every base weight as a variable.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { saveAdapter } from '../adapters/peft';
import { CodetuneError, fromFsError } from '../errors';
import { buildDataset, cacheSaved, cacheSaveWarning, type Dataset } from '../data/index';
import { initBackend } from '../model/backend';
import { loadModel } from '../model/checkpoint';
import { readModelConfig, type ModelConfig } from '../model/config';
import type { CausalLM } from '../model/llama';
import { LoraAdapter, loraConfig, loraTerms } from '../model/lora';
import { writeSafetensors, type TensorToWrite } from '../model/safetensors';
import { CodeTokenizer } from '../model/tokenizer';
import type { BackendReport } from '../protocol';
import { writeDirAtomic, writeFileAtomic } from '../util/atomic';
import { registerTrainingKernels } from './kernels';
import type { ResolvedOptions } from './options';

/** The tensors a run trains, in a fixed order, and how to write them out. */
export interface Trainables {
  kind: 'lora' | 'full';
  vars: tf.Variable[];
  /** Stable names (PEFT keys for LoRA, Hugging Face names for --full), same order. */
  names: string[];
  parameterCount: number;
  adapter: LoraAdapter | null;
  /** Switch the model between the base (false) and base + trained tensors (true), for evaluation. */
  useTrained(on: boolean, training?: boolean): void;
  /** Write the trained tensors as the run's product (PEFT folder, or a model folder with --full). */
  save(dir: string, extraFiles: Record<string, string>): void;
  dispose(): void;
}

export interface Prepared {
  backend: BackendReport;
  tok: CodeTokenizer;
  config: ModelConfig;
  dataset: Dataset;
  fingerprint: string;
  model: CausalLM;
  trainables: Trainables;
}

/** Fail before any training when the output folder cannot be written (and touch nothing there). */
export function checkWritable(out: string): void {
  const parent = path.dirname(path.resolve(out));
  const probe = path.join(parent, `.codetune-probe-${process.pid}`);
  try {
    fs.mkdirSync(parent, { recursive: true });
    fs.writeFileSync(probe, '');
    fs.rmSync(probe, { force: true });
  } catch (e) {
    const fe = fromFsError(e, parent);
    throw new CodetuneError(fe.code, `cannot write the adapter next to ${out}: ${fe.message}; choose a writable --out`, { file: parent });
  }
}

export async function loadDataset(r: ResolvedOptions, tok: CodeTokenizer, config: ModelConfig): Promise<{ dataset: Dataset; fingerprint: string }> {
  if (tok.vocabSize > config.vocabSize) {
    throw new CodetuneError('TOKENIZER_MISMATCH', `${r.model}: tokenizer.json has ${tok.vocabSize} ids but the model's vocab_size is ${config.vocabSize}; the tokenizer belongs to another model`, { file: path.join(r.model, 'tokenizer.json') });
  }
  // One extra token per row: inputs are ids[0..T-1], targets ids[1..T].
  const dataset = await buildDataset({ repo: r.repo, tokenizer: tok, seqLen: r.seqLen + 1, seed: r.seed, valFraction: r.valFraction, include: r.include, exclude: r.exclude, cacheDir: r.cacheDir, cacheWrite: 'background' });
  if (dataset.train.length === 0) {
    throw new CodetuneError('EMPTY_DATASET', `${r.repo}: the dataset has no training examples (${dataset.stats.files.kept} of ${dataset.stats.files.seen} files kept); add source files to the repo or loosen --include/--exclude`, { file: r.repo });
  }
  const h = crypto.createHash('sha1');
  for (const split of [dataset.train, dataset.val]) {
    h.update(`${split.length};`);
    for (const s of split) {
      for (let i = 0; i < s.ids.length; i++) {
        if (s.ids[i] < 0 || s.ids[i] >= config.vocabSize) {
          throw new CodetuneError('TOKENIZER_MISMATCH', `the dataset holds token id ${s.ids[i]}, outside the model's vocabulary of ${config.vocabSize}; the tokenizer does not match the model`);
        }
      }
      h.update(s.ids);
      h.update(s.lossMask);
    }
  }
  return { dataset, fingerprint: h.digest('hex') };
}

function loraTrainables(model: CausalLM, r: ResolvedOptions, baseModel: string): Trainables {
  const cfg = loraConfig({ r: r.rank, alpha: r.alpha, dropout: r.dropout, targetModules: r.targets });
  const adapter = LoraAdapter.create(model, cfg, r.seed);
  const names: string[] = [];
  for (const m of adapter.modules()) {
    names.push(`base_model.model.${m}.lora_A.weight`, `base_model.model.${m}.lora_B.weight`);
  }
  const t: Trainables = {
    kind: 'lora',
    vars: adapter.variables(),
    names,
    parameterCount: adapter.parameterCount(),
    adapter,
    useTrained: (on, training = false) => model.setLoraTerms(on ? loraTerms([{ adapter, weight: 1 }], training) : new Map()),
    save: (dir, extra) => saveAdapter(adapter, dir, baseModel, extra),
    dispose: () => adapter.dispose(),
  };
  t.useTrained(true, true);
  return t;
}

const MODEL_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

/** A weight in the model's kernel layout → its Hugging Face name and tensor (transposed back where needed). */
function toHuggingFace(name: string, v: tf.Tensor, tied: boolean): [string, tf.Tensor] {
  if (name === 'lm_head.weight') {
    return [tied ? 'model.embed_tokens.weight' : name, tf.transpose(v)]; // [H, V] → [V, H]
  }
  return /_proj\.weight$/.test(name) ? [name, tf.transpose(v)] : [name, v.clone()]; // [in, out] → [out, in]
}

function fullTrainables(model: CausalLM, baseDir: string): Trainables {
  const vars = model.makeBaseTrainable();
  const names = [...model.baseWeights().keys()].sort();
  return {
    kind: 'full',
    vars,
    names,
    parameterCount: vars.reduce((s, v) => s + v.size, 0),
    adapter: null,
    useTrained: () => undefined,
    save(dir, extra) {
      writeDirAtomic(dir, (staged) => {
        const tensors: Record<string, TensorToWrite> = {};
        vars.forEach((v, i) => {
          const [name, t] = toHuggingFace(names[i], v, model.config.tieWordEmbeddings);
          tensors[name] = { dtype: 'F32', shape: t.shape, data: t.dataSync() as Float32Array };
          t.dispose();
        });
        writeSafetensors(path.join(staged, 'model.safetensors'), tensors, { format: 'pt' });
        for (const f of MODEL_FILES.filter((x) => fs.existsSync(path.join(baseDir, x)))) {
          writeFileAtomic(path.join(staged, f), fs.readFileSync(path.join(baseDir, f)));
        }
        for (const [name, text] of Object.entries(extra)) {
          writeFileAtomic(path.join(staged, name), text);
        }
      });
    },
    dispose: () => undefined, // the variables are the model's weights: disposed with it
  };
}

/** Backend, tokenizer, dataset, model and trainables for one run. */
export async function prepare(r: ResolvedOptions, log: (m: string) => void): Promise<Prepared> {
  const backend = await initBackend(r.backend);
  registerTrainingKernels();
  log(`backend ${backend.backend} (${backend.provider})`);
  checkWritable(r.out);
  const config = readModelConfig(r.model);
  const tok = CodeTokenizer.fromDir(r.model);
  const { dataset, fingerprint } = await loadDataset(r, tok, config);
  const t = dataset.stats.tokens;
  log(`dataset: ${dataset.stats.files.kept} files, ${dataset.stats.examples.total} examples; ${t?.trainSequences ?? 0} train + ${t?.valSequences ?? 0} val sequences of ${r.seqLen} tokens; ${dataset.valPairs.length} held-out NL→code pairs; ${dataset.stats.cache.misses} files processed, ${dataset.stats.cache.hits} from the ${dataset.stats.cache.fromMemory ? 'in-memory' : 'on-disk'} cache (${dataset.stats.timings.total} ms)`);
  // The cache's shards are written while the model loads (see DatasetOptions.cacheWrite).
  void cacheSaved(dataset).then((e) => {
    const warning = cacheSaveWarning(e);
    if (warning) {
      log(warning);
    }
  });
  const model = loadModel(r.model);
  const trainables = r.full ? fullTrainables(model, r.model) : loraTrainables(model, r, path.resolve(r.model));
  log(`${trainables.kind === 'lora' ? `LoRA r=${r.rank} alpha=${r.alpha} on ${trainables.adapter!.modules().length} modules` : 'full fine-tuning'}: ${trainables.parameterCount} trainable parameters`);
  return { backend, tok, config, dataset, fingerprint, model, trainables };
}
