// Engine benchmark on bench-small (llama, 31.6M parameters) with the backend `auto` picks:
// matmul rate, prefill throughput against it, decode latency by context length, and
// decode with one merged / unmerged adapter against the base. Writes bench/results/engine.json.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../server/model/backend';
import { loadModel } from '../server/model/checkpoint';
import { parameterCount } from '../server/model/config';
import { step } from '../server/model/generate';
import { PRESETS, initBase } from '../server/model/init';
import { KVCache } from '../server/model/kvcache';
import type { CausalLM } from '../server/model/llama';
import { LoraAdapter, loraConfig, loraTerms } from '../server/model/lora';
import { disposeWeights, mergeAdapters } from '../server/model/merge';
import { printTable, writeResults } from './_util';

function timeBest(fn: () => void, reps: number): number {
  fn(); // warm-up
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best / 1000;
}

function matmulGflops(n: number): number {
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  // Read the result outside tf.tidy: returning a 1M-entry array from tidy makes it walk
  // every element looking for tensors, which costs more than the product itself.
  const s = timeBest(() => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  }, 8);
  a.dispose();
  b.dispose();
  return (2 * n ** 3) / s / 1e9;
}

function ids(n: number, vocab: number): number[] {
  return Array.from({ length: n }, (_, i) => (i * 7919 + 13) % (vocab - 16));
}

/** Model FLOPs of a prefill of T tokens (last-position logits): 2·params_linear·T + attention (full T×T, as computed) + lm_head once. */
function prefillFlops(m: CausalLM, T: number): number {
  const c = m.config;
  const linear = parameterCount(c) - c.vocabSize * c.hiddenSize * (c.tieWordEmbeddings ? 1 : 2);
  const attn = 4 * c.numLayers * c.numHeads * c.headDim * T * T;
  return 2 * linear * T + attn + 2 * c.hiddenSize * c.vocabSize;
}

/** Mean ms per decoded token after a prompt of `ctx` tokens. */
function decodeMs(m: CausalLM, ctx: number, steps = 24): number {
  const cache = new KVCache(m.config.numLayers);
  const prompt = ids(ctx, m.config.vocabSize);
  step(m, prompt, cache);
  step(m, [5], cache); // warm-up at this length
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    step(m, [(i * 31) % 1000], cache);
  }
  const ms = (performance.now() - t0) / steps;
  cache.dispose();
  return ms;
}

export default async function run(args: string[]): Promise<void> {
  const backend = await initBackend((args[0] as 'auto') ?? 'auto');
  const dir = path.join(os.tmpdir(), 'codetune-bench', 'bench-small');
  if (!fs.existsSync(path.join(dir, 'model.safetensors'))) {
    initBase(dir, PRESETS['bench-small'], { seed: 0, force: true });
  }
  const model = loadModel(dir);
  const matmul = matmulGflops(1024);

  const T = 512;
  const prompt = ids(T, model.config.vocabSize);
  const prefillS = timeBest(() => {
    const cache = new KVCache(model.config.numLayers);
    step(model, prompt, cache);
    cache.dispose();
  }, 3);
  const prefillGflops = prefillFlops(model, T) / prefillS / 1e9;

  const d16 = decodeMs(model, 16);
  const d256 = decodeMs(model, 256);
  const d1024 = decodeMs(model, 1024);

  const adapter = LoraAdapter.create(model, loraConfig({ r: 16, alpha: 32, targetModules: 'all-linear' }), 1);
  for (const m of adapter.modules()) {
    (adapter.B.get(m) as tf.Variable).assign(tf.randomNormal(adapter.B.get(m)!.shape, 0, 0.01, 'float32', 2));
  }
  const base = decodeMs(model, 256);
  const merged = mergeAdapters(model, [{ adapter, weight: 1 }]);
  model.setMergedWeights(merged);
  const mergedMs = decodeMs(model, 256);
  model.setMergedWeights(new Map());
  model.setLoraTerms(loraTerms([{ adapter, weight: 1 }]));
  const unmergedMs = decodeMs(model, 256);
  model.setLoraTerms(new Map());
  disposeWeights(merged);

  const result = {
    backend: backend.backend,
    backend_skipped: backend.skipped,
    model: { preset: 'bench-small', parameters: parameterCount(model.config) },
    matmul_gflops: matmul,
    cases: {
      prefill: { tokens: T, tokens_per_s: T / prefillS, gflops: prefillGflops, ratio_to_matmul: prefillGflops / matmul },
      decode_ctx16: { ms_per_token: d16 },
      decode_ctx256: { ms_per_token: d256 },
      decode_ctx1024: { ms_per_token: d1024, ratio_to_ctx16: d1024 / d16 },
      decode_base: { ms_per_token: base },
      decode_merged: { ms_per_token: mergedMs, ratio_to_base: mergedMs / base },
      decode_unmerged: { ms_per_token: unmergedMs, ratio_to_base: unmergedMs / base },
    },
    targets: {
      prefill_ge_50pct_matmul: prefillGflops / matmul >= 0.5,
      decode1024_le_2x_decode16: d1024 / d16 <= 2,
      merged_le_1_05x_base: mergedMs / base <= 1.05,
    },
  };
  printTable(`engine bench (backend ${backend.backend}, bench-small ${(result.model.parameters / 1e6).toFixed(1)}M params)`, [
    { case: 'matmul 1024²', value: matmul, unit: 'GFLOP/s', target: '' },
    { case: `prefill ${T} tok`, value: T / prefillS, unit: 'tok/s', target: '' },
    { case: 'prefill rate', value: prefillGflops, unit: 'GFLOP/s', target: `${(100 * prefillGflops / matmul).toFixed(0)}% of matmul (≥50%)` },
    { case: 'decode ctx 16', value: d16, unit: 'ms/tok', target: '' },
    { case: 'decode ctx 256', value: d256, unit: 'ms/tok', target: '' },
    { case: 'decode ctx 1024', value: d1024, unit: 'ms/tok', target: `${(d1024 / d16).toFixed(2)}× ctx16 (≤2×)` },
    { case: 'decode base @256', value: base, unit: 'ms/tok', target: '' },
    { case: 'decode merged @256', value: mergedMs, unit: 'ms/tok', target: `${(mergedMs / base).toFixed(3)}× base (≤1.05)` },
    { case: 'decode unmerged @256', value: unmergedMs, unit: 'ms/tok', target: `${(unmergedMs / base).toFixed(3)}× base` },
  ]);
  writeResults('engine', result);
  adapter.dispose();
  model.dispose();
}
