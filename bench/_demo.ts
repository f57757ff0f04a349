// The demo's training setup, shared by `npm run demo` and the quality half of
// `npm run bench -- train`, so the bench reports the demo's numbers measured again.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBase, PRESETS } from '../server/model/init';
import type { TrainOptions } from '../server/train/options';

export const ROOT = path.resolve(__dirname, '..');
export const DEMO_DIR = path.join(ROOT, '.cache', 'demo');

/** The tiny base (~0.6M parameters) under .cache/demo, created when missing. */
export function demoBase(): { dir: string; created: boolean } {
  const dir = path.join(DEMO_DIR, 'tiny-base');
  if (fs.existsSync(path.join(dir, 'model.safetensors'))) {
    return { dir, created: false };
  }
  initBase(dir, PRESETS.tiny, { seed: 1, force: true });
  return { dir, created: true };
}

/** A random tiny base learns fast only with a high learning rate; 2 cores allow ~2 minutes. */
export function demoTrainOptions(model: string, out: string): TrainOptions {
  return {
    repo: ROOT,
    model,
    out,
    rank: 16,
    alpha: 32,
    targets: 'all-linear',
    lr: 3e-3,
    warmupSteps: 10,
    seqLen: 128,
    batchSize: 4,
    epochs: 2,
    maxSteps: 400,
    maxSeconds: 180,
    evalEvery: 50,
    patience: 3,
    maxValSequences: 24,
    maxEvalPairs: 12,
    seed: 0,
    backend: 'auto',
  };
}
