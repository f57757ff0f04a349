// Training bench: LoRA r=8 on q/v, LoRA r=8 on all linear layers and full fine-tuning of
// bench-small (31.6M parameters), same backend, batch and sequence length, on this repo's
// data. Per setup: tokens/s, achieved GFLOP/s against the 1024² matmul rate measured in
// this run, peak tf.memory().numBytes of one step, trainable parameters and the saved
// adapter's size against the base's. Then the demo's training (tiny base, this repo) for
// held-out quality, base vs adapter. Writes bench/results/train.json.
// Usage: npm run bench -- train [--steps N] [--rounds N] [--batch N] [--seq N] [--no-quality]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../server/model/backend';
import { parameterCount, readModelConfig, type ModelConfig } from '../server/model/config';
import { initBase, PRESETS } from '../server/model/init';
import { BatchStream } from '../server/train/batches';
import { AdamW } from '../server/train/optimizer';
import { resolveOptions, type TrainOptions } from '../server/train/options';
import { prepare } from '../server/train/setup';
import { runTraining, trainStep } from '../server/train/trainer';
import { demoBase, demoTrainOptions, ROOT } from './_demo';
import { printTable, writeResults } from './_util';

interface Case {
  tokens_per_s: number;
  gflops: number;
  ratio_to_matmul: number;
  peak_bytes: number;
  trainable_params: number;
  adapter_bytes: number;
  step_s: number;
}

function matmulGflops(n: number): number {
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  let best = Infinity;
  for (let i = 0; i < 9; i++) {
    const t0 = performance.now();
    tf.tidy(() => {
      tf.matMul(a, b).dataSync(); // returning the array from tidy would make tidy walk its 1M entries
    });
    best = i === 0 ? best : Math.min(best, performance.now() - t0);
  }
  tf.dispose([a, b]);
  return (2 * n ** 3) / (best / 1000) / 1e9;
}

/**
 * Model FLOPs per trained token. Forward: 2·(linear + head parameters) + attention
 * (QKᵀ and PV over the full T×T as computed). Full fine-tuning's backward is twice the
 * forward (input and weight gradients); LoRA's needs only the input gradients (one
 * forward's worth) plus its own small weight gradients.
 */
function flopsPerToken(c: ModelConfig, T: number, kind: 'lora' | 'full', loraParams: number): number {
  const linear = parameterCount(c) - c.vocabSize * c.hiddenSize * (c.tieWordEmbeddings ? 0 : 1); // every matrix but the input embedding (the head stays)
  const forward = 2 * linear + 4 * c.numLayers * c.numHeads * c.headDim * T;
  return kind === 'full' ? 3 * forward : 2 * forward + 6 * loraParams;
}

function dirBytes(dir: string, file: string): number {
  return fs.statSync(path.join(dir, file)).size;
}

interface Measured {
  times: number[];
  flops: number;
  tokens: number;
  peak: number;
  params: number;
  adapterBytes: number;
}

async function measure(opts: TrainOptions, steps: number): Promise<Measured> {
  const r = resolveOptions(opts);
  const p = await prepare(r, () => undefined);
  const { trainables: tr, model } = p;
  const opt = new AdamW(tr.vars, { beta1: r.beta1, beta2: r.beta2, eps: r.eps, weightDecay: r.weightDecay });
  const stream = new BatchStream(p.dataset.train, r.batchSize, r.seed);
  try {
    trainStep(p, opt, stream, 1, r.lr, 1, r.maxGradNorm, r.seed); // warm-up (kernel set-up, first allocations)
    const times: number[] = [];
    for (let s = 0; s < steps; s++) {
      const t0 = performance.now();
      trainStep(p, opt, stream, s + 2, r.lr, 1, r.maxGradNorm, r.seed);
      times.push((performance.now() - t0) / 1000);
    }
    const prof = await tf.profile(() => {
      trainStep(p, opt, stream, steps + 2, r.lr, 1, r.maxGradNorm, r.seed);
    });
    tr.save(r.out, {});
    const adapterBytes = dirBytes(r.out, tr.kind === 'lora' ? 'adapter_model.safetensors' : 'model.safetensors');
    const flops = flopsPerToken(model.config, r.seqLen, tr.kind, tr.kind === 'lora' ? tr.parameterCount : 0) * r.batchSize * r.seqLen;
    return { times, flops, tokens: r.batchSize * r.seqLen, peak: prof.peakBytes, params: tr.parameterCount, adapterBytes };
  } finally {
    opt.dispose();
    tr.dispose();
    model.dispose();
  }
}

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

export default async function run(args: string[]): Promise<void> {
  const steps = flag(args, '--steps', 2);
  const rounds = flag(args, '--rounds', 2);
  const batchSize = flag(args, '--batch', 2);
  const seqLen = flag(args, '--seq', 128);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'codetune-bench-train-'));
  const baseDir = path.join(os.tmpdir(), 'codetune-bench', 'bench-small');
  if (!fs.existsSync(path.join(baseDir, 'model.safetensors'))) {
    initBase(baseDir, PRESETS['bench-small'], { seed: 0, force: true });
  }
  const common = { repo: ROOT, model: baseDir, batchSize, seqLen, seed: 0, lr: 2e-4, dropout: 0.05, backend: 'auto' as const };
  const setups: Array<[string, TrainOptions]> = [
    ['lora_qv', { ...common, out: path.join(work, 'lora_qv'), rank: 8, alpha: 16, targets: ['q_proj', 'v_proj'] }],
    ['lora_all_linear', { ...common, out: path.join(work, 'lora_all'), rank: 8, alpha: 16, targets: 'all-linear' }],
    ['full', { ...common, out: path.join(work, 'full'), full: true }],
  ];
  const backend = await initBackend('auto');
  // The CPU is shared: take the best matmul rate seen before, between and after the cases,
  // so the ratios are conservative.
  // The CPU is shared with other jobs: each setup is measured in several rounds, taking the
  // fastest step, and the matmul rate is the best seen before and between rounds, so
  // the ratios are conservative.
  let matmul = matmulGflops(1024);
  const runs: Record<string, Measured[]> = {};
  for (let round = 0; round < rounds; round++) {
    for (const [name, opts] of setups) {
      process.stderr.write(`round ${round + 1}/${rounds}: ${name}…\n`);
      (runs[name] ??= []).push(await measure(opts, steps));
      matmul = Math.max(matmul, matmulGflops(1024));
    }
  }
  const cases: Record<string, Case> = {};
  for (const [name, ms] of Object.entries(runs)) {
    const stepS = Math.min(...ms.flatMap((m) => m.times));
    const m = ms[0];
    const gflops = m.flops / stepS / 1e9;
    cases[name] = { tokens_per_s: m.tokens / stepS, gflops, ratio_to_matmul: gflops / matmul, peak_bytes: Math.max(...ms.map((x) => x.peak)), trainable_params: m.params, adapter_bytes: m.adapterBytes, step_s: stepS };
  }
  const baseBytes = dirBytes(baseDir, 'model.safetensors');

  let quality: Record<string, number> | null = null;
  if (!args.includes('--no-quality')) {
    process.stderr.write('training the demo adapter (tiny base on this repo) for held-out quality…\n');
    const base = demoBase().dir;
    const done = await runTraining(demoTrainOptions(base, path.join(work, 'demo-adapter')), { emit: () => undefined });
    const b = done.metrics.base!;
    const a = done.metrics.adapter!;
    quality = { base_val_loss: b.valLoss, adapter_val_loss: a.valLoss, base_exact_match: b.exactMatch, adapter_exact_match: a.exactMatch, base_edit_similarity: b.editSimilarity, adapter_edit_similarity: a.editSimilarity, pairs: a.pairs, steps: done.metrics.steps as number };
  }

  const full = cases.full;
  const qv = cases.lora_qv;
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  const rows = Object.entries(cases).map(([name, c]) => ({
    setup: name,
    'tok/s': c.tokens_per_s,
    'GFLOP/s': c.gflops,
    'of matmul': pct(c.ratio_to_matmul),
    'peak MB': c.peak_bytes / 1e6,
    trainable: c.trainable_params,
    'file/base': pct(c.adapter_bytes / baseBytes),
  }));
  printTable(`train bench (backend ${backend.backend}, bench-small ${(parameterCount(readModelConfig(baseDir)) / 1e6).toFixed(1)}M params, batch ${batchSize} × ${seqLen} tokens, best of ${rounds}×${steps} timed steps; matmul 1024² ${matmul.toFixed(2)} GFLOP/s)`, rows);
  const targets = {
    lora_qv_tokens_ge_1_3x_full: { value: qv.tokens_per_s / full.tokens_per_s, target: 1.3, met: qv.tokens_per_s / full.tokens_per_s >= 1.3 },
    lora_peak_le_50pct_full: { value: Math.max(qv.peak_bytes, cases.lora_all_linear.peak_bytes) / full.peak_bytes, target: 0.5, met: Math.max(qv.peak_bytes, cases.lora_all_linear.peak_bytes) / full.peak_bytes <= 0.5 },
    ge_40pct_matmul: { value: Math.min(...Object.values(cases).map((c) => c.ratio_to_matmul)), target: 0.4, met: Object.values(cases).every((c) => c.ratio_to_matmul >= 0.4) },
    adapter_le_1pct_base: { value: Math.max(qv.adapter_bytes, cases.lora_all_linear.adapter_bytes) / baseBytes, target: 0.01, met: Math.max(qv.adapter_bytes, cases.lora_all_linear.adapter_bytes) / baseBytes <= 0.01 },
    adapter_beats_base_val_loss: quality ? { value: quality.adapter_val_loss, target: quality.base_val_loss, met: quality.adapter_val_loss < quality.base_val_loss } : null,
  };
  printTable('targets', Object.entries(targets).filter(([, t]) => t).map(([name, t]) => ({ target: name, value: t!.value, bound: t!.target, met: t!.met ? 'yes' : 'NO' })));
  if (quality) {
    printTable('held-out quality on this repo (demo setup: tiny base, LoRA r=16 all-linear)', [
      { model: 'base', 'val loss': quality.base_val_loss, 'exact match': quality.base_exact_match, 'edit sim': quality.base_edit_similarity },
      { model: 'adapter', 'val loss': quality.adapter_val_loss, 'exact match': quality.adapter_exact_match, 'edit sim': quality.adapter_edit_similarity },
    ]);
  }
  writeResults('train', { backend: backend.backend, matmul_gflops: matmul, base_bytes: baseBytes, batch_size: batchSize, seq_len: seqLen, timed_steps: steps, rounds, cases: { ...cases, quality }, targets, machine: { cpus: os.cpus().length, note: 'shared CPU: timings are noisy' } });
  fs.rmSync(work, { recursive: true, force: true });
}
