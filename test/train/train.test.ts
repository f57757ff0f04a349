// The training loop in-thread on the tiny base: loss goes down and the adapter beats the
// base on held-out loss; no tensor leaks per step; a seed reproduces the loss curve;
// the output is exact PEFT format with codetune.json; --full and accumulation train.
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadAdapter, parseAdapterConfig } from '../../server/adapters/peft';
import { loadModel } from '../../server/model/checkpoint';
import { parameterCount } from '../../server/model/config';
import { SafetensorsFile } from '../../server/model/safetensors';
import type { TrainDone, TrainProgress, TrainWorkerMessage } from '../../server/protocol';
import { runTraining } from '../../server/train/trainer';
import type { TrainOptions } from '../../server/train/options';
import { checkpointDir } from '../../server/train/state';
import { fixtureDir, tempDir } from '../helpers';
import { quick, smallRepo, tinyBase } from './fixtures';

interface Run {
  done: TrainDone;
  progress: TrainProgress[];
  tensors: number[];
}

async function run(opts: TrainOptions): Promise<Run> {
  const progress: TrainProgress[] = [];
  const tensors: number[] = [];
  const emit = (m: TrainWorkerMessage): void => {
    if (m.type === 'progress') {
      progress.push(m.progress);
    }
  };
  const done = await runTraining(opts, { emit, afterStep: () => tensors.push(tf.memory().numTensors) });
  return { done, progress, tensors };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('training on a small repo (tiny base, wasm)', () => {
  let repo: string;
  let first: Run;
  let out: string;
  before(async () => {
    repo = smallRepo();
    out = path.join(tempDir(), 'adapter');
    first = await run(quick(repo, out, { maxSteps: 14, seqLen: 96, lr: 1e-2 }) as TrainOptions);
  });

  it('the loss decreases and the adapter beats the base on held-out loss', () => {
    const losses = first.progress.map((p) => p.loss);
    assert.equal(losses.length, 14);
    assert.ok(mean(losses.slice(-3)) < mean(losses.slice(0, 3)) - 0.2, `losses ${losses.map((l) => l.toFixed(3)).join(' ')}`);
    const { base, adapter } = first.done.metrics;
    assert.ok(base && adapter && Number.isFinite(base.valLoss));
    assert.ok(adapter.valLoss < base.valLoss, `adapter ${adapter.valLoss} vs base ${base.valLoss}`);
    assert.ok(Math.abs(adapter.perplexity - Math.exp(adapter.valLoss)) < 1e-6 * adapter.perplexity);
    assert.ok(base.pairs > 0 && base.exactMatch >= 0 && base.editSimilarity >= 0 && base.editSimilarity <= 1);
  });

  it('reports progress with the protocol fields', () => {
    const p = first.progress[6];
    assert.equal(p.step, 7);
    assert.equal(p.totalSteps, 14);
    for (const k of ['epoch', 'loss', 'lr', 'tokensPerSec', 'etaSec', 'memoryBytes'] as const) {
      assert.ok(Number.isFinite(p[k]) && p[k] >= 0, `${k} = ${p[k]}`);
    }
    assert.ok(first.progress[3].valLoss !== undefined && first.progress[4].valLoss === undefined); // every 4 steps
  });

  it('frees every tensor of every step (numTensors stays flat)', () => {
    const after = first.tensors.slice(1);
    assert.ok(after.every((n) => n === after[0]), `numTensors per step: ${first.tensors.join(' ')}`);
  });

  it('the same seed reproduces the loss curve exactly; another seed does not', async () => {
    const again = await run(quick(repo, path.join(tempDir(), 'a2'), { maxSteps: 14, seqLen: 96, lr: 1e-2, evaluate: false }) as TrainOptions);
    assert.deepEqual(again.progress.map((p) => p.loss), first.progress.map((p) => p.loss));
    const other = await run(quick(repo, path.join(tempDir(), 'a3'), { maxSteps: 4, seqLen: 96, lr: 1e-2, seed: 1, evaluate: false }) as TrainOptions);
    assert.notDeepEqual(other.progress.map((p) => p.loss), first.progress.slice(0, 4).map((p) => p.loss));
  });

  it('writes an exact PEFT adapter (keys, shapes, config as in the PEFT fixture) with codetune.json, and no checkpoint', () => {
    assert.deepEqual(fs.readdirSync(out).sort(), ['adapter_config.json', 'adapter_model.safetensors', 'codetune.json']);
    assert.ok(!fs.existsSync(checkpointDir(out)));
    const ours = JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    const peft = JSON.parse(fs.readFileSync(path.join(fixtureDir('tiny-llama'), 'adapter', 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    for (const k of Object.keys(peft)) {
      assert.ok(k in ours, `adapter_config.json lacks ${k}`);
      if (k !== 'target_modules') {
        assert.equal(typeof ours[k], typeof peft[k], `type of ${k}`); // target_modules may be a list or "all-linear"
      }
    }
    assert.equal(ours.r, 16);
    assert.equal(ours.lora_alpha, 32);
    assert.equal(ours.target_modules, 'all-linear');
    parseAdapterConfig(ours, 'adapter_config.json');
    const keyPattern = (n: string): string => n.replace(/layers\.\d+/, 'layers.N');
    const st = SafetensorsFile.open(path.join(out, 'adapter_model.safetensors'));
    const ref = SafetensorsFile.open(path.join(fixtureDir('tiny-llama'), 'adapter', 'adapter_model.safetensors'));
    assert.deepEqual([...new Set(st.names.map(keyPattern))].sort(), [...new Set(ref.names.map(keyPattern))].sort());
    const model = loadModel(tinyBase());
    for (const n of st.names) {
      const shape = st.info(n).shape;
      const module = n.replace(/^base_model\.model\./, '').replace(/\.lora_[AB]\.weight$/, '');
      const [o, i] = model.linearShape(module)!;
      assert.deepEqual(shape, n.includes('lora_A') ? [16, i] : [o, 16], n);
      assert.equal(st.info(n).dtype, 'F32');
    }
    loadAdapter(out, model).dispose();
    model.dispose();
    const meta = JSON.parse(fs.readFileSync(path.join(out, 'codetune.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    assert.equal(meta.repo.path, fs.realpathSync(repo));
    assert.match(String(meta.repo.commit), /^[0-9a-f]{40}$/);
    assert.match(String(meta.baseModel.hash), /^sha256:[0-9a-f]{64}$/);
    assert.equal(meta.hyperparameters.rank, 16);
    assert.equal(meta.backend.backend, 'wasm');
    assert.equal(meta.trainableParameters as unknown as number, first.done.metrics.trainableParameters);
    assert.ok((meta.durationSec as unknown as number) > 0);
    assert.ok((meta.dataset.tokens as Record<string, number>).trainSequences > 0);
    assert.equal((meta.metrics.adapter as Record<string, number>).valLoss, first.done.metrics.adapter!.valLoss);
  });

  it('--full trains every weight (embeddings included) and writes a model folder', async () => {
    const dir = path.join(tempDir(), 'full');
    const r = await run(quick(repo, dir, { full: true, maxSteps: 6, seqLen: 96, lr: 3e-3, evaluate: false }) as TrainOptions);
    const model = loadModel(dir);
    assert.equal(r.done.metrics.trainableParameters, parameterCount(model.config));
    const base = loadModel(tinyBase());
    // tiny ties the embedding to the head: its gradient includes the lookup's (UnsortedSegmentSum on wasm)
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(model.baseWeight('lm_head.weight'), base.baseWeight('lm_head.weight')))).dataSync()[0]);
    assert.ok(diff > 0, 'embedding unchanged');
    assert.ok(r.progress.at(-1)!.loss < r.progress[0].loss);
    assert.ok(fs.existsSync(path.join(dir, 'tokenizer.json')) && fs.existsSync(path.join(dir, 'codetune.json')));
    model.dispose();
    base.dispose();
  });

  it('gradient accumulation: 2 micro-batches of 1 per step consume 2 sequences per step', async () => {
    const acc = await run(quick(repo, path.join(tempDir(), 'acc'), { batchSize: 1, gradAccum: 2, maxSteps: 3, epochs: 1, seqLen: 96, evaluate: false, evalEvery: 0 }) as TrainOptions);
    const plain = await run(quick(repo, path.join(tempDir(), 'acc1'), { batchSize: 1, gradAccum: 1, maxSteps: 1, epochs: 1, seqLen: 96, evaluate: false, evalEvery: 0 }) as TrainOptions);
    const n = Math.round(1 / plain.progress[0].epoch); // train sequences
    assert.equal(acc.progress[0].epoch, 2 / n);
    assert.equal(acc.progress[2].epoch, 6 / n);
    assert.ok(acc.progress.every((p) => Number.isFinite(p.loss)));
  });
});
